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
    status               VARCHAR NOT NULL,      -- running | collected | completed | failed (what it merged stays)
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
    needs_answer  BOOLEAN,                  -- the detector's verdict on the text (flows/detect/needs_answer.py),
                                            -- taken at merge time, before a direct message's text is dropped
    needs_answer_reason VARCHAR,            -- why: "question mark", "request or complaint 'ممكن'", "thanks or greeting only" …
    PRIMARY KEY (account_id, message_id)
);
ALTER TABLE inbound ADD COLUMN IF NOT EXISTS needs_answer BOOLEAN;  -- databases made before the detector;
ALTER TABLE inbound ADD COLUMN IF NOT EXISTS needs_answer_reason VARCHAR;  -- store.connect fills old rows

-- The account's own replies to inbound messages (child.parent = message and child.author = account).
CREATE TABLE IF NOT EXISTS replies (
    account_id     VARCHAR NOT NULL,
    reply_id       VARCHAR NOT NULL,
    in_reply_to_id VARCHAR NOT NULL,        -- inbound.message_id it answers
    created_at     TIMESTAMPTZ NOT NULL,
    url            VARCHAR,
    PRIMARY KEY (account_id, reply_id)
);

-- One finding per episode of a check on an account; its state lasts across runs.
CREATE TABLE IF NOT EXISTS findings (
    finding_id  VARCHAR PRIMARY KEY,        -- stable: '<check>:<account_id>:<first_seen ISO UTC>' (older rows: '<check>:<account_id>')
    check_name  VARCHAR NOT NULL,           -- staleness | response_time | unanswered | unreachable | …
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
    unanswered_clock          VARCHAR                 -- working | calendar: the hours the unanswered limits count
);
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
       o.author IS NOT NULL AS from_official,
       coalesce(i.needs_answer, i.is_question) AND o.author IS NULL AS needs_answer,
       CASE WHEN o.author IS NOT NULL THEN 'from an official account'
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

-- Silences in force at the judging run's clock.
CREATE OR REPLACE VIEW active_silences AS
SELECT s.* FROM silences s
WHERE s.expired_at IS NULL AND s.ends_at > coalesce((SELECT max(now) FROM judging), current_timestamp);

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
CREATE OR REPLACE VIEW response_clocks AS
WITH messages AS (
    SELECT account_id, message_id, created_at, kind, author, url, needs_answer, needs_answer_reason, from_official,
           CASE WHEN kind IN ('direct', 'mention') OR post_id IS NULL THEN 'author:' || coalesce(author, '')
                ELSE 'post:' || post_id END AS thread_key
    FROM inbound_verdicts
), own_replies AS (  -- the account's replies, in the thread and kind of the message each answers
    SELECT r.account_id, m.thread_key, m.needs_answer, r.reply_id, r.created_at,
           row_number() OVER (PARTITION BY r.account_id, m.thread_key, m.needs_answer ORDER BY r.created_at, r.reply_id) AS replies_so_far
    FROM replies r JOIN messages m ON m.account_id = r.account_id AND m.message_id = r.in_reply_to_id
    WHERE r.created_at >= m.created_at
), placed AS (  -- each message with the last reply before it and the message before it
    SELECT m.*, r.created_at AS last_reply_at, coalesce(r.replies_so_far, 0) AS segment,
           lag(m.created_at) OVER (PARTITION BY m.account_id, m.thread_key, m.needs_answer
                                   ORDER BY m.created_at, m.message_id) AS previous_at
    FROM messages m ASOF LEFT JOIN own_replies r
      ON r.account_id = m.account_id AND r.thread_key = m.thread_key AND r.needs_answer = m.needs_answer
     AND m.created_at > r.created_at
), qualified AS (
    SELECT *, coalesce(epoch(created_at) - epoch(greatest(previous_at, last_reply_at)) >= 86400, true) AS after_silence
    FROM placed
), starts AS (  -- the first message after 24 h of silence in each stretch between two replies
    SELECT * FROM qualified WHERE after_silence
    QUALIFY row_number() OVER (PARTITION BY account_id, thread_key, needs_answer, segment
                               ORDER BY created_at, message_id) = 1
)
SELECT s.account_id, s.message_id, s.thread_key, s.kind, s.author, s.url, s.created_at,
       s.needs_answer, s.needs_answer_reason, s.from_official,
       f.reply_id AS first_reply_id, f.created_at AS first_reply_at,
       (epoch(f.created_at) - epoch(s.created_at)) / 3600.0 AS response_hours
FROM starts s ASOF LEFT JOIN own_replies f
  ON f.account_id = s.account_id AND f.thread_key = s.thread_key AND f.needs_answer = s.needs_answer
 AND f.created_at >= s.created_at;
