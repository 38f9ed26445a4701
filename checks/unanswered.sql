-- check: unanswered
-- rule: No citizen is left without an answer. Messages from the policy window that started a
--       response clock (see the view response_clocks: follow-ups join an open clock) and still
--       have no reply from the account, older than the threshold, per account: how many, the
--       age of the oldest in both clocks, and links to them (oldest first). The thresholds count
--       working hours of the account's calendar or calendar hours (unanswered.clock). Reads
--       run_clocks: the runner evaluates the view response_clocks once per run.
-- parameters: policy.yaml unanswered.warn_hours (default 48), unanswered.critical_hours
--       (default 168), unanswered.clock (default working), unanswered.needs_answer_only (default
--       true: only messages that need an answer), calendar (per agency / account), window_days (default 30).
-- severity: warning when the oldest waits past warn_hours; critical past critical_hours (the
--       message names the limit that fired).
-- unit: hours
-- action: Reply to each linked message (or hide it if it breaks the house rules), then keep
--       the inbox at zero.
WITH clocked AS (
    SELECT c.account_id, c.message_id, c.url, c.created_at,
           (epoch($now) - epoch(c.created_at)) / 3600.0 AS calendar_hours,
           working_hours(c.created_at, $now, c.account_id) AS working_hours, j.unanswered_clock
    FROM run_clocks c JOIN judged j USING (account_id)
    WHERE c.first_reply_at IS NULL AND c.created_at >= $window_start
      AND (NOT j.questions_only OR c.needs_answer)
), waiting AS (
    SELECT c.*, CASE WHEN c.unanswered_clock = 'calendar' THEN c.calendar_hours ELSE c.working_hours END AS age_hours
    FROM clocked c JOIN judged j USING (account_id)
    WHERE CASE WHEN c.unanswered_clock = 'calendar' THEN c.calendar_hours ELSE c.working_hours END > j.unanswered_warn_hours
)
SELECT w.account_id,
       CASE WHEN max(w.age_hours) > j.unanswered_critical_hours THEN 'critical' ELSE 'warning' END AS severity,
       round(max(w.age_hours), 1) AS value,
       CASE WHEN max(w.age_hours) > j.unanswered_critical_hours THEN j.unanswered_critical_hours
            ELSE j.unanswered_warn_hours END AS threshold,
       CASE WHEN max(w.age_hours) > j.unanswered_critical_hours
            THEN printf('%d message(s) unanswered for more than %g %s hours, %d of them past the critical limit of %g h; the oldest has waited %.1f days, %.1f working hours.',
                        count(*), j.unanswered_warn_hours::DOUBLE, coalesce(any_value(w.unanswered_clock), 'working'),
                        count(*) FILTER (w.age_hours > j.unanswered_critical_hours),
                        j.unanswered_critical_hours::DOUBLE, max(w.calendar_hours) / 24, max(w.working_hours))
            ELSE printf('%d message(s) unanswered for more than %g %s hours (critical after %g h); the oldest has waited %.1f days, %.1f working hours.',
                        count(*), j.unanswered_warn_hours::DOUBLE, coalesce(any_value(w.unanswered_clock), 'working'),
                        j.unanswered_critical_hours::DOUBLE, max(w.calendar_hours) / 24, max(w.working_hours))
       END AS message,
       json_object('count', count(*), 'oldest_at', min(w.created_at), 'clock', coalesce(any_value(w.unanswered_clock), 'working'),
                   'oldest_calendar_hours', round(max(w.calendar_hours), 2), 'oldest_working_hours', round(max(w.working_hours), 2),
                   'links', list(coalesce(w.url, w.message_id) ORDER BY w.created_at)[1:10]) AS details
FROM waiting w JOIN judged j USING (account_id)
GROUP BY w.account_id, j.unanswered_critical_hours, j.unanswered_warn_hours
