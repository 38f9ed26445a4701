-- check: custodian_coverage
-- rule: Every account is tended by enough people who can actually be reached. A finding
--       when the account's custodian tags reach no apprise URL, when the latest
--       custodian_coverage.failed_deliveries deliveries to its custodians all failed, or when
--       it has fewer than custodian_coverage.min_custodians custodian tags.
-- parameters: policy.yaml custodian_coverage.min_custodians (default 2),
--       custodian_coverage.failed_deliveries (default 3); apprise.yaml (which tags a URL carries).
-- severity: critical when no custodian can be reached (no URL, or every recent delivery
--       failed); warning when there are only too few custodians. The value counts the custodian
--       tags that reach a URL.
-- unit: custodians
-- action: Name a second trained custodian in the registry, and fix the custodians' apprise
--       URLs (check the delivery log: deliveries.last_error).
WITH tags AS (
    SELECT a.account_id, a.custodian_tags,
           list_filter(a.custodian_tags, lambda t: NOT list_contains($apprise_tags, t)) AS unreachable
    FROM accounts a JOIN judged j USING (account_id)
), latest AS (
    SELECT t.account_id, d.status, d.last_error,
           row_number() OVER (PARTITION BY t.account_id ORDER BY d.last_attempt_at DESC) AS n
    FROM tags t JOIN deliveries d ON list_contains(t.custodian_tags, d.recipient_tag)
    WHERE d.attempts > 0
), delivery AS (
    SELECT account_id, count(*) AS tried, count(*) FILTER (last_error IS NOT NULL AND status <> 'sent') AS failed
    FROM latest WHERE n <= $failed_deliveries GROUP BY account_id
), judged_tags AS (
    SELECT t.*, len(t.custodian_tags) - len(t.unreachable) AS reachable,
           len(t.unreachable) = len(t.custodian_tags) AS none_reachable,
           coalesce(d.tried = $failed_deliveries AND d.failed = d.tried, false) AS all_failing
    FROM tags t LEFT JOIN delivery d USING (account_id)
)
SELECT account_id,
       CASE WHEN none_reachable OR all_failing THEN 'critical' ELSE 'warning' END AS severity,
       reachable AS value, $min_custodians AS threshold,
       concat_ws('; ',
           CASE WHEN none_reachable THEN 'No custodian tag (' || array_to_string(custodian_tags, ', ') || ') reaches an apprise URL' END,
           CASE WHEN all_failing THEN printf('The last %d deliveries to the custodians all failed', $failed_deliveries) END,
           CASE WHEN len(custodian_tags) < $min_custodians
                THEN printf('Only %d custodian(s) named; at least %d are needed so one absence does not leave the account untended',
                            len(custodian_tags), $min_custodians) END) || '.' AS message,
       json_object('custodians', len(custodian_tags), 'unreachable_tags', unreachable, 'deliveries_failing', all_failing) AS details
FROM judged_tags
WHERE none_reachable OR all_failing OR len(custodian_tags) < $min_custodians
