-- check: unanswered
-- rule: No citizen is left without an answer. Inbound messages from the policy window that
--       are older than the threshold and have no reply from the account, per account: how
--       many, the age of the oldest, and links to them (oldest first).
-- parameters: policy.yaml unanswered.warn_hours (default 48), unanswered.critical_hours
--       (default 168), unanswered.questions_only (default false), window_days (default 30).
-- severity: warning when the oldest waits past warn_hours; critical past critical_hours (the
--       message names the limit that fired).
-- unit: hours
-- action: Reply to each linked message (or hide it if it breaks the house rules), then keep
--       the inbox at zero.
WITH waiting AS (
    SELECT f.account_id, f.message_id, f.url, f.created_at,
           (epoch($now) - epoch(f.created_at)) / 3600.0 AS age_hours
    FROM first_replies f JOIN judged j USING (account_id)
    WHERE f.first_reply_at IS NULL AND f.created_at >= $window_start
      AND (NOT j.questions_only OR f.is_question)
      AND (epoch($now) - epoch(f.created_at)) / 3600.0 > j.unanswered_warn_hours
)
SELECT w.account_id,
       CASE WHEN max(w.age_hours) > j.unanswered_critical_hours THEN 'critical' ELSE 'warning' END AS severity,
       round(max(w.age_hours), 1) AS value,
       CASE WHEN max(w.age_hours) > j.unanswered_critical_hours THEN j.unanswered_critical_hours
            ELSE j.unanswered_warn_hours END AS threshold,
       CASE WHEN max(w.age_hours) > j.unanswered_critical_hours
            THEN printf('%d message(s) unanswered for more than %g h, %d of them past the critical limit of %g h; the oldest has waited %.1f days.',
                        count(*), j.unanswered_warn_hours::DOUBLE, count(*) FILTER (w.age_hours > j.unanswered_critical_hours),
                        j.unanswered_critical_hours::DOUBLE, max(w.age_hours) / 24)
            ELSE printf('%d message(s) unanswered for more than %g h (critical after %g h); the oldest has waited %.1f days.',
                        count(*), j.unanswered_warn_hours::DOUBLE, j.unanswered_critical_hours::DOUBLE, max(w.age_hours) / 24)
       END AS message,
       json_object('count', count(*), 'oldest_at', min(w.created_at),
                   'links', list(coalesce(w.url, w.message_id) ORDER BY w.created_at)[1:10]) AS details
FROM waiting w JOIN judged j USING (account_id)
GROUP BY w.account_id, j.unanswered_critical_hours, j.unanswered_warn_hours
