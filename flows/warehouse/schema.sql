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
    loaded_at    TIMESTAMPTZ NOT NULL,      -- when this row was last loaded
    domains      VARCHAR[],                 -- the agency's website domains (disclosure: the profile links to one)
    public_contacts VARCHAR[]               -- contacts the agency publishes: never reported as personal data
);
ALTER TABLE agencies ADD COLUMN IF NOT EXISTS domains VARCHAR[];
ALTER TABLE agencies ADD COLUMN IF NOT EXISTS public_contacts VARCHAR[];

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
    loaded_at      TIMESTAMPTZ NOT NULL,
    reviewed       DATE                     -- when the oversight team last confirmed the entry (registry_review)
);
ALTER TABLE accounts ADD COLUMN IF NOT EXISTS reviewed DATE;

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
    records_merged       BIGINT,                -- posts + inbound + replies + profiles merged
    accounts_deferred    INTEGER,               -- left for a later run: the platform's budget could not cover them
    accounts_skipped     INTEGER                -- not read: the platform needs a token none is configured for
);
ALTER TABLE runs ADD COLUMN IF NOT EXISTS accounts_deferred INTEGER;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS accounts_skipped INTEGER;

-- What happened to each account in each run: the reason a check did or did not judge it.
CREATE TABLE IF NOT EXISTS account_runs (
    run_id       VARCHAR NOT NULL,
    account_id   VARCHAR NOT NULL,
    status       VARCHAR NOT NULL,          -- ok | quarantined | failed | gone | suspended | credentials | skipped | deferred
    records      INTEGER NOT NULL,          -- records pulled this run
    finished_at  TIMESTAMPTZ NOT NULL,
    requests     INTEGER,                   -- HTTP requests the account cost this run (null before budgets existed)
    units        DOUBLE,                    -- what they cost against the platform's budget (YouTube quota units…)
    PRIMARY KEY (run_id, account_id)
);
ALTER TABLE account_runs ADD COLUMN IF NOT EXISTS requests INTEGER;
ALTER TABLE account_runs ADD COLUMN IF NOT EXISTS units DOUBLE;

-- What the platform says about each account's token (Graph debug_token): never the token itself.
CREATE TABLE IF NOT EXISTS token_status (
    account_id  VARCHAR PRIMARY KEY,
    expires_at  TIMESTAMPTZ,                -- null: never expires, or the platform does not say
    scopes      VARCHAR[] NOT NULL,         -- permissions the token grants
    checked_at  TIMESTAMPTZ NOT NULL        -- the run that last saw it
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
    text           VARCHAR,                 -- plain text, capped; personal data replaced by its kind, e.g. [phone];
                                            -- NUL and bidi controls kept as visible escapes (\u202e), never raw
    is_reply       BOOLEAN NOT NULL,        -- true when it answers someone else
    in_reply_to_id VARCHAR,
    first_seen_at  TIMESTAMPTZ NOT NULL,    -- when Custodian first pulled it
    personal_data_kinds VARCHAR[],          -- kinds of personal data the post published (phone, email, …), never the data
    content_hash   VARCHAR,                 -- SHA-256 of the stored content (post_versions keeps each one seen)
    links          VARCHAR[],               -- web addresses the post links to, where the platform gives them
    media_urls     VARCHAR[],               -- its pictures', video's or thumbnail's addresses, where the platform gives them
    deleted_seen_at TIMESTAMPTZ,            -- when a complete read first missed it (deleted or hidden); null while visible
    truncated      BOOLEAN,                 -- the text was cut at 64 KB (65,536 bytes of UTF-8; it then ends with "…")
    invalid_utf8   BOOLEAN,                 -- the platform sent bytes that were not UTF-8; they are kept as U+FFFD (�)
    PRIMARY KEY (account_id, post_id)
);
ALTER TABLE posts ADD COLUMN IF NOT EXISTS personal_data_kinds VARCHAR[];
ALTER TABLE posts ADD COLUMN IF NOT EXISTS content_hash VARCHAR;
ALTER TABLE posts ADD COLUMN IF NOT EXISTS links VARCHAR[];
ALTER TABLE posts ADD COLUMN IF NOT EXISTS media_urls VARCHAR[];
ALTER TABLE posts ADD COLUMN IF NOT EXISTS deleted_seen_at TIMESTAMPTZ;
ALTER TABLE posts ADD COLUMN IF NOT EXISTS truncated BOOLEAN;     -- NULL on rows stored before the flag
ALTER TABLE posts ADD COLUMN IF NOT EXISTS invalid_utf8 BOOLEAN;

-- The record of what the account published: every version of every own post ever seen.
-- A post pulled again with other content (an edit) adds a version; nothing is overwritten.
-- A post missing from a later COMPLETE read of the window it was published in (the platform's
-- ReadWindow: the WordPress posts read, a feed's entries) adds a version with deleted = true and
-- the last content seen; a failed or partial read never does. Seen again later, it gets a new
-- version with deleted = false. Platforms whose reads yield no ReadWindow (all but WordPress and feeds
-- today: they read forward from a cursor) never record a deletion.
-- Example: SELECT account_id, post_id, seen_at AS deleted_seen FROM post_versions WHERE deleted ORDER BY seen_at;
CREATE TABLE IF NOT EXISTS post_versions (
    account_id     VARCHAR NOT NULL,
    post_id        VARCHAR NOT NULL,
    version        INTEGER NOT NULL,        -- 1 for the content first seen, then 2, 3 … per change seen
    content_hash   VARCHAR NOT NULL,        -- SHA-256 of the JSON of (created_at, url, text, is_reply, in_reply_to_id)
    created_at     TIMESTAMPTZ NOT NULL,    -- when the post was published
    url            VARCHAR,
    text           VARCHAR,                 -- as in posts.text: personal data replaced by its kind
    is_reply       BOOLEAN NOT NULL,
    in_reply_to_id VARCHAR,
    personal_data_kinds VARCHAR[],
    seen_at        TIMESTAMPTZ NOT NULL,    -- the run that first saw this version (for a deleted one: first missed it)
    links          VARCHAR[],               -- as in posts.links (hashed only when non-empty, so older hashes hold)
    media_urls     VARCHAR[],               -- as in posts.media_urls (hashed only when non-empty)
    deleted        BOOLEAN DEFAULT false,   -- true: the post was gone from a complete read; the content is the last seen
    PRIMARY KEY (account_id, post_id, version)
);
ALTER TABLE post_versions ADD COLUMN IF NOT EXISTS links VARCHAR[];
ALTER TABLE post_versions ADD COLUMN IF NOT EXISTS media_urls VARCHAR[];
ALTER TABLE post_versions ADD COLUMN IF NOT EXISTS deleted BOOLEAN DEFAULT false;

-- Citizens' messages to the account: replies under its posts, comments, mentions, direct messages.
CREATE TABLE IF NOT EXISTS inbound (
    account_id    VARCHAR NOT NULL,
    message_id    VARCHAR NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    kind          VARCHAR NOT NULL,         -- reply | comment | mention | direct
    author        VARCHAR,                  -- salted SHA-256 of the author's handle (CUSTODIAN_AUTHOR_SALT); NULL without a salt
    url           VARCHAR,
    text          VARCHAR,                  -- plain text, capped (controls escaped as in posts.text), personal
                                            -- data replaced by its kind; empty for
                                            -- direct messages (private); NULL once purged (retention.inbound_text_days)
    post_id       VARCHAR,                  -- the account's post it hangs under, if any
    is_question   BOOLEAN NOT NULL,         -- contains ? or ؟
    first_seen_at TIMESTAMPTZ NOT NULL,
    text_purged_at TIMESTAMPTZ,             -- when the text was purged; the facts (time, thread, reply) stay
    needs_answer  BOOLEAN,                  -- the detector's verdict on the text (flows/detect/needs_answer.py),
                                            -- taken at merge time, before a direct message's text is dropped
    needs_answer_reason VARCHAR,            -- why: "question mark", "request or complaint 'ممكن'", "thanks or greeting only" …
    from_official BOOLEAN,                  -- the author is a registered official account (decided before the author is hashed)
    truncated     BOOLEAN,                  -- the text was cut at 64 KB (65,536 bytes of UTF-8; it then ends with "…")
    invalid_utf8  BOOLEAN,                  -- the platform sent bytes that were not UTF-8; they are kept as U+FFFD (�)
    PRIMARY KEY (account_id, message_id)
);
ALTER TABLE inbound ADD COLUMN IF NOT EXISTS text_purged_at TIMESTAMPTZ;
ALTER TABLE inbound ADD COLUMN IF NOT EXISTS needs_answer BOOLEAN;  -- databases made before the detector;
ALTER TABLE inbound ADD COLUMN IF NOT EXISTS needs_answer_reason VARCHAR;  -- store.connect fills old rows
ALTER TABLE inbound ADD COLUMN IF NOT EXISTS from_official BOOLEAN;
ALTER TABLE inbound ADD COLUMN IF NOT EXISTS truncated BOOLEAN;   -- NULL on rows stored before the flag
ALTER TABLE inbound ADD COLUMN IF NOT EXISTS invalid_utf8 BOOLEAN;

-- Engagement of own posts as the platform counted it, one snapshot per post per run that read it.
CREATE TABLE IF NOT EXISTS post_metrics (
    account_id  VARCHAR NOT NULL,
    post_id     VARCHAR NOT NULL,           -- posts.post_id
    run_id      VARCHAR NOT NULL,
    likes       BIGINT,                     -- favourites, likes, reactions (as the platform names them)
    shares      BIGINT,                     -- boosts, reposts, retweets, shares
    comments    BIGINT,                     -- replies or comments under the post
    fetched_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, post_id, run_id)
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

-- Working hours of each answered response clock (response_clocks), in the account's calendar
-- (policy.yaml calendar, per agency / account), so the response_times view gives both clocks on any
-- connection: the working_hours UDF exists only where the checks register it. Brought in line by every
-- check run (checks/runner.py): a row whose clock is gone or whose hours changed (a calendar changed in
-- the policy) is replaced, so a calendar change reaches every row; an unchanged row is left alone.
CREATE TABLE IF NOT EXISTS response_working_hours (
    account_id    VARCHAR NOT NULL,
    message_id    VARCHAR NOT NULL,         -- the message that started the clock (response_clocks.message_id)
    working_hours DOUBLE NOT NULL,          -- working hours from the message to the account's first reply
    computed_at   TIMESTAMPTZ NOT NULL,     -- the check run that computed this value (later runs agreeing leave it)
    PRIMARY KEY (account_id, message_id)
);

-- One finding per episode of a check on an account; its state lasts across runs.
CREATE TABLE IF NOT EXISTS findings (
    finding_id  VARCHAR PRIMARY KEY,        -- stable: '<check>:<account_id>:<first_seen ISO UTC>' (older rows: '<check>:<account_id>')
    check_name  VARCHAR NOT NULL,           -- the checks/*.sql file name: staleness, unanswered, unreachable, disclosure …
    account_id  VARCHAR NOT NULL,
    agency_id   VARCHAR NOT NULL,
    platform    VARCHAR NOT NULL,
    severity    VARCHAR NOT NULL,           -- warning | critical
    value       DOUBLE,                     -- what was measured, in `unit`
    threshold   DOUBLE,                     -- the limit it crossed, in `unit`
    unit        VARCHAR NOT NULL,           -- days | hours | messages | runs
    message     VARCHAR NOT NULL,           -- what a person reads
    details     JSON,                       -- check-specific facts (links to unanswered messages, p90, counts)
    state       VARCHAR NOT NULL,           -- pending (held for flap control, never told) | open | resolved | withdrawn
    first_seen  TIMESTAMPTZ NOT NULL,       -- when this episode was first found
    last_seen   TIMESTAMPTZ NOT NULL,       -- last run that still found it
    resolved_at TIMESTAMPTZ,                -- resolved or withdrawn at
    last_run_id VARCHAR NOT NULL,
    action           VARCHAR,               -- what to do, from the check's header
    opened_at        TIMESTAMPTZ,           -- when it passed flap control and opened
    seen_runs        INTEGER,               -- consecutive runs that found it
    clear_runs       INTEGER,               -- consecutive judged runs that did not (resolves at flapping.clear_runs)
    flapping         BOOLEAN,               -- flipped more than flapping.max_flips_per_day in 24 h: reported once
    withdrawn_reason VARCHAR,               -- why it stopped being watched (paused, removed from the registry)
    step             INTEGER,               -- highest escalation step told (0 = first); null: nobody told yet
    step_at          TIMESTAMPTZ,           -- when that step was told
    reminders        INTEGER,               -- reminders sent at the current step
    last_notice_at   TIMESTAMPTZ            -- last step, reminder or worsening told
);
ALTER TABLE findings ADD COLUMN IF NOT EXISTS action VARCHAR;
ALTER TABLE findings ADD COLUMN IF NOT EXISTS opened_at TIMESTAMPTZ;
ALTER TABLE findings ADD COLUMN IF NOT EXISTS seen_runs INTEGER;
ALTER TABLE findings ADD COLUMN IF NOT EXISTS clear_runs INTEGER;
ALTER TABLE findings ADD COLUMN IF NOT EXISTS flapping BOOLEAN;
ALTER TABLE findings ADD COLUMN IF NOT EXISTS withdrawn_reason VARCHAR;
ALTER TABLE findings ADD COLUMN IF NOT EXISTS step INTEGER;
ALTER TABLE findings ADD COLUMN IF NOT EXISTS step_at TIMESTAMPTZ;
ALTER TABLE findings ADD COLUMN IF NOT EXISTS reminders INTEGER;
ALTER TABLE findings ADD COLUMN IF NOT EXISTS last_notice_at TIMESTAMPTZ;
-- Findings from before escalation existed were told to their custodians when they opened.
UPDATE findings SET opened_at = first_seen, seen_runs = 1, clear_runs = 0, flapping = false,
       step = CASE WHEN state = 'open' THEN 0 END, step_at = first_seen, reminders = 0, last_notice_at = last_seen
WHERE opened_at IS NULL AND state IN ('open', 'resolved');

-- Things worth telling: flips written by the checks (opened, worsened, resolved, withdrawn) and
-- escalation steps, reminders and flapping notices written by the notify planner.
CREATE TABLE IF NOT EXISTS alert_events (
    event_id    VARCHAR PRIMARY KEY,        -- stable idempotency key: '<finding_id>/<kind>[/<step>[/<n>]]'
    finding_id  VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,           -- opened | worsened | resolved | withdrawn | escalated | reminder | flapping
    severity    VARCHAR NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    run_id      VARCHAR NOT NULL,
    step        INTEGER,                    -- escalation step an escalated/reminder event belongs to
    planned_at  TIMESTAMPTZ                 -- when the planner decided who hears of it (null: not yet)
);
ALTER TABLE alert_events ADD COLUMN IF NOT EXISTS step INTEGER;
ALTER TABLE alert_events ADD COLUMN IF NOT EXISTS planned_at TIMESTAMPTZ;

-- The outbox: one row per event and recipient tag, written BEFORE anything is sent. A sender
-- claims pending rows with a conditional UPDATE (pending → sending), sends, then marks them sent;
-- a failed send goes back to pending; a row left `sending` by a crashed process becomes
-- `unconfirmed` and is never sent again (the receiver may dedupe on message_key).
CREATE TABLE IF NOT EXISTS deliveries (
    event_id        VARCHAR NOT NULL,       -- alert_events.event_id: the item's idempotency key
    recipient_tag   VARCHAR NOT NULL,       -- the apprise tag (never the URL: it may hold credentials)
    status          VARCHAR NOT NULL,       -- pending | held (mute window) | sending | sent | superseded | unconfirmed
    attempts        INTEGER NOT NULL,
    last_error      VARCHAR,
    last_attempt_at TIMESTAMPTZ,
    delivered_at    TIMESTAMPTZ,
    audience        VARCHAR,                -- custodians | agency | oversight: why this tag hears of it
    message_key     VARCHAR,                -- idempotency key of the grouped message it went out in (X-Idempotency-Key)
    claimed_at      TIMESTAMPTZ,            -- when a sender claimed it
    PRIMARY KEY (event_id, recipient_tag)
);
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS audience VARCHAR;
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS message_key VARCHAR;
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS claimed_at TIMESTAMPTZ;
-- Events from before the planner existed got their deliveries when they were written.
UPDATE alert_events SET planned_at = created_at WHERE planned_at IS NULL
   AND EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = alert_events.event_id);

-- Weekly digests: one row per recipient tag and period (the week starting at digest.day/hour in the recipient's zone).
CREATE TABLE IF NOT EXISTS digests (
    recipient_tag   VARCHAR NOT NULL,       -- the apprise tag (never the URL)
    period          VARCHAR NOT NULL,       -- the local date the period starts, '2026-11-29'
    status          VARCHAR NOT NULL,       -- sent | failed (tried again next run)
    attempts        INTEGER NOT NULL,
    last_error      VARCHAR,
    last_attempt_at TIMESTAMPTZ,
    delivered_at    TIMESTAMPTZ,
    PRIMARY KEY (recipient_tag, period)
);

-- Silences: a person decided an account (or one check on it) should not alert until a time.
-- Silenced findings are still recorded and shown; they are only not sent.
CREATE TABLE IF NOT EXISTS silences (
    silence_id  VARCHAR PRIMARY KEY,        -- short id people type: 's-1a2b3c4d'
    account_id  VARCHAR NOT NULL,
    check_name  VARCHAR,                    -- null: every check on the account
    created_at  TIMESTAMPTZ NOT NULL,
    ends_at     TIMESTAMPTZ NOT NULL,       -- expires on its own then
    created_by  VARCHAR NOT NULL,
    reason      VARCHAR NOT NULL,
    expired_at  TIMESTAMPTZ                 -- set when expired by hand before ends_at
);

-- Per-account thresholds as the policy gives them, rewritten before every check run.
CREATE TABLE IF NOT EXISTS account_policy (
    account_id                VARCHAR PRIMARY KEY,
    stale_warn_days           DOUBLE NOT NULL,
    stale_critical_days       DOUBLE NOT NULL,
    sla_hours                 DOUBLE NOT NULL,
    min_answered              INTEGER NOT NULL,
    unanswered_warn_hours     DOUBLE NOT NULL,
    unanswered_critical_hours DOUBLE NOT NULL,
    questions_only            BOOLEAN NOT NULL,       -- unanswered.needs_answer_only: count only messages needing an answer
    unreachable_failed_runs   INTEGER NOT NULL,
    staleness_clock           VARCHAR,                -- working | calendar: the days staleness counts
    response_clock            VARCHAR,                -- working | calendar: the hours sla_hours counts
    unanswered_clock          VARCHAR,                -- working | calendar: the hours the unanswered limits count
    token_env                 VARCHAR,                -- the variable naming the account's token (never its value)
    credentials_warn_days     DOUBLE                  -- credentials.warn_days: warn this long before a token expires
);
ALTER TABLE account_policy ADD COLUMN IF NOT EXISTS token_env VARCHAR;
ALTER TABLE account_policy ADD COLUMN IF NOT EXISTS credentials_warn_days DOUBLE;
ALTER TABLE account_policy ADD COLUMN IF NOT EXISTS staleness_clock VARCHAR;
ALTER TABLE account_policy ADD COLUMN IF NOT EXISTS response_clock VARCHAR;
ALTER TABLE account_policy ADD COLUMN IF NOT EXISTS unanswered_clock VARCHAR;

-- The run the checks are judging now (one row), so the judged sets can be plain views.
CREATE TABLE IF NOT EXISTS judging (
    run_id  VARCHAR NOT NULL,
    now     TIMESTAMPTZ NOT NULL             -- the run's clock (frozen with `custodian run --now`)
);

-- Accounts a check judges in the current run, with their thresholds. `judged_collected`
-- (the default): registered, not paused, fetched completely and validated. `judged_attempted`
-- (checks whose header says `judges: attempted`): every registered, unpaused account the run
-- tried, whatever came of it, except those the platform's budget deferred. A check reads
-- `judged`, which the runner points at the set its header names.
CREATE OR REPLACE VIEW judged_attempted AS
SELECT p.*, ar.status AS run_status
FROM account_policy p
JOIN accounts a ON a.account_id = p.account_id
JOIN account_runs ar ON ar.account_id = p.account_id AND ar.run_id = (SELECT max(run_id) FROM judging)
WHERE a.in_registry AND a.paused_reason IS NULL AND ar.status <> 'deferred';

CREATE OR REPLACE VIEW judged_collected AS
SELECT * FROM judged_attempted WHERE run_status = 'ok';

-- Ready-made views for analysts -------------------------------------------------------------

-- Each inbound message with the verdict that counts. needs_answer is the detector's verdict,
-- except that a message from an official account never needs an answer: from_official is true
-- when the author is the account itself or another registered account (its handle, or
-- handle@host of its api_base, as Mastodon writes a remote author). Rows stored before the
-- detector fall back to is_question.
CREATE OR REPLACE VIEW inbound_verdicts AS
WITH official AS (
    SELECT DISTINCT lower(handle) AS author FROM accounts WHERE handle IS NOT NULL
    UNION
    SELECT DISTINCT lower(handle) || '@' || lower(regexp_extract(api_base, '^https?://([^/:]+)', 1))
    FROM accounts WHERE handle IS NOT NULL
)
SELECT i.account_id, i.message_id, i.created_at, i.kind, i.author, i.url, i.text, i.post_id, i.is_question,
       (coalesce(i.from_official, false) OR o.author IS NOT NULL) AS from_official,
       coalesce(i.needs_answer, i.is_question) AND NOT (coalesce(i.from_official, false) OR o.author IS NOT NULL) AS needs_answer,
       CASE WHEN coalesce(i.from_official, false) OR o.author IS NOT NULL THEN 'from an official account'
            ELSE coalesce(i.needs_answer_reason, CASE WHEN i.is_question THEN 'question mark' ELSE 'no question mark' END)
       END AS needs_answer_reason
FROM inbound i LEFT JOIN official o ON o.author = lower(ltrim(i.author, '@'));

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
       (epoch(f.first_reply_at) - epoch(i.created_at)) / 3600.0 AS response_hours,
       i.needs_answer, i.needs_answer_reason, i.from_official
FROM inbound_verdicts i LEFT JOIN firsts f USING (account_id, message_id);

-- Each account's latest own post (not counting replies to others).
CREATE OR REPLACE VIEW latest_posts AS
SELECT account_id, max(created_at) AS latest_post_at, count(*) AS posts
FROM posts WHERE NOT is_reply GROUP BY account_id;

-- What each platform spent and deferred per run: the budgets' ledger (policy.yaml budgets:).
CREATE OR REPLACE VIEW budget_spend AS
SELECT ar.run_id, a.platform, min(ar.finished_at) AS spent_at,
       coalesce(sum(ar.requests), 0) AS requests, coalesce(sum(ar.units), 0) AS units,
       count(*) FILTER (ar.status NOT IN ('deferred', 'skipped')) AS accounts_read,
       count(*) FILTER (ar.status = 'deferred') AS accounts_deferred,
       count(*) FILTER (ar.status = 'skipped') AS accounts_skipped
FROM account_runs ar JOIN accounts a USING (account_id)
GROUP BY ar.run_id, a.platform;

CREATE OR REPLACE VIEW open_findings AS
SELECT * FROM findings WHERE state = 'open';

-- Silences in force at the judging run's clock.
CREATE OR REPLACE VIEW active_silences AS
SELECT s.* FROM silences s
WHERE s.expired_at IS NULL AND s.ends_at > coalesce((SELECT max(now) FROM judging), current_timestamp);

-- The thread an inbound message belongs to (see the view response_clocks below); the check run's
-- clocks (store_clocks.py) use it too.
CREATE OR REPLACE MACRO inbound_thread(kind, post_id, author, message_id) AS
    CASE WHEN kind IN ('direct', 'mention') OR post_id IS NULL
         THEN coalesce('author:' || author, 'message:' || message_id)  -- no author stored: its own thread
         ELSE 'post:' || post_id END;

-- Response clocks: one row per inbound message that starts a clock (Meta's rule, see
-- shared/reference/alerting.md). Messages are grouped into threads: the account's post they
-- hang under (thread_key 'post:<post_id>'), or for mentions and direct messages (and anything
-- without a post) their author ('author:<author>'). Within a thread, messages that need an
-- answer and those that do not are clocked apart, so a "thanks" never starts or holds a
-- question's clock; filter on needs_answer.
--   * A message starts a new clock when no clock is open in its thread and the thread has been
--     silent for 24 hours (no message of its kind, no reply from the account); the first
--     message of a thread always starts one.
--   * A clock is open from its first message until the account's first reply after it to a
--     message of the thread (of the clock's kind). Follow-ups while it is open ("any news?")
--     join it and never restart it, however late they come.
--   * A message within 24 hours after the account's reply continues that conversation: it
--     starts no clock of its own.
-- response_hours is in calendar hours. Working hours come from the working_hours(start, end,
-- account_id) UDF (flows/clock.py register_clock), which exists only on connections that
-- registered it: the checks call it; this view does not, so any reader can query it.
-- Computed with one sort of each thread's time line (a lag), then only for the messages after
-- silence an ASOF join to their first reply and a lag among them: no ASOF join of every message
-- (issue 9: about 15 % less CPU at 1 M messages than the former ASOF + two windows, same rows).
CREATE OR REPLACE VIEW response_clocks AS
WITH messages AS (  -- narrow: it is kept in memory for its three readers; the rest is joined to the clocks
    SELECT account_id, message_id, created_at, needs_answer, inbound_thread(kind, post_id, author, message_id) AS thread_key
    FROM inbound_verdicts
), own_replies AS (  -- the account's replies, in the thread and kind of the message each answers
    SELECT r.account_id, m.thread_key, m.needs_answer, r.reply_id, r.created_at
    FROM replies r JOIN messages m ON m.account_id = r.account_id AND m.message_id = r.in_reply_to_id
    WHERE r.created_at >= m.created_at
), events AS (  -- messages and replies of each thread on one time line (a reply after a message of its instant)
    SELECT account_id, thread_key, needs_answer, created_at, false AS is_reply, message_id AS event_id FROM messages
    UNION ALL
    SELECT account_id, thread_key, needs_answer, created_at, true, reply_id FROM own_replies
), after_silence AS (  -- messages 24 h after the thread's previous message or reply (or its first)
    SELECT account_id, thread_key, needs_answer, created_at, event_id AS message_id FROM (
        SELECT *, lag(created_at) OVER (PARTITION BY account_id, thread_key, needs_answer
                                        ORDER BY created_at, is_reply, event_id) AS previous_event_at
        FROM events)
    WHERE NOT is_reply AND coalesce(epoch(created_at) - epoch(previous_event_at) >= 86400, true)
), answered AS (  -- each with the account's first reply at or after it
    SELECT s.*, f.reply_id AS first_reply_id, f.created_at AS first_reply_at
    FROM after_silence s ASOF LEFT JOIN own_replies f
      ON f.account_id = s.account_id AND f.thread_key = s.thread_key AND f.needs_answer = s.needs_answer
     AND f.created_at >= s.created_at
), starts AS (  -- the first of its stretch: no earlier one, or the earlier one was answered before it came
    SELECT * FROM answered
    QUALIFY coalesce(lag(first_reply_at) OVER (PARTITION BY account_id, thread_key, needs_answer
                                               ORDER BY created_at, message_id) < created_at, true)
)
SELECT s.account_id, s.message_id, s.thread_key, m.kind, m.author, m.url, s.created_at,
       s.needs_answer, m.needs_answer_reason, m.from_official,
       s.first_reply_id, s.first_reply_at,
       (epoch(s.first_reply_at) - epoch(s.created_at)) / 3600.0 AS response_hours
FROM starts s JOIN inbound_verdicts m ON m.account_id = s.account_id AND m.message_id = s.message_id;

-- Analyst views: stable names and columns. Each has an example query that tests run. ---------

-- One row per response clock (response_clocks) of a message that needs an answer, with its first reply,
-- in both clocks: response_hours in calendar hours, working_hours in the account's working calendar
-- (from response_working_hours, written by the last check run; null while unanswered, or for a reply
-- the checks have not run over yet).
-- Example: SELECT account_id, median(response_hours) FROM response_times WHERE answered GROUP BY account_id;
-- Example: SELECT agency_id, median(response_hours) AS calendar_median, median(working_hours) AS working_median, quantile_cont(working_hours, 0.9) AS working_p90 FROM response_times WHERE answered GROUP BY agency_id;
CREATE OR REPLACE VIEW response_times AS
SELECT c.account_id, a.agency_id, c.message_id, c.kind, c.created_at, c.first_reply_at, c.first_reply_id,
       c.response_hours,                                   -- calendar hours to the first own reply
       c.first_reply_at IS NOT NULL AS answered, c.needs_answer_reason, c.url,
       w.working_hours                                     -- working hours to the first own reply
FROM response_clocks c JOIN accounts a USING (account_id)
LEFT JOIN response_working_hours w ON w.account_id = c.account_id AND w.message_id = c.message_id
                                  AND c.first_reply_at IS NOT NULL
WHERE c.needs_answer;

-- Posts, inbound messages, own replies and the median response per account and ISO week (Monday),
-- every week from the account's first activity to now, weeks without activity as zeros.
-- Example: SELECT week, sum(posts) FROM weekly_activity GROUP BY week ORDER BY week;
CREATE OR REPLACE VIEW weekly_activity AS
WITH activity AS (
    SELECT account_id, date_trunc('week', created_at) AS week, 1 AS post, 0 AS message, 0 AS reply, NULL::DOUBLE AS hours
    FROM posts WHERE NOT is_reply
    UNION ALL SELECT account_id, date_trunc('week', created_at), 0, 1, 0, response_hours FROM first_replies
    UNION ALL SELECT account_id, date_trunc('week', created_at), 0, 0, 1, NULL FROM replies
), span AS (
    SELECT account_id, min(week) AS first_week FROM activity GROUP BY account_id
), weeks AS (
    SELECT s.account_id, unnest(generate_series(s.first_week, date_trunc('week', now()), INTERVAL 7 DAY)) AS week
    FROM span s
)
SELECT w.account_id, a.agency_id, w.week::TIMESTAMPTZ AS week,
       coalesce(sum(x.post), 0)::BIGINT AS posts, coalesce(sum(x.message), 0)::BIGINT AS inbound,
       coalesce(sum(x.reply), 0)::BIGINT AS replies, median(x.hours) AS median_response_hours
FROM weeks w JOIN accounts a USING (account_id)
LEFT JOIN activity x ON x.account_id = w.account_id AND x.week = w.week
GROUP BY ALL;

-- Followers and engagement per own post, per account and week: the listening trend.
-- followers: the last profile snapshot of the week; engagement_per_post: mean likes + shares +
-- comments of the week's posts, from each post's latest metrics snapshot.
-- Example: SELECT account_id, week, followers, engagement_per_post FROM reach ORDER BY account_id, week;
CREATE OR REPLACE VIEW reach AS
WITH followers AS (
    SELECT account_id, date_trunc('week', fetched_at) AS week, arg_max(followers, fetched_at) AS followers
    FROM profile_snapshots GROUP BY ALL
), latest_metrics AS (
    SELECT account_id, post_id, arg_max(coalesce(likes, 0) + coalesce(shares, 0) + coalesce(comments, 0), fetched_at) AS engagement
    FROM post_metrics GROUP BY ALL
), engagement AS (
    SELECT p.account_id, date_trunc('week', p.created_at) AS week, count(*) AS posts, avg(m.engagement) AS engagement_per_post
    FROM posts p JOIN latest_metrics m USING (account_id, post_id) WHERE NOT p.is_reply GROUP BY ALL
)
SELECT account_id, week::TIMESTAMPTZ AS week, f.followers, e.posts AS posts_with_metrics, e.engagement_per_post
FROM followers f FULL JOIN engagement e USING (account_id, week);

-- Inbound messages still waiting for the account's first reply, oldest first.
-- Example: SELECT agency_id, count(*), max(waiting_hours) FROM unanswered_queue GROUP BY agency_id;
CREATE OR REPLACE VIEW unanswered_queue AS
SELECT f.account_id, a.agency_id, a.platform, f.message_id, f.kind, f.created_at, f.url, f.is_question,
       (epoch(now()) - epoch(f.created_at)) / 3600.0 AS waiting_hours
FROM first_replies f JOIN accounts a USING (account_id)
WHERE f.first_reply_at IS NULL AND a.in_registry AND a.paused_reason IS NULL
ORDER BY f.created_at;

-- Every finding with its events, oldest first: when it opened, worsened, was reminded, resolved.
-- Example: SELECT check_name, count(*) FILTER (kind = 'opened') FROM finding_history GROUP BY check_name;
CREATE OR REPLACE VIEW finding_history AS
SELECT f.finding_id, f.check_name, f.account_id, f.agency_id, f.platform, e.kind, e.severity,
       e.created_at AS event_at, f.state AS current_state, f.first_seen, f.resolved_at
FROM findings f JOIN alert_events e USING (finding_id)
ORDER BY e.created_at;

-- One row per account in the registry: its current state (last run outcome, latest own post,
-- display name and followers from the latest profile, open findings and the worst of them: critical | warning | paused | unread | unknown | healthy).
-- Example: SELECT worst_severity, count(*) FROM account_health GROUP BY worst_severity;
CREATE OR REPLACE VIEW account_health AS
WITH last_runs AS (
    SELECT * FROM account_runs QUALIFY row_number() OVER (PARTITION BY account_id ORDER BY finished_at DESC) = 1
), profiles AS (
    SELECT account_id, arg_max(followers, fetched_at) AS followers, arg_max(display_name, fetched_at) AS display_name
    FROM profile_snapshots GROUP BY account_id
), problems AS (
    SELECT account_id, count(*) AS open_findings,
           CASE WHEN bool_or(severity = 'critical') THEN 'critical' ELSE 'warning' END AS severity
    FROM open_findings GROUP BY account_id
)
SELECT a.account_id, a.agency_id, a.platform, a.handle, a.url, a.engagement, a.paused_reason,
       r.status AS last_status, r.finished_at AS last_checked_at, lp.latest_post_at,
       (epoch(now()) - epoch(lp.latest_post_at)) / 86400.0 AS days_since_post,
       fl.display_name, fl.followers, coalesce(p.open_findings, 0) AS open_findings,
       CASE WHEN p.severity IS NOT NULL THEN p.severity
            WHEN a.paused_reason IS NOT NULL THEN 'paused' WHEN r.status IS NULL THEN 'unknown'
            WHEN r.status <> 'ok' THEN 'unread' ELSE 'healthy' END AS worst_severity
FROM accounts a
LEFT JOIN last_runs r USING (account_id)
LEFT JOIN latest_posts lp USING (account_id)
LEFT JOIN profiles fl USING (account_id)
LEFT JOIN problems p USING (account_id)
WHERE a.in_registry;

-- One row per agency: the oversight team's scorecard. Response times over the last 30 days in both
-- clocks: median_/p90_response_hours in calendar hours, median_/p90_working_hours in working hours
-- (null where no answered clock has working hours yet). escalations_open: open findings whose
-- escalation has gone past its first step (findings.step >= 1: beyond the custodians, to the agency
-- or oversight).
-- Example: SELECT agency_id, critical, median_response_hours, unanswered FROM agency_scorecard ORDER BY critical DESC;
-- Example: SELECT agency_id, median_response_hours, median_working_hours, p90_working_hours, escalations_open FROM agency_scorecard ORDER BY escalations_open DESC;
CREATE OR REPLACE VIEW agency_scorecard AS
WITH answers AS (
    SELECT agency_id, median(response_hours) AS median_response_hours,
           quantile_cont(response_hours, 0.9) AS p90_response_hours,
           median(working_hours) AS median_working_hours,
           quantile_cont(working_hours, 0.9) AS p90_working_hours,
           avg(answered::INT) AS response_rate
    FROM response_times WHERE created_at >= now() - INTERVAL 30 DAY GROUP BY agency_id
), queue AS (
    SELECT agency_id, count(*) AS unanswered, max(waiting_hours) AS oldest_waiting_hours
    FROM unanswered_queue GROUP BY agency_id
), escalations AS (
    SELECT agency_id, count(*) AS escalations_open FROM open_findings WHERE step >= 1 GROUP BY agency_id
)
SELECT g.agency_id, g.name, g.timezone,
       count(s.account_id) AS accounts,
       count(*) FILTER (s.worst_severity = 'healthy') AS healthy,
       count(*) FILTER (s.worst_severity = 'warning') AS warning,
       count(*) FILTER (s.worst_severity = 'critical') AS critical,
       count(*) FILTER (s.worst_severity IN ('unread', 'unknown')) AS unread,
       count(*) FILTER (s.worst_severity = 'paused') AS paused,
       any_value(x.median_response_hours) AS median_response_hours,
       any_value(x.p90_response_hours) AS p90_response_hours,
       any_value(x.response_rate) AS response_rate,
       coalesce(any_value(q.unanswered), 0) AS unanswered,
       any_value(q.oldest_waiting_hours) AS oldest_waiting_hours,
       max(s.days_since_post) AS most_days_since_post,
       median(s.days_since_post) AS median_days_since_post,
       any_value(x.median_working_hours) AS median_working_hours,
       any_value(x.p90_working_hours) AS p90_working_hours,
       coalesce(any_value(e.escalations_open), 0) AS escalations_open
FROM agencies g LEFT JOIN account_health s USING (agency_id)
LEFT JOIN answers x USING (agency_id) LEFT JOIN queue q USING (agency_id) LEFT JOIN escalations e USING (agency_id)
WHERE g.in_registry
GROUP BY g.agency_id, g.name, g.timezone;
