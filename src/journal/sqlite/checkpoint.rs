//! The SQLite journal's [`Checkpoint`]s: one row per campaign.

use rusqlite::{OptionalExtension, params};

use super::SqliteJournal;
use crate::journal::{Checkpoint, JournalError};

impl SqliteJournal {
    /// [`crate::journal::JournalStore::checkpoint`].
    pub(super) fn read_checkpoint(
        &self,
        campaign: &str,
    ) -> Result<Option<Checkpoint>, JournalError> {
        self.conn
            .query_row(
                "SELECT digest, settled_before_row, shared, checked_at_ms FROM checkpoints
                 WHERE campaign = ?1",
                params![campaign],
                |row| {
                    Ok(Checkpoint {
                        digest: row.get(0)?,
                        settled_before_row: u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0),
                        shared: row.get(2)?,
                        checked_at_ms: row.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(self.sql())
    }

    /// [`crate::journal::JournalStore::save_checkpoint`].
    pub(super) fn write_checkpoint(
        &self,
        campaign: &str,
        checkpoint: &Checkpoint,
    ) -> Result<(), JournalError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO checkpoints
                 (campaign, digest, settled_before_row, shared, checked_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    campaign,
                    checkpoint.digest,
                    i64::try_from(checkpoint.settled_before_row).unwrap_or(i64::MAX),
                    checkpoint.shared,
                    checkpoint.checked_at_ms
                ],
            )
            .map(drop)
            .map_err(self.sql())
    }

    /// [`crate::journal::JournalStore::advance_checkpoint`].
    pub(super) fn move_checkpoint(
        &self,
        campaign: &str,
        digest: &str,
        row: u64,
    ) -> Result<(), JournalError> {
        self.conn
            .execute(
                "UPDATE checkpoints SET settled_before_row = ?3 WHERE campaign = ?1 AND digest = ?2",
                params![campaign, digest, i64::try_from(row).unwrap_or(i64::MAX)],
            )
            .map(drop)
            .map_err(self.sql())
    }
}
