//! The PostgreSQL schema: created and migrated by timcast, versioned, and a newer version than
//! this build knows is refused (it would misread or damage it).

use super::super::JournalError;
use super::connection::Connection;
use super::target::PgTarget;

/// The schema version this build writes.
pub(crate) const VERSION: i32 = crate::journal::SCHEMA_VERSION;

/// Migrations, in order: entry `i` moves a schema from version `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE sends (
    campaign      TEXT    NOT NULL,
    recipient     TEXT    NOT NULL,
    content_hash  TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('intent', 'sent', 'failed', 'uncertain', 'recalled')),
    endpoint      TEXT    NOT NULL,
    call_id       TEXT    NOT NULL,
    msg_random    BIGINT  NOT NULL,
    msg_seq       BIGINT  NOT NULL,
    msg_key       TEXT,
    msg_time      BIGINT,
    error_code    BIGINT,
    error_text    TEXT,
    error_class   TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    intent_at_ms  BIGINT  NOT NULL,
    updated_at_ms BIGINT  NOT NULL,
    PRIMARY KEY (campaign, recipient)
);
CREATE INDEX sends_by_call ON sends (campaign, call_id);
CREATE INDEX sends_by_recipient ON sends (recipient, intent_at_ms);
CREATE TABLE applied_plans (
    plan_id       TEXT PRIMARY KEY,
    campaign      TEXT NOT NULL,
    applied_at_ms BIGINT NOT NULL
);
CREATE TABLE runners (
    runner_id     TEXT PRIMARY KEY,
    sdkappid      BIGINT NOT NULL,
    campaign      TEXT NOT NULL,
    host          TEXT NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    heartbeat_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX runners_by_app ON runners (sdkappid, heartbeat_at);
"#,
    r#"
ALTER TABLE sends DROP CONSTRAINT sends_state_check;
ALTER TABLE sends ADD CONSTRAINT sends_state_check CHECK (state IN ('intent', 'sent', 'failed',
    'uncertain', 'recalled', 'held_out', 'capped'));
ALTER TABLE sends ADD COLUMN variant TEXT, ADD COLUMN locale TEXT;
CREATE TABLE campaign_tags (
    campaign TEXT NOT NULL,
    tag      TEXT NOT NULL,
    PRIMARY KEY (campaign, tag)
);
"#,
    // A campaign's records in the order they were written, for the planner's ordered join.
    r#"
CREATE INDEX IF NOT EXISTS sends_by_intent ON sends (campaign, intent_at_ms);
"#,
    // What a run checked of each campaign's inputs, for resumed runs; and the sends in flight
    // (a resumed run's first reads) without a scan of the campaign's records.
    r#"
CREATE INDEX IF NOT EXISTS sends_in_flight ON sends (campaign, intent_at_ms)
    WHERE state IN ('intent', 'uncertain');
CREATE TABLE checkpoints (
    campaign           TEXT   PRIMARY KEY,
    digest             TEXT   NOT NULL,
    settled_before_row BIGINT NOT NULL,
    shared             BYTEA  NOT NULL,
    checked_at_ms      BIGINT NOT NULL
);
"#,
    // Version 5 gives SQLite's table a rowid (the order records were first written);
    // PostgreSQL's heap and `sends_by_intent` already keep that order.
    "",
];

/// `schema` quoted as an identifier; only plain names are accepted, so nothing in a URL can
/// reach the SQL.
pub(crate) fn quoted(target: &PgTarget) -> Result<String, JournalError> {
    let name = target.schema();
    let plain = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if !plain {
        return Err(JournalError::PgUrl {
            location: target.redacted(),
            message: format!(
                "schema `{name}` is not a plain name (lower-case letters, digits and _, not starting with a digit)"
            ),
        });
    }
    Ok(format!("\"{name}\""))
}

/// The schema's version; `None` when timcast never created it. Also points the connection's
/// search path at the schema.
pub(crate) fn version(conn: &Connection, target: &PgTarget) -> Result<Option<i32>, JournalError> {
    let schema = quoted(target)?;
    let version = conn
        .run(move |c| {
            c.batch_execute(&format!("SET search_path TO {schema}"))?;
            let exists: bool = c
                .query_one("SELECT to_regclass('timcast_schema') IS NOT NULL", &[])?
                .try_get(0)?;
            if !exists {
                return Ok(None);
            }
            let version = c
                .query_opt("SELECT version FROM timcast_schema", &[])?
                .map(|row| row.try_get::<_, i32>(0))
                .transpose()?;
            Ok(Some(version.unwrap_or(0)))
        })?
        .map_err(|source| JournalError::Postgres {
            location: target.redacted(),
            error: source,
        })?;
    Ok(version)
}

/// Creates the schema and brings it to [`VERSION`]; refuses a newer one. Runners that start
/// together take turns (a transaction-scoped advisory lock).
pub(crate) fn migrate(conn: &Connection, target: &PgTarget) -> Result<(), JournalError> {
    let schema = quoted(target)?;
    let key = format!("timcast-migrate:{}", target.schema());
    let found = conn
        .run(move |c| -> Result<Result<(), i32>, postgres::Error> {
            let mut tx = c.transaction()?;
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                &[&key],
            )?;
            tx.batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {schema};
                 SET search_path TO {schema};
                 CREATE TABLE IF NOT EXISTS timcast_schema (version INTEGER NOT NULL);"
            ))?;
            let version = match tx.query_opt("SELECT version FROM timcast_schema", &[])? {
                Some(row) => row.try_get::<_, i32>(0)?,
                None => {
                    tx.execute("INSERT INTO timcast_schema (version) VALUES (0)", &[])?;
                    0
                }
            };
            if version > VERSION {
                return Ok(Err(version));
            }
            for step in MIGRATIONS
                .iter()
                .skip(usize::try_from(version).unwrap_or(0))
            {
                tx.batch_execute(step)?;
            }
            tx.execute("UPDATE timcast_schema SET version = $1", &[&VERSION])?;
            tx.commit()?;
            // The session's own path, beyond the transaction's.
            c.batch_execute(&format!("SET search_path TO {schema}"))?;
            Ok(Ok(()))
        })?
        .map_err(|source| JournalError::Postgres {
            location: target.redacted(),
            error: source,
        })?;
    found.map_err(|found| JournalError::TooNew {
        location: target.redacted(),
        found,
        known: VERSION,
    })
}
