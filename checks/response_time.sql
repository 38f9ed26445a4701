-- check: response_time
-- rule: Citizens get a timely answer. Over the policy window, the time from each inbound
--       message to the account's first reply is summarised per account as the median and
--       the 90th percentile; either exceeding the SLA is a finding. Unanswered messages are
--       not in these statistics (the unanswered check covers them).
-- parameters: policy.yaml response_time.sla_hours (default 24), response_time.min_answered
--       (default 1), unanswered.needs_answer_only (default true: only messages that need an answer), window_days (default 30).
-- severity: warning when the 90th percentile exceeds the SLA; critical when the median does.
-- unit: hours
-- action: Answer citizens sooner: check the platform's notifications daily, share the inbox
--       among the custodians, and prepare answers to common questions.
WITH answered AS (
    SELECT f.account_id, f.response_hours
    FROM first_replies f JOIN judged j USING (account_id)
    WHERE f.created_at >= $window_start AND f.first_reply_at IS NOT NULL
      AND (NOT j.questions_only OR f.needs_answer)
), stats AS (
    SELECT account_id, count(*) AS answered, median(response_hours) AS median_hours,
           quantile_cont(response_hours, 0.9) AS p90_hours
    FROM answered GROUP BY account_id
)
SELECT s.account_id,
       CASE WHEN s.median_hours > j.sla_hours THEN 'critical' ELSE 'warning' END AS severity,
       round(CASE WHEN s.median_hours > j.sla_hours THEN s.median_hours ELSE s.p90_hours END, 1) AS value,
       j.sla_hours AS threshold,
       printf('First replies take too long: median %.1f h, 90th percentile %.1f h over the last %g days (%d answered); the target is %g h.',
              s.median_hours, s.p90_hours, $window_days::DOUBLE, s.answered, j.sla_hours::DOUBLE) AS message,
       json_object('median_hours', round(s.median_hours, 2), 'p90_hours', round(s.p90_hours, 2),
                   'answered', s.answered) AS details
FROM stats s JOIN judged j USING (account_id)
WHERE s.answered >= j.min_answered AND s.p90_hours > j.sla_hours
