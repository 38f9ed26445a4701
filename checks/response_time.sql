-- check: response_time
-- rule: Citizens get a timely answer. Over the policy window, the time from each message that
--       starts a response clock (the first after 24 hours of silence in its thread; follow-ups
--       join the open clock, see the view response_clocks) to the account's first reply is
--       summarised per account as the median and the 90th percentile, in working hours of the
--       account's calendar or in calendar hours (response_time.clock); either exceeding the SLA
--       is a finding. Unanswered messages are not in these statistics (the unanswered check
--       covers them). The message gives both clocks. Reads run_clocks: the runner evaluates the
--       view response_clocks once per run, with each answered clock's working hours.
-- parameters: policy.yaml response_time.sla_hours (default 24), response_time.clock (default
--       working), response_time.min_answered (default 1), unanswered.needs_answer_only (default
--       true: only messages that need an answer), calendar (per agency / account), window_days (default 30).
-- severity: warning when the 90th percentile exceeds the SLA; critical when the median does.
-- unit: hours
-- action: Answer citizens sooner: check the platform's notifications daily, share the inbox
--       among the custodians, and prepare answers to common questions.
WITH answered AS (
    SELECT c.account_id, c.response_hours AS calendar_hours, c.working_hours,
           CASE WHEN j.response_clock = 'calendar' THEN c.response_hours ELSE c.working_hours END AS hours
    FROM run_clocks c JOIN judged j USING (account_id)
    WHERE c.created_at >= $window_start AND c.first_reply_at IS NOT NULL
      AND (NOT j.questions_only OR c.needs_answer)
), stats AS (
    SELECT account_id, count(*) AS answered, median(hours) AS median_hours, quantile_cont(hours, 0.9) AS p90_hours,
           median(calendar_hours) AS median_calendar, quantile_cont(calendar_hours, 0.9) AS p90_calendar,
           median(working_hours) AS median_working, quantile_cont(working_hours, 0.9) AS p90_working
    FROM answered GROUP BY account_id
)
SELECT s.account_id,
       CASE WHEN s.median_hours > j.sla_hours THEN 'critical' ELSE 'warning' END AS severity,
       round(CASE WHEN s.median_hours > j.sla_hours THEN s.median_hours ELSE s.p90_hours END, 1) AS value,
       j.sla_hours AS threshold,
       printf('First replies take too long: median %.1f h, 90th percentile %.1f h (%s hours) over the last %g days (%d answered); the target is %g %s hours. Median %.1f calendar hours, %.1f working hours.',
              s.median_hours, s.p90_hours, coalesce(j.response_clock, 'working'), $window_days::DOUBLE, s.answered,
              j.sla_hours::DOUBLE, coalesce(j.response_clock, 'working'), s.median_calendar, s.median_working) AS message,
       json_object('median_hours', round(s.median_hours, 2), 'p90_hours', round(s.p90_hours, 2),
                   'answered', s.answered, 'clock', coalesce(j.response_clock, 'working'),
                   'median_calendar_hours', round(s.median_calendar, 2), 'p90_calendar_hours', round(s.p90_calendar, 2),
                   'median_working_hours', round(s.median_working, 2), 'p90_working_hours', round(s.p90_working, 2)) AS details
FROM stats s JOIN judged j USING (account_id)
WHERE s.answered >= j.min_answered AND s.p90_hours > j.sla_hours
