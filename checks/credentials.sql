-- check: credentials
-- judges: attempted
-- rule: Custodian can read what the account's platform only shows with a credential. This run
--       the token named by the account's token_env was missing, rejected (HTTP 401, Graph code
--       190, X 401/403), expired or lacked a scope the account's engagement level needs; or the
--       platform says it expires within the warning period. Judged for every account the run
--       tried to read (not only those read completely); resolves once a read succeeds.
-- parameters: policy.yaml credentials.warn_days (default 14): warn this many days before expiry.
-- severity: critical when the token stopped working (rejected, expired, a scope missing);
--       warning when none is configured, or when it expires within warn_days.
-- unit: days
-- action: Create a new token for the account (with the permission the message names) and put it
--       in the named environment variable on the monitoring host, never in a file; the next run
--       checks it. Renew a token that expires soon before it does.
WITH problem AS (
    SELECT e.account_id, min(e.kind) AS kind, arg_min(e.message, e.kind) AS message,
           arg_min(e.url, e.kind) AS url, arg_min(e.http_status, e.kind) AS http_status
    FROM fetch_errors e JOIN judged j USING (account_id)
    WHERE e.run_id = $run_id AND e.kind IN ('credentials', 'skipped')
    GROUP BY e.account_id
), streak AS (  -- since when: the first run of the current unbroken run of credential trouble
    SELECT ar.account_id, min(ar.finished_at) AS since
    FROM account_runs ar JOIN problem p USING (account_id)
    WHERE ar.status IN ('credentials', 'skipped')
      AND ar.finished_at > coalesce((SELECT max(g.finished_at) FROM account_runs g
                                     WHERE g.account_id = ar.account_id
                                       AND g.status NOT IN ('credentials', 'skipped', 'deferred')),
                                    '-infinity'::TIMESTAMPTZ)
    GROUP BY ar.account_id
), expiring AS (
    SELECT t.account_id, t.expires_at, (epoch(t.expires_at) - epoch($now)) / 86400.0 AS days_left
    FROM token_status t JOIN judged j USING (account_id)
    WHERE t.expires_at IS NOT NULL AND t.account_id NOT IN (SELECT account_id FROM problem)
      AND (epoch(t.expires_at) - epoch($now)) / 86400.0 <= j.credentials_warn_days
), local AS (
    SELECT a.account_id, g.timezone FROM accounts a JOIN agencies g USING (agency_id)
)
SELECT p.account_id,
       CASE WHEN p.kind = 'credentials' THEN 'critical' ELSE 'warning' END AS severity,
       round((epoch($now) - epoch(s.since)) / 86400.0, 1) AS value,
       0.0 AS threshold,
       CASE WHEN p.kind = 'credentials'
            THEN printf('The token in %s stopped working: %s. Since %s (%s). What needs it cannot be read until it is replaced.',
                        coalesce(j.token_env, '(no token_env)'), p.message,
                        strftime(timezone(l.timezone, s.since), '%Y-%m-%d %H:%M'), l.timezone)
            WHEN j.token_env IS NULL
            THEN printf('No token_env is given for this account in accounts.yaml, and its platform cannot be read without one (%s). Since %s (%s).',
                        p.message, strftime(timezone(l.timezone, s.since), '%Y-%m-%d %H:%M'), l.timezone)
            ELSE printf('No token is set in %s, and the account cannot be read without one (%s). Since %s (%s).',
                        j.token_env, p.message, strftime(timezone(l.timezone, s.since), '%Y-%m-%d %H:%M'), l.timezone)
       END AS message,
       json_object('problem', p.kind, 'token_env', j.token_env, 'error', p.message, 'url', p.url,
                   'http_status', p.http_status, 'since', s.since) AS details
FROM problem p JOIN judged j USING (account_id) JOIN streak s USING (account_id) JOIN local l USING (account_id)
UNION ALL
SELECT x.account_id, 'warning' AS severity, round(x.days_left, 1) AS value, j.credentials_warn_days AS threshold,
       printf('The token in %s expires on %s (%s), in %.1f days.', coalesce(j.token_env, '(no token_env)'),
              strftime(timezone(l.timezone, x.expires_at), '%Y-%m-%d %H:%M'), l.timezone, x.days_left) AS message,
       json_object('problem', 'expiring', 'token_env', j.token_env, 'expires_at', x.expires_at) AS details
FROM expiring x JOIN judged j USING (account_id) JOIN local l USING (account_id)
