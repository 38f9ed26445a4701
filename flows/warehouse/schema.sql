-- Custodian warehouse: every table and view, the analysts' contract.
-- All timestamps are TIMESTAMPTZ in UTC; show them in the agency's time zone (agencies.timezone).
-- Safe to run on every start: every statement is idempotent.

-- The registry as last loaded from config/accounts.yaml.
CREATE TABLE IF NOT EXISTS agencies (
    agency_id    VARCHAR PRIMARY KEY,       -- the registry's stable slug
    name         VARCHAR NOT NULL,          -- display name (Arabic or English)
    timezone     VARCHAR NOT NULL,          -- IANA zone people read times in, default Asia/Muscat
    notify_tags  VARCHAR[] NOT NULL,        -- apprise tags reaching the agency's communications lead
    in_registry  BOOLEAN NOT NULL,          -- false once removed from the registry (history is kept)
    loaded_at    TIMESTAMPTZ NOT NULL       -- when this row was last loaded
);

CREATE TABLE IF NOT EXISTS accounts (
    account_id     VARCHAR PRIMARY KEY,     -- the registry's stable slug
    agency_id      VARCHAR NOT NULL,        -- owning agency (agencies.agency_id)
    platform       VARCHAR NOT NULL,        -- mastodon | wordpress | feed
    handle         VARCHAR,                 -- the account on its platform, where it has one
    api_base       VARCHAR NOT NULL,        -- instance, site root or feed URL the API is reached at
    url            VARCHAR,                 -- the public page people visit
    engagement     VARCHAR NOT NULL,        -- passive | active | engaged (the guideline's levels)
    language       VARCHAR,                 -- ar | en | …
    custodian_tags VARCHAR[] NOT NULL,      -- apprise tags reaching the account's custodians
    paused_reason  VARCHAR,                 -- why it is deliberately dormant; paused accounts raise no finding
    in_registry    BOOLEAN NOT NULL,        -- false once removed from the registry
    loaded_at      TIMESTAMPTZ NOT NULL
);

-- One row per monitor run.
CREATE TABLE IF NOT EXISTS runs (
    run_id               VARCHAR PRIMARY KEY,   -- UUID of the run
    started_at           TIMESTAMPTZ NOT NULL,
    finished_at          TIMESTAMPTZ,           -- wall clock; null while running, or if the run was killed
    status               VARCHAR NOT NULL,      -- running | collected | succeeded | failed (an account unread, a delivery failed or an error; what it merged stays) | crashed (left unfinished, found by the next run; finished_at = when found)
    accounts_total       INTEGER,               -- registered, unpaused accounts attempted
    accounts_ok          INTEGER,               -- fetched completely and validated
    accounts_failed      INTEGER,               -- a fetch failed: their checks were skipped this run
    accounts_quarantined INTEGER,               -- the pulled batch failed validation: kept aside, not checked
    records_merged       BIGINT                 -- posts + inbound + replies + profiles merged
);

-- What happened to each account in each run: the reason a check did or did not judge it.
CREATE TABLE IF NOT EXISTS account_runs (
    run_id       VARCHAR NOT NULL,
    account_id   VARCHAR NOT NULL,
    status       VARCHAR NOT NULL,          -- ok | quarantined | failed | gone | suspended | credentials | skipped | deferred
    records      INTEGER NOT NULL,          -- records pulled this run
    finished_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, account_id)
);

-- Every failure to fetch: which account, which URL (never with a token), what the platform said.
CREATE TABLE IF NOT EXISTS fetch_errors (
    run_id      VARCHAR NOT NULL,
    account_id  VARCHAR NOT NULL,
    stream      VARCHAR NOT NULL,           -- profile | statuses | context | notifications | posts | comments | feed …
    url         VARCHAR NOT NULL,
    http_status INTEGER,                    -- null for timeouts, refused connections, malformed bodies
    message     VARCHAR NOT NULL,
    gone        BOOLEAN NOT NULL,           -- the platform says the account is missing (404/410) or suspended
    occurred_at TIMESTAMPTZ NOT NULL,
    kind        VARCHAR                     -- failed | gone | suspended | credentials | skipped | deferred
);
ALTER TABLE fetch_errors ADD COLUMN IF NOT EXISTS kind VARCHAR;  -- databases made before the column existed

-- Pulled batches that failed validation, kept for inspection; they never feed the checks.
CREATE TABLE IF NOT EXISTS quarantine (
    run_id      VARCHAR NOT NULL,
    account_id  VARCHAR NOT NULL,
    reasons     VARCHAR[] NOT NULL,         -- the failed expectations, with offending ids
    records     JSON NOT NULL,              -- the records as pulled
    quarantined_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, account_id)
);

-- Incremental state: where the next run resumes. Written in the same transaction as the data.
CREATE TABLE IF NOT EXISTS cursors (
    account_id  VARCHAR NOT NULL,
    stream      VARCHAR NOT NULL,
    value       VARCHAR NOT NULL,           -- opaque to everything but the platform module
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, stream)
);

-- The account's public profile, one snapshot per successful run (followers over time, bio changes).
CREATE TABLE IF NOT EXISTS profile_snapshots (
    account_id   VARCHAR NOT NULL,
    run_id       VARCHAR NOT NULL,
    fetched_at   TIMESTAMPTZ NOT NULL,
    platform_id  VARCHAR NOT NULL,          -- stable id on the platform (handles change)
    display_name VARCHAR,
    bio          VARCHAR,                   -- plain text, capped
    url          VARCHAR,
    followers    BIGINT,
    following    BIGINT,
    posts_count  BIGINT,
    verified     BOOLEAN,                   -- the platform's own verified/official signal, if any
    links        VARCHAR[],                 -- links in the profile (official disclosure)
    suspended    BOOLEAN NOT NULL,
    limited      BOOLEAN NOT NULL,
    moved_to     VARCHAR,
    PRIMARY KEY (account_id, run_id)
);

-- What the account itself published. Replies to others are flagged, not mixed into staleness.
CREATE TABLE IF NOT EXISTS posts (
    account_id     VARCHAR NOT NULL,
    post_id        VARCHAR NOT NULL,        -- the platform's id for the post
    created_at     TIMESTAMPTZ NOT NULL,
    url            VARCHAR,
    text           VARCHAR,                 -- plain text, capped
    is_reply       BOOLEAN NOT NULL,        -- true when it answers someone else
    in_reply_to_id VARCHAR,
    first_seen_at  TIMESTAMPTZ NOT NULL,    -- when Custodian first pulled it
    PRIMARY KEY (account_id, post_id)
);

-- Citizens' messages to the account: replies under its posts, comments, mentions, direct messages.
CREATE TABLE IF NOT EXISTS inbound (
    account_id    VARCHAR NOT NULL,
    message_id    VARCHAR NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    kind          VARCHAR NOT NULL,         -- reply | comment | mention | direct
    author        VARCHAR,                  -- public name or handle as the platform shows it
    url           VARCHAR,
    text          VARCHAR,                  -- plain text, capped; empty for direct messages (private)
    post_id       VARCHAR,                  -- the account's post it hangs under, if any
    is_question   BOOLEAN NOT NULL,         -- contains ? or ؟
    first_seen_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, message_id)
);

-- The account's own replies to inbound messages (child.parent = message and child.author = account).
CREATE TABLE IF NOT EXISTS replies (
    account_id     VARCHAR NOT NULL,
    reply_id       VARCHAR NOT NULL,
    in_reply_to_id VARCHAR NOT NULL,        -- inbound.message_id it answers
    created_at     TIMESTAMPTZ NOT NULL,
    url            VARCHAR,
    PRIMARY KEY (account_id, reply_id)
);

-- One finding per check and account; its state lasts across runs.
CREATE TABLE IF NOT EXISTS findings (
    finding_id  VARCHAR PRIMARY KEY,        -- '<check>:<account_id>'
    check_name  VARCHAR NOT NULL,           -- staleness | response_time | unanswered
    account_id  VARCHAR NOT NULL,
    agency_id   VARCHAR NOT NULL,
    platform    VARCHAR NOT NULL,
    severity    VARCHAR NOT NULL,           -- warning | critical
    value       DOUBLE,                     -- what was measured, in `unit`
    threshold   DOUBLE,                     -- the limit it crossed, in `unit`
    unit        VARCHAR NOT NULL,           -- days | hours | messages
    message     VARCHAR NOT NULL,           -- what a person reads
    details     JSON,                       -- check-specific facts (links to unanswered messages, p90, counts)
    state       VARCHAR NOT NULL,           -- open | resolved
    first_seen  TIMESTAMPTZ NOT NULL,       -- when this episode opened
    last_seen   TIMESTAMPTZ NOT NULL,       -- last run that still found it
    resolved_at TIMESTAMPTZ,
    last_run_id VARCHAR NOT NULL
);

-- Changes worth telling someone about; alerts come from these, never from every failing run.
CREATE TABLE IF NOT EXISTS alert_events (
    event_id    VARCHAR PRIMARY KEY,
    finding_id  VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,           -- opened | worsened | reminder | resolved
    severity    VARCHAR NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    run_id      VARCHAR NOT NULL
);

-- Delivery log: one row per event and recipient tag. Pending rows are retried on the next run.
CREATE TABLE IF NOT EXISTS deliveries (
    event_id        VARCHAR NOT NULL,
    recipient_tag   VARCHAR NOT NULL,       -- the apprise tag (never the URL: it may hold credentials)
    status          VARCHAR NOT NULL,       -- pending | sent | superseded
    attempts        INTEGER NOT NULL,
    last_error      VARCHAR,
    last_attempt_at TIMESTAMPTZ,
    delivered_at    TIMESTAMPTZ,
    PRIMARY KEY (event_id, recipient_tag)
);

-- Ready-made views for analysts -------------------------------------------------------------

-- Each inbound message with the account's first reply to it (null while unanswered).
CREATE OR REPLACE VIEW first_replies AS
WITH firsts AS (
    SELECT r.account_id, r.in_reply_to_id AS message_id,
           min(r.created_at) AS first_reply_at, arg_min(r.reply_id, r.created_at) AS first_reply_id
    FROM replies r JOIN inbound i ON i.account_id = r.account_id AND i.message_id = r.in_reply_to_id
    WHERE r.created_at >= i.created_at
    GROUP BY ALL
)
SELECT i.account_id, i.message_id, i.created_at, i.kind, i.is_question, i.url, i.author, i.text,
       f.first_reply_id, f.first_reply_at,
       (epoch(f.first_reply_at) - epoch(i.created_at)) / 3600.0 AS response_hours
FROM inbound i LEFT JOIN firsts f USING (account_id, message_id);

-- Each account's latest own post (not counting replies to others).
CREATE OR REPLACE VIEW latest_posts AS
SELECT account_id, max(created_at) AS latest_post_at, count(*) AS posts
FROM posts WHERE NOT is_reply GROUP BY account_id;

-- Each account's outcome in its most recent run.
CREATE OR REPLACE VIEW account_health AS
SELECT a.account_id, a.agency_id, a.platform, a.paused_reason, ar.status AS last_status,
       ar.finished_at AS last_checked_at, lp.latest_post_at
FROM accounts a
LEFT JOIN (SELECT * FROM account_runs QUALIFY row_number() OVER (PARTITION BY account_id ORDER BY finished_at DESC) = 1) ar
  USING (account_id)
LEFT JOIN latest_posts lp USING (account_id)
WHERE a.in_registry;

CREATE OR REPLACE VIEW open_findings AS
SELECT * FROM findings WHERE state = 'open';
