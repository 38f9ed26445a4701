-- check: activity_drop
-- rule: An account's activity does not quietly fade. Own posts (replies to others excluded)
--       and replies to citizens are counted per period of activity_drop.period_days, the last
--       period against the average of the activity_drop.baseline_periods periods before it.
--       A measure whose baseline average reaches activity_drop.min_baseline (new and tiny
--       accounts are not judged) and whose last period falls below activity_drop.share of it
--       is a drop. Replies are judged only while citizens' messages did not drop as much
--       (fewer questions need fewer answers). Only periods Custodian has data for count in the
--       baseline (collection reaches window_days back from the account's first good run); an
--       account with fewer than activity_drop.min_baseline_periods such periods is not judged.
-- parameters: policy.yaml activity_drop.period_days (default 7), activity_drop.share (default
--       0.4), activity_drop.baseline_periods (default 8), activity_drop.min_baseline (default 3),
--       activity_drop.min_baseline_periods (default 3), window_days (default 30).
-- severity: warning; the value is the lower measure's last period as a % of its baseline.
-- unit: %
-- action: Check that the account is still staffed and has material; plan the next weeks'
--       posts and share the inbox among the custodians.
WITH reach AS (
    -- Collection reaches window_days back from an account's first good run: periods before
    -- that hold no data, which is not the same as no activity, so they are not in the baseline.
    SELECT ar.account_id,
           least($drop_baseline_periods,
                 floor((epoch($now) - epoch(min(ar.finished_at)) + $window_days * 86400) / ($drop_period_days * 86400)) - 1
           )::INTEGER AS periods
    FROM account_runs ar JOIN judged j USING (account_id)
    WHERE ar.status = 'ok'
    GROUP BY ar.account_id
), events AS (
    SELECT account_id, 'posts' AS measure, created_at FROM posts WHERE NOT is_reply
    UNION ALL SELECT account_id, 'replies', created_at FROM replies
    UNION ALL SELECT account_id, 'inbound', created_at FROM inbound
), bucketed AS (
    SELECT e.account_id, e.measure, r.periods,
           floor((epoch($now) - epoch(e.created_at)) / ($drop_period_days * 86400))::INTEGER AS period
    FROM events e JOIN reach r USING (account_id)
    WHERE e.created_at <= $now AND r.periods >= $drop_min_periods
), counted AS (
    SELECT account_id, measure, any_value(periods) AS periods, count(*) FILTER (period = 0) AS last_period,
           count(*) FILTER (period BETWEEN 1 AND periods) / any_value(periods)::DOUBLE AS baseline
    FROM bucketed GROUP BY account_id, measure
), dropped AS (
    SELECT c.*, c.last_period / c.baseline AS ratio
    FROM counted c LEFT JOIN counted i ON i.account_id = c.account_id AND i.measure = 'inbound'
    WHERE c.measure IN ('posts', 'replies') AND c.baseline >= $drop_min_baseline
      AND c.last_period < $drop_share * c.baseline
      AND (c.measure = 'posts' OR i.last_period >= $drop_share * i.baseline)
)
SELECT account_id, 'warning' AS severity, round(100 * min(ratio), 1) AS value, 100 * $drop_share AS threshold,
       string_agg(printf('%s: %d in the last %g days against %.1f per period in the %d before (%d %%)',
                         CASE measure WHEN 'posts' THEN 'Own posts' ELSE 'Replies to citizens' END, last_period,
                         $drop_period_days::DOUBLE, baseline, periods, round(100 * ratio)::INTEGER),
                  '; ' ORDER BY measure) || '.' AS message,
       json_object('measures', list(json_object('measure', measure, 'last_period', last_period,
                                                'baseline', round(baseline, 2), 'baseline_periods', periods)
                                    ORDER BY measure)) AS details
FROM dropped
GROUP BY account_id
