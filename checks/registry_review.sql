-- check: registry_review
-- rule: The registry stays true: custodians, handle and engagement level are confirmed
--       regularly (the U.S. Digital Registry asks for every six months). An account whose
--       registry entry has no `reviewed` date, or one older than registry.review_months.
--       The value is the months since the last review (empty when never reviewed).
-- parameters: policy.yaml registry.review_months (default 6); accounts.yaml accounts[].reviewed.
-- severity: warning.
-- unit: months
-- action: Confirm the entry with the agency (custodians still in post and trained, handle,
--       engagement level), then set `reviewed: <today>` in accounts.yaml.
SELECT a.account_id, 'warning' AS severity,
       CASE WHEN a.reviewed IS NOT NULL THEN round(date_diff('day', a.reviewed, $now::DATE) / 30.44, 1) END AS value,
       $review_months AS threshold,
       CASE WHEN a.reviewed IS NULL
            THEN printf('The registry entry has never been reviewed (no `reviewed` date); review it at least every %d months.', $review_months)
            ELSE printf('The registry entry was last reviewed on %s, more than %d months ago.', strftime(a.reviewed, '%Y-%m-%d'), $review_months)
       END AS message,
       json_object('reviewed', a.reviewed) AS details
FROM accounts a JOIN judged j USING (account_id)
WHERE a.reviewed IS NULL OR a.reviewed < $now::DATE - to_months($review_months)
