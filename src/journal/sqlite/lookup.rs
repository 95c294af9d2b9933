//! The SQLite journal's keyed and filtered reads: the records of a batch of recipients (how
//! the planner joins an audience of millions to the journal without holding either), the
//! count of a campaign's records, and its records in some states only.
//!
//! A batch is one `IN (...)` query over the primary key (campaign, recipient), through one
//! cached statement, so a batch costs one statement step loop rather than one bind, step and
//! reset per recipient. Short batches are padded with their last recipient, so that every
//! batch runs the same statement (SQLite answers a value repeated in an `IN` list once).

use rusqlite::params_from_iter;

use super::SqliteJournal;
use crate::journal::{BatchOrder, COLUMNS, JournalError, SendRecord, SendState};

/// Recipients per query.
pub(super) const BATCH: usize = 512;

impl SqliteJournal {
    /// [`crate::journal::JournalStore::records_of`].
    pub(super) fn lookup(
        &self,
        campaign: &str,
        recipients: &[&str],
        each: &mut dyn FnMut(usize, SendRecord),
    ) -> Result<(), JournalError> {
        if recipients.is_empty() {
            return Ok(());
        }
        let placeholders = vec!["?"; BATCH].join(", ");
        let mut statement = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM sends WHERE campaign = ? AND recipient IN ({placeholders})"
            ))
            .map_err(self.sql())?;
        for (n, batch) in recipients.chunks(BATCH).enumerate() {
            let order = BatchOrder::new(batch, n * BATCH);
            let last = batch.last().copied().unwrap_or_default();
            let values = std::iter::once(campaign)
                .chain(batch.iter().copied())
                .chain(std::iter::repeat_n(last, BATCH - batch.len()));
            let mut rows = statement
                .query(params_from_iter(values))
                .map_err(self.sql())?;
            while let Some(row) = rows.next().map_err(self.sql())? {
                order.answer(self.record(row)?, each);
            }
        }
        Ok(())
    }

    /// [`crate::journal::JournalStore::for_each_recipient`]: the primary key's range of the
    /// campaign, the recipient read in place.
    pub(super) fn recipients(
        &self,
        campaign: &str,
        each: &mut dyn FnMut(&str),
    ) -> Result<(), JournalError> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT recipient FROM sends WHERE campaign = ?1")
            .map_err(self.sql())?;
        let mut rows = statement.query([campaign]).map_err(self.sql())?;
        while let Some(row) = rows.next().map_err(self.sql())? {
            let recipient = row.get_ref(0).map_err(self.sql())?;
            let recipient = recipient
                .as_str()
                .map_err(|e| self.sql()(rusqlite::Error::from(e)))?;
            each(recipient);
        }
        Ok(())
    }

    /// [`crate::journal::JournalStore::count`]: SQLite counts through the smallest index
    /// that covers the campaign.
    pub(super) fn count_records(&self, campaign: &str) -> Result<u64, JournalError> {
        self.conn
            .query_row(
                "SELECT count(*) FROM sends WHERE campaign = ?1",
                [campaign],
                |row| row.get::<_, i64>(0),
            )
            .map(|n| u64::try_from(n).unwrap_or_default())
            .map_err(self.sql())
    }

    /// [`crate::journal::JournalStore::for_each_record_in`]: only the matching rows are read
    /// into records.
    pub(super) fn records_in(
        &self,
        campaign: &str,
        states: &[SendState],
        each: &mut dyn FnMut(SendRecord),
    ) -> Result<(), JournalError> {
        if states.is_empty() {
            return Ok(());
        }
        let placeholders = vec!["?"; states.len()].join(", ");
        let mut statement = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM sends WHERE campaign = ? AND state IN ({placeholders})
                 ORDER BY intent_at_ms, recipient"
            ))
            .map_err(self.sql())?;
        let values = std::iter::once(campaign).chain(states.iter().map(|s| s.as_str()));
        let mut rows = statement
            .query(params_from_iter(values))
            .map_err(self.sql())?;
        while let Some(row) = rows.next().map_err(self.sql())? {
            each(self.record(row)?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::JournalStore;
    use crate::journal::test_record as record;

    fn journal_with(records: &[SendRecord]) -> (tempfile::TempDir, SqliteJournal) {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = SqliteJournal::open(&dir.path().join("state.db")).unwrap();
        journal.upsert(records).unwrap();
        (dir, journal)
    }

    fn answers(journal: &SqliteJournal, campaign: &str, ids: &[&str]) -> Vec<(usize, String)> {
        let mut found = Vec::new();
        journal
            .records_of(campaign, ids, &mut |i, r| found.push((i, r.recipient)))
            .unwrap();
        found.sort();
        found
    }

    #[test]
    fn records_of_answers_the_journaled_recipients_at_every_index_they_are_named() {
        let mut sent = record("a", SendState::Sent);
        sent.msg_key = Some("key-a".into());
        let (_dir, journal) = journal_with(&[sent.clone(), record("c", SendState::Failed)]);
        assert_eq!(
            answers(&journal, "c", &["a", "b", "c", "a", "missing"]),
            [(0, "a".into()), (2, "c".into()), (3, "a".into())]
        );
        // The whole record, not just its state.
        let mut got = Vec::new();
        journal
            .records_of("c", &["a"], &mut |_, r| got.push(r))
            .unwrap();
        assert_eq!(got, [sent]);
        assert!(answers(&journal, "other", &["a", "c"]).is_empty());
        assert!(answers(&journal, "c", &[]).is_empty());
    }

    #[test]
    fn records_of_spans_batches_with_the_right_indexes() {
        // Every third of 1,300 recipients journaled: three batches, the last one short.
        let records: Vec<SendRecord> = (0..1300)
            .filter(|i| i % 3 == 0)
            .map(|i| record(&format!("u{i}"), SendState::Sent))
            .collect();
        let (_dir, journal) = journal_with(&records);
        let names: Vec<String> = (0..1300).rev().map(|i| format!("u{i}")).collect();
        let ids: Vec<&str> = names.iter().map(String::as_str).collect();
        let found = answers(&journal, "c", &ids);
        assert_eq!(found.len(), records.len());
        for (i, who) in &found {
            assert_eq!(&ids[*i], who);
        }
        // The provided states_of rides on it.
        let mut states = 0;
        journal
            .states_of("c", &ids, &mut |i, s| {
                assert_eq!(s, SendState::Sent);
                assert_eq!(
                    ids[i].trim_start_matches('u').parse::<u32>().unwrap() % 3,
                    0
                );
                states += 1;
            })
            .unwrap();
        assert_eq!(states, records.len());
    }

    #[test]
    fn count_and_records_in_see_only_their_campaign_and_states() {
        let mut elsewhere = record("x", SendState::Intent);
        elsewhere.campaign = "other".into();
        let (_dir, journal) = journal_with(&[
            record("a", SendState::Sent),
            record("b", SendState::Intent),
            record("c", SendState::Uncertain),
            record("d", SendState::Recalled),
            elsewhere,
        ]);
        assert_eq!(journal.count("c").unwrap(), 4);
        assert_eq!(journal.count("nothing").unwrap(), 0);
        let mut in_flight = Vec::new();
        journal
            .for_each_record_in("c", &[SendState::Intent, SendState::Uncertain], &mut |r| {
                in_flight.push(r.recipient)
            })
            .unwrap();
        in_flight.sort();
        assert_eq!(in_flight, ["b", "c"]);
        let mut none = 0;
        journal
            .for_each_record_in("c", &[], &mut |_| none += 1)
            .unwrap();
        assert_eq!(none, 0);
    }
}
