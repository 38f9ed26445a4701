-- check: unreachable
-- rule: Custodian can no longer reach the account: the platform says it is gone (404/410),
--       suspended or deactivated, its profile says it moved, or collecting it failed on
--       `unreachable.failed_runs` consecutive runs. One finding names the signal and since
--       when; it inhibits the account's staleness, response-time and unanswered alerts
--       (one root cause, one message). It resolves when a collection succeeds again. Runs
--       where the account was skipped, deferred or refused credentials say nothing either way.
-- parameters: policy.yaml unreachable.failed_runs (default 3).
-- severity: critical.
-- unit: runs
-- judges: attempted
-- notify_first: custodians agency
-- action: Check the account on its platform. If it was renamed or moved, update its handle or
--       api_base in the registry; if it was deleted or suspended, contact the platform or mark
--       it paused in the registry with the reason.
WITH history AS (
    SELECT ar.account_id, ar.run_id, ar.status, ar.finished_at
    FROM account_runs ar JOIN judged j USING (account_id)
    WHERE ar.status IN ('ok', 'quarantined', 'gone', 'suspended', 'failed')
), last_ok AS (
    SELECT account_id, max(finished_at) AS ok_at FROM history WHERE status IN ('ok', 'quarantined') GROUP BY account_id
), streak AS (
    SELECT h.account_id, count(*) AS runs, min(h.finished_at) AS since, any_value(o.ok_at) AS ok_at,
           arg_max(h.status, h.finished_at) AS latest_status, arg_max(h.run_id, h.finished_at) AS latest_run
    FROM history h LEFT JOIN last_ok o USING (account_id)
    WHERE o.ok_at IS NULL OR h.finished_at > o.ok_at
    GROUP BY h.account_id
), moved AS (
    SELECT p.account_id, p.moved_to, p.suspended, p.fetched_at
    FROM profile_snapshots p JOIN judged j USING (account_id)
    WHERE p.run_id = (SELECT max(run_id) FROM judging) AND (p.moved_to IS NOT NULL OR p.suspended)
), signal AS (
    SELECT s.account_id, s.runs, s.since, s.ok_at, s.latest_status AS status,
           (SELECT arg_max(e.http_status, e.kind IN ('gone', 'suspended')) FROM fetch_errors e
             WHERE e.account_id = s.account_id AND e.run_id = s.latest_run) AS http_status,
           (SELECT arg_max(e.message, e.kind IN ('gone', 'suspended')) FROM fetch_errors e
             WHERE e.account_id = s.account_id AND e.run_id = s.latest_run) AS said
    FROM streak s JOIN judged j USING (account_id)
    WHERE s.latest_status IN ('gone', 'suspended') OR s.runs >= j.unreachable_failed_runs
    UNION ALL
    SELECT m.account_id, 1, m.fetched_at, NULL,
           CASE WHEN m.moved_to IS NOT NULL THEN 'moved' ELSE 'suspended' END, NULL,
           CASE WHEN m.moved_to IS NOT NULL THEN 'the profile says it moved to ' || m.moved_to
                ELSE 'the profile is marked suspended' END
    FROM moved m WHERE m.account_id NOT IN (SELECT account_id FROM streak)
)
SELECT g.account_id, 'critical' AS severity, g.runs::DOUBLE AS value, j.unreachable_failed_runs AS threshold,
       printf('Unreachable since %s UTC: %s%s — %s. %s',
              strftime(g.since, '%Y-%m-%d %H:%M'),
              CASE g.status WHEN 'gone' THEN 'the platform says the account is gone'
                            WHEN 'suspended' THEN 'the platform says the account is suspended or deactivated'
                            WHEN 'moved' THEN 'the account moved'
                            ELSE printf('collecting it failed on %d consecutive runs', g.runs) END,
              CASE WHEN g.http_status IS NULL THEN '' ELSE printf(' (HTTP %d)', g.http_status) END,
              coalesce(left(g.said, 200), 'no detail'),
              CASE WHEN g.ok_at IS NULL THEN 'Never collected successfully.'
                   ELSE 'Last collected successfully ' || strftime(g.ok_at, '%Y-%m-%d %H:%M') || ' UTC.' END) AS message,
       json_object('signal', g.status, 'since', g.since, 'http_status', g.http_status, 'failed_runs', g.runs,
                   'last_ok_at', g.ok_at) AS details
FROM signal g JOIN judged j USING (account_id)
