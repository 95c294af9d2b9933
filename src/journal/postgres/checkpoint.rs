//! The PostgreSQL journal's [`Checkpoint`]s: one row per campaign.

use super::PgJournal;
use crate::journal::{Checkpoint, JournalError};

impl PgJournal {
    /// [`crate::journal::JournalStore::checkpoint`].
    pub(super) fn read_checkpoint(
        &self,
        campaign: &str,
    ) -> Result<Option<Checkpoint>, JournalError> {
        let campaign = campaign.to_owned();
        let row = self.run(move |c| {
            c.query_opt(
                "SELECT digest, settled_before_row, shared, checked_at_ms FROM checkpoints
                 WHERE campaign = $1",
                &[&campaign],
            )
        })?;
        row.map(|row| {
            Ok(Checkpoint {
                digest: row.try_get(0)?,
                settled_before_row: u64::try_from(row.try_get::<_, i64>(1)?).unwrap_or(0),
                shared: row.try_get(2)?,
                checked_at_ms: row.try_get(3)?,
            })
        })
        .transpose()
        .map_err(self.sql())
    }

    /// [`crate::journal::JournalStore::save_checkpoint`].
    pub(super) fn write_checkpoint(
        &self,
        campaign: &str,
        checkpoint: &Checkpoint,
    ) -> Result<(), JournalError> {
        let (campaign, checkpoint) = (campaign.to_owned(), checkpoint.clone());
        self.run(move |c| {
            c.execute(
                "INSERT INTO checkpoints (campaign, digest, settled_before_row, shared, checked_at_ms)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (campaign) DO UPDATE SET digest = EXCLUDED.digest,
                     settled_before_row = EXCLUDED.settled_before_row,
                     shared = EXCLUDED.shared, checked_at_ms = EXCLUDED.checked_at_ms",
                &[
                    &campaign,
                    &checkpoint.digest,
                    &i64::try_from(checkpoint.settled_before_row).unwrap_or(i64::MAX),
                    &checkpoint.shared,
                    &checkpoint.checked_at_ms,
                ],
            )
            .map(drop)
        })
    }

    /// [`crate::journal::JournalStore::advance_checkpoint`].
    pub(super) fn move_checkpoint(
        &self,
        campaign: &str,
        digest: &str,
        row: u64,
    ) -> Result<(), JournalError> {
        let (campaign, digest) = (campaign.to_owned(), digest.to_owned());
        let row = i64::try_from(row).unwrap_or(i64::MAX);
        self.run(move |c| {
            c.execute(
                "UPDATE checkpoints SET settled_before_row = $3 WHERE campaign = $1 AND digest = $2",
                &[&campaign, &digest, &row],
            )
            .map(drop)
        })
    }
}
