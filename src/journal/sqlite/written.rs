//! A campaign's records in the order they were first written, for the planner's ordered join
//! ([`JournalStore::records_in_written_order`](crate::journal::JournalStore)): a scan of the
//! table in rowid order on a connection and thread of their own, a few chunks ahead of the
//! planner.
//!
//! A scan reads every row of the table, so it is only worth it when the campaign holds most
//! of them; otherwise the planner looks its recipients up by key.

use super::SqliteJournal;
use crate::journal::chunks::{ChunkSender, ChunkStream};
use crate::journal::{JournalError, PLAN_COLUMNS, PlanRecords, RecordStream};

impl SqliteJournal {
    pub(super) fn written_order(
        &self,
        campaign: &str,
        records: u64,
    ) -> Result<Option<RecordStream>, JournalError> {
        // The largest rowid is the table's row count or more, read without a scan.
        let rows: i64 = self
            .conn
            .query_row("SELECT coalesce(max(rowid), 0) FROM sends", [], |row| {
                row.get(0)
            })
            .map_err(self.sql())?;
        let mine = i64::try_from(records).unwrap_or(i64::MAX);
        if mine == 0 || mine.saturating_mul(2) < rows {
            return Ok(None);
        }
        let Some(reader) = SqliteJournal::open_existing(&self.path)? else {
            return Ok(None);
        };
        let (mut sender, received) = ChunkSender::<PlanRecords>::channel();
        let campaign = campaign.to_owned();
        std::thread::Builder::new()
            .name("journal-stream".into())
            .spawn(move || {
                let streamed = (|| {
                    // NOT INDEXED: the table itself, in rowid order, never an index and a sort.
                    let mut statement = reader
                        .conn
                        .prepare(&format!(
                            "SELECT {PLAN_COLUMNS} FROM sends NOT INDEXED WHERE campaign = ?1 \
                             ORDER BY rowid"
                        ))
                        .map_err(reader.sql())?;
                    let mut rows = statement.query([&campaign]).map_err(reader.sql())?;
                    while let Some(row) = rows.next().map_err(reader.sql())? {
                        let record = reader.plan_row(row)?;
                        if !sender.push(|chunk: &mut PlanRecords| chunk.push(record)) {
                            break;
                        }
                    }
                    Ok(())
                })();
                sender.finish(streamed);
            })
            .map_err(|source| JournalError::Thread {
                path: self.path.clone(),
                source,
            })?;
        Ok(Some(Box::new(ChunkStream::new(received, ()))))
    }
}
