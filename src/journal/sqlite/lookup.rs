//! The SQLite journal's keyed and filtered reads: the records of a batch of recipients (how
//! the planner joins an audience of millions to the journal without holding either), the
//! count of a campaign's records, and its records in some states only.
//!
//! A batch is one query through one cached statement: the batch's recipients, each once, as
//! an `rarray` table joined to the primary key, so a batch costs one descent per recipient
//! and one statement step loop (an `IN (...)` list costs SQLite an index built per batch).
//! A plan reads only the columns it weighs ([`PLAN_COLUMNS`]).

use rusqlite::params_from_iter;

use super::SqliteJournal;
use crate::journal::{BatchOrder, COLUMNS, JournalError, PLAN_COLUMNS, SendRecord, SendState};

/// Recipients per query.
pub(super) const BATCH: usize = 512;

impl SqliteJournal {
    /// [`crate::journal::JournalStore::records_of`]: whole records.
    pub(super) fn lookup(
        &self,
        campaign: &str,
        recipients: &[&str],
        each: &mut dyn FnMut(usize, SendRecord),
    ) -> Result<(), JournalError> {
        self.lookup_columns(COLUMNS, Self::record, campaign, recipients, each)
    }

    /// [`crate::journal::JournalStore::plan_records_of`]: what a plan reads.
    pub(super) fn lookup_for_plan(
        &self,
        campaign: &str,
        recipients: &[&str],
        each: &mut dyn FnMut(usize, SendRecord),
    ) -> Result<(), JournalError> {
        self.lookup_columns(PLAN_COLUMNS, Self::plan_record, campaign, recipients, each)
    }

    fn lookup_columns(
        &self,
        columns: &str,
        decode: fn(&Self, &rusqlite::Row<'_>) -> Result<SendRecord, JournalError>,
        campaign: &str,
        recipients: &[&str],
        each: &mut dyn FnMut(usize, SendRecord),
    ) -> Result<(), JournalError> {
        if recipients.is_empty() {
            return Ok(());
        }
        // The wanted recipients drive the join: one primary-key descent each, no index built.
        let mut statement = self
            .conn
            .prepare_cached(&format!(
                "SELECT {columns} FROM rarray(?1) AS wanted CROSS JOIN sends \
                 ON sends.campaign = ?2 AND sends.recipient = wanted.value"
            ))
            .map_err(self.sql())?;
        for (n, batch) in recipients.chunks(BATCH).enumerate() {
            let order = BatchOrder::new(batch, n * BATCH);
            // Each once: the join answers a recipient for every time it is wanted.
            let wanted: rusqlite::vtab::array::Array = std::rc::Rc::new(
                order
                    .distinct()
                    .map(|r| rusqlite::types::Value::Text(r.to_owned()))
                    .collect(),
            );
            let mut rows = statement
                .query(rusqlite::params![wanted, campaign])
                .map_err(self.sql())?;
            while let Some(row) = rows.next().map_err(self.sql())? {
                order.answer(decode(self, row)?, each);
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
    fn plan_records_of_carries_what_a_plan_weighs_and_leaves_the_rest_empty() {
        let mut failed = record("a", SendState::Failed);
        failed.error_code = Some(20003);
        failed.error_text = Some("no such account".into());
        failed.error_class = Some(crate::im::ErrorClass::PermanentRecipient);
        failed.msg_key = Some("key-a".into());
        let (_dir, journal) = journal_with(&[failed.clone(), record("b", SendState::Sent)]);
        let mut got = Vec::new();
        journal
            .plan_records_of("c", &["a", "x", "a"], &mut |i, r| got.push((i, r)))
            .unwrap();
        got.sort_by_key(|(i, _)| *i);
        let indexes: Vec<usize> = got.iter().map(|(i, _)| *i).collect();
        assert_eq!(indexes, [0, 2]);
        let (_, a) = &got[0];
        assert_eq!(
            (a.recipient.as_str(), a.content_hash.as_str(), a.state),
            ("a", "h", SendState::Failed)
        );
        assert_eq!(a.endpoint, failed.endpoint);
        assert_eq!(
            (a.error_code, a.error_text.as_deref(), a.error_class),
            (Some(20003), Some("no such account"), failed.error_class)
        );
        assert_eq!(a.intent_at_ms, failed.intent_at_ms);
        // What a plan does not read is not read.
        assert_eq!((a.call_id.as_str(), a.msg_key.as_deref()), ("", None));
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
