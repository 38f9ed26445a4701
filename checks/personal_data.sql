-- check: personal_data
-- rule: An official account never publishes personal details. Own posts (replies included)
--       from the last personal_data.days in which the detector (flows/detect/personal_data.py,
--       run when the post is stored) found a phone number, an e-mail address, a civil ID or
--       passport number, or a street address; the agency's own published contacts
--       (agencies[].public_contacts) do not count. The finding cites each post by link, time
--       and kind of data, never the data itself (the warehouse does not hold it).
-- parameters: policy.yaml personal_data.days (default 30); accounts.yaml agencies[].public_contacts.
-- severity: critical.
-- unit: posts
-- action: Remove or edit each cited post, tell the person concerned if their details were
--       exposed, and publish contact details only through the agency's official channels.
WITH exposed AS (
    SELECT p.account_id, p.post_id, coalesce(p.url, p.post_id) AS link, p.created_at, p.personal_data_kinds AS kinds,
           strftime(timezone(g.timezone, p.created_at), '%Y-%m-%d %H:%M') || ' (' || g.timezone || ')' AS local_time
    FROM posts p JOIN judged j USING (account_id) JOIN accounts a USING (account_id) JOIN agencies g USING (agency_id)
    WHERE len(coalesce(p.personal_data_kinds, [])) > 0
      AND epoch($now) - epoch(p.created_at) <= $personal_data_days * 86400
)
SELECT account_id, 'critical' AS severity, count(*) AS value, 0 AS threshold,
       printf('%d own post(s) from the last %g days publish personal data (%s): %s.', count(*),
              $personal_data_days::DOUBLE, array_to_string(list_sort(list_distinct(flatten(list(kinds)))), ', '),
              array_to_string(list(local_time || ' ' || link || ' (' || array_to_string(kinds, ', ') || ')'
                                   ORDER BY created_at DESC)[1:3], '; ')) AS message,
       json_object('kinds', list_sort(list_distinct(flatten(list(kinds)))),
                   'posts', list(json_object('url', link, 'created_at', created_at, 'kinds', kinds)
                                 ORDER BY created_at DESC)[1:10]) AS details
FROM exposed
GROUP BY account_id
