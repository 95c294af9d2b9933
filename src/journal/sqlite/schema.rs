//! The SQLite journal's schema, as the steps that build it: a journal of any older version
//! is brought up to date one step at a time, each in its own transaction.

/// Migrations, in order: entry `i` moves a journal from version `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE sends (
    campaign      TEXT    NOT NULL,
    recipient     TEXT    NOT NULL,
    content_hash  TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('intent', 'sent', 'failed', 'uncertain', 'recalled')),
    endpoint      TEXT    NOT NULL,
    call_id       TEXT    NOT NULL,
    msg_random    INTEGER NOT NULL,
    msg_seq       INTEGER NOT NULL,
    msg_key       TEXT,
    msg_time      INTEGER,
    error_code    INTEGER,
    error_text    TEXT,
    error_class   TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    intent_at_ms  INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (campaign, recipient)
) WITHOUT ROWID;
CREATE INDEX sends_by_call ON sends (campaign, call_id);
CREATE TABLE applied_plans (
    plan_id       TEXT PRIMARY KEY,
    campaign      TEXT NOT NULL,
    applied_at_ms INTEGER NOT NULL
);
"#,
    r#"
CREATE TABLE sends_v2 (
    campaign      TEXT    NOT NULL,
    recipient     TEXT    NOT NULL,
    content_hash  TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('intent', 'sent', 'failed', 'uncertain', 'recalled', 'held_out', 'capped')),
    endpoint      TEXT    NOT NULL,
    call_id       TEXT    NOT NULL,
    msg_random    INTEGER NOT NULL,
    msg_seq       INTEGER NOT NULL,
    msg_key       TEXT,
    msg_time      INTEGER,
    error_code    INTEGER,
    error_text    TEXT,
    error_class   TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    intent_at_ms  INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    variant       TEXT,
    locale        TEXT,
    PRIMARY KEY (campaign, recipient)
) WITHOUT ROWID;
INSERT INTO sends_v2 (campaign, recipient, content_hash, state, endpoint, call_id, msg_random,
    msg_seq, msg_key, msg_time, error_code, error_text, error_class, attempts, intent_at_ms,
    updated_at_ms)
SELECT campaign, recipient, content_hash, state, endpoint, call_id, msg_random, msg_seq, msg_key,
    msg_time, error_code, error_text, error_class, attempts, intent_at_ms, updated_at_ms
FROM sends;
DROP TABLE sends;
ALTER TABLE sends_v2 RENAME TO sends;
CREATE INDEX sends_by_call ON sends (campaign, call_id);
CREATE INDEX sends_by_recipient ON sends (recipient, intent_at_ms);
CREATE TABLE campaign_tags (
    campaign TEXT NOT NULL,
    tag      TEXT NOT NULL,
    PRIMARY KEY (campaign, tag)
) WITHOUT ROWID;
"#,
    // Version 3 indexes PostgreSQL's records by intent time, for the planner's ordered join.
    // SQLite keeps a campaign's records in recipient order and looks them up by key instead.
    "",
    // Version 4: what a run checked of each campaign's inputs, for resumed runs.
    r#"
CREATE TABLE checkpoints (
    campaign           TEXT    PRIMARY KEY,
    digest             TEXT    NOT NULL,
    settled_before_row INTEGER NOT NULL,
    shared             BLOB    NOT NULL,
    checked_at_ms      INTEGER NOT NULL
);
"#,
    // Version 5: a rowid table, so that the rowid is the order records were first written,
    // which follows the audience's: a plan streams a campaign's records in that order and
    // merges them with the audience instead of looking every recipient up. The primary key
    // becomes an index. Older records are copied in intent order.
    r#"
CREATE TABLE sends_v5 (
    campaign      TEXT    NOT NULL,
    recipient     TEXT    NOT NULL,
    content_hash  TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('intent', 'sent', 'failed', 'uncertain', 'recalled', 'held_out', 'capped')),
    endpoint      TEXT    NOT NULL,
    call_id       TEXT    NOT NULL,
    msg_random    INTEGER NOT NULL,
    msg_seq       INTEGER NOT NULL,
    msg_key       TEXT,
    msg_time      INTEGER,
    error_code    INTEGER,
    error_text    TEXT,
    error_class   TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    intent_at_ms  INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    variant       TEXT,
    locale        TEXT,
    PRIMARY KEY (campaign, recipient)
);
INSERT INTO sends_v5 (campaign, recipient, content_hash, state, endpoint, call_id, msg_random,
    msg_seq, msg_key, msg_time, error_code, error_text, error_class, attempts, intent_at_ms,
    updated_at_ms, variant, locale)
SELECT campaign, recipient, content_hash, state, endpoint, call_id, msg_random, msg_seq, msg_key,
    msg_time, error_code, error_text, error_class, attempts, intent_at_ms, updated_at_ms,
    variant, locale
FROM sends ORDER BY campaign, intent_at_ms, recipient;
DROP TABLE sends;
ALTER TABLE sends_v5 RENAME TO sends;
CREATE INDEX sends_by_call ON sends (campaign, call_id);
CREATE INDEX sends_by_recipient ON sends (recipient, intent_at_ms);
"#,
];
