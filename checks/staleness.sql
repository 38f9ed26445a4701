-- check: staleness
-- rule: An official account must post regularly. Days since its latest own post (replies to
--       others do not count) exceed the threshold for its engagement level and platform.
-- parameters: policy.yaml staleness.levels.<level>.warn_days / critical_days (defaults
--       passive 30/60, active 7/14, engaged 3/7), overridden per platform
--       (staleness.platforms.<platform>.<level>) and per account (staleness.accounts.<id>);
--       staleness.clock (default calendar; working: working days of the account's calendar).
-- severity: warning past warn_days; critical past critical_days or when no own post is found.
-- unit: days
-- action: Publish an update on the account. If it is deliberately dormant, ask the oversight
--       team to mark it paused in the registry, with the reason.
SELECT j.account_id,
       CASE WHEN lp.latest_post_at IS NULL OR days >= j.stale_critical_days THEN 'critical' ELSE 'warning' END AS severity,
       round(days, 1) AS value,
       CASE WHEN lp.latest_post_at IS NULL OR days >= j.stale_critical_days THEN j.stale_critical_days
            ELSE j.stale_warn_days END AS threshold,
       CASE WHEN lp.latest_post_at IS NULL
            THEN 'No own post found in the account''s history that Custodian can see.'
            ELSE printf('No own post for %.1f %sdays (warning after %g, critical after %g days).',
                        days, CASE WHEN j.staleness_clock = 'working' THEN 'working ' ELSE '' END,
                        j.stale_warn_days::DOUBLE, j.stale_critical_days::DOUBLE) END AS message,
       json_object('latest_post_at', lp.latest_post_at, 'latest_post_url', lp.latest_post_url) AS details
FROM judged j
LEFT JOIN (
    SELECT account_id, max(created_at) AS latest_post_at, arg_max(url, created_at) AS latest_post_url
    FROM posts WHERE NOT is_reply GROUP BY account_id
) lp USING (account_id)
CROSS JOIN LATERAL (SELECT CASE WHEN j.staleness_clock = 'working' THEN working_days(lp.latest_post_at, $now, j.account_id)
                               ELSE (epoch($now) - epoch(lp.latest_post_at)) / 86400.0 END AS days)
WHERE lp.latest_post_at IS NULL OR days > j.stale_warn_days
