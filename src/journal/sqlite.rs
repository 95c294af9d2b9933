//! The SQLite journal: a file (WAL) the user can open and query, and an OS file lock per
//! campaign beside it, so that a process killed with -9 releases its campaign. The keyed and
//! filtered reads are in [`lookup`].

mod caps;
mod checkpoint;
mod lookup;
mod schema;
mod written;

use std::fs::File;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::{
    COLUMNS, CampaignCounts, CampaignLock, CapQuery, Checkpoint, DELIVERED_STATES, JournalError,
    JournalStore, ON_CONFLICT_KEEP_LATEST, PlanRecord, RecentSend, SCHEMA_VERSION, SendRecord,
    SendState,
};
use crate::im::{Endpoint, ErrorClass};
pub(crate) use schema::MIGRATIONS;

/// The SQLite journal.
#[derive(Debug)]
pub struct SqliteJournal {
    conn: Connection,
    path: PathBuf,
}

impl SqliteJournal {
    /// Opens (creating if needed) the journal for writing, migrated to [`SCHEMA_VERSION`].
    pub fn open(path: &Path) -> Result<SqliteJournal, JournalError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| JournalError::CreateDir {
                path: dir.to_owned(),
                source,
            })?;
        }
        let journal = SqliteJournal::connect(path, OpenFlags::default())?;
        journal.configure()?;
        journal.migrate()?;
        Ok(journal)
    }

    /// Opens an existing journal for reading; `None` when there is none yet.
    pub fn open_existing(path: &Path) -> Result<Option<SqliteJournal>, JournalError> {
        if !path.exists() {
            return Ok(None);
        }
        let journal = SqliteJournal::connect(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        let version = journal.version()?;
        if version > SCHEMA_VERSION {
            return Err(JournalError::TooNew {
                location: path.display().to_string(),
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        if version < SCHEMA_VERSION {
            // An older journal: reading needs the current tables, so migrate it first.
            drop(journal);
            return SqliteJournal::open(path).map(Some);
        }
        Ok(Some(journal))
    }

    /// A connection to the database at `path`, opened with `flags`.
    fn connect(path: &Path, flags: OpenFlags) -> Result<SqliteJournal, JournalError> {
        let conn =
            Connection::open_with_flags(path, flags).map_err(|source| JournalError::Open {
                path: path.to_owned(),
                source,
            })?;
        rusqlite::vtab::array::load_module(&conn).map_err(|source| JournalError::Open {
            path: path.to_owned(),
            source,
        })?;
        Ok(SqliteJournal {
            conn,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn bad(&self, what: &'static str, value: &str) -> JournalError {
        JournalError::BadValue {
            location: self.path.display().to_string(),
            what,
            value: value.to_owned(),
        }
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> JournalError + '_ {
        |source| JournalError::Sql {
            path: self.path.clone(),
            source,
        }
    }

    /// A row of the columns [`RECORD_COLUMNS`] names, as a record.
    fn record(&self, row: &rusqlite::Row<'_>) -> Result<SendRecord, JournalError> {
        let state_text: String = row.get(3).map_err(self.sql())?;
        let state = SendState::parse(&state_text).ok_or_else(|| self.bad("state", &state_text))?;
        let endpoint_text: String = row.get(4).map_err(self.sql())?;
        let endpoint = Endpoint::from_path(&endpoint_text)
            .ok_or_else(|| self.bad("endpoint", &endpoint_text))?;
        let class_text: Option<String> = row.get(12).map_err(self.sql())?;
        let error_class = match class_text {
            None => None,
            Some(text) => {
                Some(ErrorClass::parse(&text).ok_or_else(|| self.bad("error class", &text))?)
            }
        };
        (|| {
            Ok::<_, rusqlite::Error>(SendRecord {
                campaign: row.get(0)?,
                recipient: row.get(1)?,
                content_hash: row.get(2)?,
                state,
                endpoint,
                call_id: row.get(5)?,
                msg_random: row.get(6)?,
                msg_seq: row.get(7)?,
                msg_key: row.get(8)?,
                msg_time: row.get(9)?,
                error_code: row.get(10)?,
                error_text: row.get(11)?,
                error_class,
                attempts: row.get(13)?,
                intent_at_ms: row.get(14)?,
                updated_at_ms: row.get(15)?,
                variant: row.get(16)?,
                locale: row.get(17)?,
            })
        })()
        .map_err(self.sql())
    }

    /// A row of [`crate::journal::PLAN_COLUMNS`], read in place.
    fn plan_row<'r>(&self, row: &'r rusqlite::Row<'_>) -> Result<PlanRecord<'r>, JournalError> {
        let text = |i: usize| -> Result<Option<&'r str>, JournalError> {
            match row.get_ref(i).map_err(self.sql())? {
                rusqlite::types::ValueRef::Null => Ok(None),
                value => value
                    .as_str()
                    .map(Some)
                    .map_err(|e| self.sql()(rusqlite::Error::from(e))),
            }
        };
        let state_text = text(2)?.unwrap_or_default();
        let state = SendState::parse(state_text).ok_or_else(|| self.bad("state", state_text))?;
        let endpoint_text = text(3)?.unwrap_or_default();
        let endpoint = Endpoint::from_path(endpoint_text)
            .ok_or_else(|| self.bad("endpoint", endpoint_text))?;
        let error_class = match text(6)? {
            None => None,
            Some(class) => {
                Some(ErrorClass::parse(class).ok_or_else(|| self.bad("error class", class))?)
            }
        };
        Ok(PlanRecord {
            recipient: text(0)?.unwrap_or_default(),
            content_hash: text(1)?.unwrap_or_default(),
            state,
            endpoint,
            error_code: row.get(4).map_err(self.sql())?,
            error_text: text(5)?,
            error_class,
            intent_at_ms: row.get(7).map_err(self.sql())?,
        })
    }

    /// A row of [`crate::journal::PLAN_COLUMNS`] as a record, the other fields empty.
    fn plan_record(&self, row: &rusqlite::Row<'_>) -> Result<SendRecord, JournalError> {
        self.plan_row(row).map(|r| r.to_record())
    }

    fn configure(&self) -> Result<(), JournalError> {
        // WAL: readers never block the writer; NORMAL sync is durable across process crashes.
        self.conn
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(self.sql())?;
        self.conn
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(self.sql())?;
        self.conn
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(self.sql())?;
        Ok(())
    }

    fn version(&self) -> Result<i32, JournalError> {
        self.conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(self.sql())
    }

    fn migrate(&self) -> Result<(), JournalError> {
        let found = self.version()?;
        if (1..SCHEMA_VERSION).contains(&found) {
            // Some steps copy every record: say why a large journal's first open waits.
            tracing::info!(
                "journal {}: upgrading it from schema version {found} to {SCHEMA_VERSION}, once",
                self.path.display()
            );
        }
        loop {
            let version = self.version()?;
            if version > SCHEMA_VERSION {
                return Err(JournalError::TooNew {
                    location: self.path.display().to_string(),
                    found: version,
                    known: SCHEMA_VERSION,
                });
            }
            if version == SCHEMA_VERSION {
                return Ok(());
            }
            // A version below 0 is no journal timcast wrote (the file's header says so).
            let Some(step) = usize::try_from(version)
                .ok()
                .and_then(|v| MIGRATIONS.get(v))
            else {
                return Err(self.bad("schema version", &version.to_string()));
            };
            // Two processes may open an old journal at once: the version is read again
            // under the write lock, so that each step runs once.
            self.conn
                .execute_batch("BEGIN IMMEDIATE")
                .map_err(self.sql())?;
            if self.version()? != version {
                self.conn.execute_batch("COMMIT").map_err(self.sql())?;
                continue;
            }
            let next = version + 1;
            let sql = format!("{step}; PRAGMA user_version = {next}; COMMIT;");
            if let Err(e) = self.conn.execute_batch(&sql) {
                let _ = self.conn.execute_batch("ROLLBACK");
                return Err(self.sql()(e));
            }
        }
    }
}

impl JournalStore for SqliteJournal {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    /// Calls `each` for every record of `campaign` (streamed, not collected).
    fn for_each_record(
        &self,
        campaign: &str,
        each: &mut dyn FnMut(SendRecord),
    ) -> Result<(), JournalError> {
        let mut statement = self
            .conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM sends WHERE campaign = ?1 ORDER BY intent_at_ms, recipient"
            ))
            .map_err(self.sql())?;
        let mut rows = statement.query(params![campaign]).map_err(self.sql())?;
        while let Some(row) = rows.next().map_err(self.sql())? {
            each(self.record(row)?);
        }
        Ok(())
    }

    /// Batches of [`lookup::BATCH`] recipients, each one query through a cached statement
    /// (see [`lookup`]).
    fn records_of(
        &self,
        campaign: &str,
        recipients: &[&str],
        each: &mut dyn FnMut(usize, SendRecord),
    ) -> Result<(), JournalError> {
        self.lookup(campaign, recipients, each)
    }

    fn plan_records_of(
        &self,
        campaign: &str,
        recipients: &[&str],
        each: &mut dyn FnMut(usize, SendRecord),
    ) -> Result<(), JournalError> {
        self.lookup_for_plan(campaign, recipients, each)
    }

    fn records_in_written_order(
        &self,
        campaign: &str,
        records: u64,
    ) -> Result<Option<super::RecordStream>, JournalError> {
        self.written_order(campaign, records)
    }

    fn for_each_recipient(
        &self,
        campaign: &str,
        each: &mut dyn FnMut(&str),
    ) -> Result<(), JournalError> {
        self.recipients(campaign, each)
    }

    fn count(&self, campaign: &str) -> Result<u64, JournalError> {
        self.count_records(campaign)
    }

    fn for_each_record_in(
        &self,
        campaign: &str,
        states: &[SendState],
        each: &mut dyn FnMut(SendRecord),
    ) -> Result<(), JournalError> {
        self.records_in(campaign, states, each)
    }

    /// Writes records (intents or outcomes) in one transaction: the latest state per recipient.
    fn upsert(&mut self, records: &[SendRecord]) -> Result<(), JournalError> {
        let path = self.path.clone();
        let sql = |source| JournalError::Sql {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        {
            let mut statement = tx
                .prepare_cached(&format!(
                    "INSERT INTO sends ({COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                             ?17, ?18)
                     {ON_CONFLICT_KEEP_LATEST}"
                ))
                .map_err(sql)?;
            for r in records {
                statement
                    .execute(params![
                        r.campaign,
                        r.recipient,
                        r.content_hash,
                        r.state.as_str(),
                        r.endpoint.path(),
                        r.call_id,
                        r.msg_random,
                        r.msg_seq,
                        r.msg_key,
                        r.msg_time,
                        r.error_code,
                        r.error_text,
                        r.error_class.map(ErrorClass::as_str),
                        r.attempts,
                        r.intent_at_ms,
                        r.updated_at_ms,
                        r.variant,
                        r.locale
                    ])
                    .map_err(sql)?;
            }
        }
        tx.commit().map_err(sql)
    }

    /// A short fingerprint of a campaign's records: any write changes it; none gives
    /// [`EMPTY_FINGERPRINT`].
    fn fingerprint(&self, campaign: &str) -> Result<String, JournalError> {
        self.conn
            .query_row(
                "SELECT count(*), coalesce(max(updated_at_ms), 0), coalesce(sum(updated_at_ms), 0),
                        coalesce(sum(attempts), 0)
                 FROM sends WHERE campaign = ?1",
                params![campaign],
                |row| {
                    Ok(format!(
                        "{}-{}-{}-{}",
                        row.get::<_, i64>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, i64>(2)?,
                        row.get::<_, i64>(3)?
                    ))
                },
            )
            .map_err(self.sql())
    }

    /// Sends to `recipient` from any campaign that went out (or may have: in flight,
    /// uncertain) since `since_ms`, oldest first: (campaign, content hash, time in ms).
    /// Official accounts' limits (2 broadcasts an hour) count these.
    fn sent_to_since(
        &self,
        recipient: &str,
        since_ms: i64,
    ) -> Result<Vec<RecentSend>, JournalError> {
        let mut statement = self
            .conn
            .prepare(&format!(
                "SELECT campaign, content_hash, intent_at_ms FROM sends
                 WHERE recipient = ?1 AND intent_at_ms >= ?2 AND state IN {DELIVERED_STATES}
                 ORDER BY intent_at_ms"
            ))
            .map_err(self.sql())?;
        let rows = statement
            .query_map(params![recipient, since_ms], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .map_err(self.sql())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.sql())
    }

    fn recent_counts(
        &self,
        recipients: &[&str],
        query: &CapQuery,
        each: &mut dyn FnMut(usize, u32),
    ) -> Result<(), JournalError> {
        self.recent(recipients, query, each)
    }

    fn set_tags(&mut self, campaign: &str, tags: &[String]) -> Result<(), JournalError> {
        self.replace_tags(campaign, tags)
    }

    fn all_tags(&self) -> Result<Vec<(String, String)>, JournalError> {
        self.tags()
    }

    /// Whether a saved plan was already applied (a plan can be applied once).
    fn plan_applied(&self, plan_id: &str) -> Result<bool, JournalError> {
        self.conn
            .query_row(
                "SELECT 1 FROM applied_plans WHERE plan_id = ?1",
                params![plan_id],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
            .map_err(self.sql())
    }

    /// Records that a saved plan was applied.
    fn mark_plan_applied(
        &self,
        plan_id: &str,
        campaign: &str,
        at_ms: i64,
    ) -> Result<(), JournalError> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO applied_plans (plan_id, campaign, applied_at_ms) VALUES (?1, ?2, ?3)",
                params![plan_id, campaign, at_ms],
            )
            .map(drop)
            .map_err(self.sql())
    }

    fn checkpoint(&self, campaign: &str) -> Result<Option<Checkpoint>, JournalError> {
        self.read_checkpoint(campaign)
    }

    fn save_checkpoint(&self, campaign: &str, checkpoint: &Checkpoint) -> Result<(), JournalError> {
        self.write_checkpoint(campaign, checkpoint)
    }

    fn advance_checkpoint(
        &self,
        campaign: &str,
        digest: &str,
        row: u64,
    ) -> Result<(), JournalError> {
        self.move_checkpoint(campaign, digest, row)
    }

    fn lock(&self, campaign: &str) -> Result<CampaignLock, JournalError> {
        FileLock::take(&self.path, campaign).map(CampaignLock::new)
    }

    fn campaigns(&self) -> Result<Vec<CampaignCounts>, JournalError> {
        let mut statement = self
            .conn
            .prepare(
                "SELECT campaign, state, count(*) FROM sends GROUP BY campaign, state
                 ORDER BY campaign, state",
            )
            .map_err(self.sql())?;
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                ))
            })
            .map_err(self.sql())?;
        let mut counted = Vec::new();
        for row in rows {
            let (campaign, state, n) = row.map_err(self.sql())?;
            let state = SendState::parse(&state).ok_or_else(|| self.bad("state", &state))?;
            counted.push((campaign, state, u64::try_from(n).unwrap_or(0)));
        }
        Ok(CampaignCounts::fold(counted))
    }

    fn applied_plans(&self) -> Result<Vec<(String, String, i64)>, JournalError> {
        let mut statement = self
            .conn
            .prepare("SELECT plan_id, campaign, applied_at_ms FROM applied_plans ORDER BY plan_id")
            .map_err(self.sql())?;
        let rows = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .map_err(self.sql())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.sql())
    }

    fn schema_version(&self) -> Result<i32, JournalError> {
        self.version()
    }
}

/// An exclusive lock on one campaign: two applies of it cannot run at once.
///
/// An OS file lock, so that a process killed with -9 releases it without a stale-lock dance.
#[derive(Debug)]
struct FileLock {
    _file: File,
}

impl FileLock {
    fn take(journal: &Path, campaign: &str) -> Result<FileLock, JournalError> {
        let name = format!(
            "{}.{}.lock",
            journal
                .file_name()
                .map_or("state.db".into(), |n| n.to_string_lossy()),
            campaign
        );
        let path = journal.with_file_name(name);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| JournalError::Lock {
                path: path.clone(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(FileLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(JournalError::Locked {
                campaign: campaign.to_owned(),
                location: path.display().to_string(),
            }),
            Err(std::fs::TryLockError::Error(source)) => Err(JournalError::Lock { path, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_versioned_and_newer_journals_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let journal = SqliteJournal::open(&path).unwrap();
        assert_eq!(journal.version().unwrap(), SCHEMA_VERSION);
        journal
            .conn
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(journal);
        assert!(matches!(
            SqliteJournal::open(&path),
            Err(JournalError::TooNew { .. })
        ));
    }
}
