-- check: disclosure
-- rule: An official account says that it is official and who runs it. Its latest profile
--       (this run's snapshot) is judged on three points: (1) the bio or display name carries
--       one of the official phrases; (2) a profile link or the profile URL is on one of the
--       agency's website domains (agencies[].domains; not judged while the agency lists
--       none); (3) the platform's verification flag is set, where the platform has one
--       (profile_snapshots.verified is NULL where it has none: then not judged). Platforms
--       whose profile says too little (disclosure.unjudged_platforms, default feed) are skipped.
-- parameters: policy.yaml disclosure.phrases.<language> (defaults "الحساب الرسمي",
--       "الحساب الرسمي لوزارة", "الصفحة الرسمية", "Official account of", "official account",
--       "official page"), disclosure.unjudged_platforms (default [feed]); accounts.yaml agencies[].domains.
-- severity: warning; the value counts the missing points.
-- unit: items
-- action: Edit the profile: say "Official account of <agency>" / "الحساب الرسمي لـ<الجهة>",
--       link to the agency's website, and request the platform's verification for government.
WITH latest AS (
    SELECT s.* FROM profile_snapshots s JOIN judged j USING (account_id)
    QUALIFY row_number() OVER (PARTITION BY s.account_id ORDER BY s.fetched_at DESC) = 1
), judged_profiles AS (
    SELECT l.account_id, coalesce(g.domains, []) AS domains,
           coalesce(list_bool_or(list_transform($disclosure_phrases, lambda phrase:
               contains(lower(coalesce(l.bio, '') || ' ' || coalesce(l.display_name, '')), phrase))), false) AS says_official,
           len(coalesce(g.domains, [])) = 0 OR coalesce(list_bool_or(list_transform(
               list_transform(list_append(coalesce(l.links, []), coalesce(l.url, '')), lambda link:
                   lower(regexp_extract(link, '^[A-Za-z][A-Za-z0-9+.-]*://([^/:?#@]+)', 1))),
               lambda host: list_bool_or(list_transform(g.domains, lambda domain:
                   host = lower(domain) OR ends_with(host, '.' || lower(domain)))))), false) AS links_back,
           l.verified IS DISTINCT FROM false AS verified_or_none
    FROM latest l JOIN accounts a USING (account_id) JOIN agencies g USING (agency_id)
    WHERE NOT list_contains($disclosure_unjudged, a.platform)
), missing AS (
    SELECT account_id, domains,
           list_filter([CASE WHEN NOT says_official THEN 'official_wording' END,
                        CASE WHEN NOT links_back THEN 'agency_link' END,
                        CASE WHEN NOT verified_or_none THEN 'verification' END], lambda m: m IS NOT NULL) AS missing
    FROM judged_profiles
)
SELECT account_id, 'warning' AS severity, len(missing) AS value, 0 AS threshold,
       'The profile ' || array_to_string(list_transform(missing, lambda m: CASE m
           WHEN 'official_wording' THEN 'does not say it is the official account (e.g. "Official account of …", "الحساب الرسمي …")'
           WHEN 'agency_link' THEN 'does not link to the agency''s website (' || array_to_string(domains, ', ') || ')'
           ELSE 'lacks the platform''s verification' END), '; it ') || '.' AS message,
       json_object('missing', missing) AS details
FROM missing
WHERE len(missing) > 0
