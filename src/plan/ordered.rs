//! The ordered join: a campaign's records streamed in the order the store keeps them, merged
//! with the audience as it is read, where that order follows the audience's (a journal the
//! campaign's own runs wrote, in PostgreSQL).
//!
//! A keyed lookup costs the server an index descent per recipient; a stream in heap order
//! costs it a sequential read. The merge holds the records streamed ahead of the audience in
//! a bounded window; what it cannot tell (the window is full, the orders differ) is looked up
//! by key as before, so the result never depends on the order, only the speed does.

use std::collections::HashMap;

use super::prior::{Prior, prior_of};
use crate::journal::{JournalError, PlanRecords, RecordStream};

/// Records streamed ahead of the audience, at most: about 13 MB of them.
const AHEAD: usize = 65_536;

/// What the stream says of one recipient: `Some(prior)` (`Some(None)`: no record), or
/// `None` when only a keyed lookup can tell.
pub(super) type Known = Option<Option<Prior>>;

pub(super) struct OrderedJoin {
    records: RecordStream,
    /// The chunk being merged, and the next of its records.
    chunk: PlanRecords,
    at: usize,
    /// Records streamed that no recipient read so far claimed, by recipient.
    ahead: HashMap<String, Prior>,
    /// Every record was streamed.
    exhausted: bool,
    /// Recipients the stream answered, and those left to a keyed lookup.
    answered: u64,
    deferred: u64,
}

impl OrderedJoin {
    pub(super) fn new(records: RecordStream) -> OrderedJoin {
        OrderedJoin {
            records,
            chunk: PlanRecords::default(),
            at: 0,
            ahead: HashMap::new(),
            exhausted: false,
            answered: 0,
            deferred: 0,
        }
    }

    /// How the merge went, for `-v`.
    pub(super) fn summary(&self) -> String {
        format!(
            "ordered join: {} recipients answered by the journal's stream, {} looked up by key",
            self.answered, self.deferred
        )
    }

    /// What the stream tells of `user_id`, streaming ahead as far as the window allows.
    /// (The audience reader has dropped repeated recipients, so each claims a record once.)
    pub(super) fn find(&mut self, user_id: &str) -> Result<Known, JournalError> {
        let known = self.stream_to(user_id)?;
        match known {
            Some(_) => self.answered += 1,
            None => self.deferred += 1,
        }
        Ok(known)
    }

    fn stream_to(&mut self, user_id: &str) -> Result<Known, JournalError> {
        // In the audience's order (the rule) nothing waits, and nothing is hashed.
        if !self.ahead.is_empty()
            && let Some(prior) = self.ahead.remove(user_id)
        {
            return Ok(Some(Some(prior)));
        }
        while !self.exhausted && self.ahead.len() < AHEAD {
            let Some(record) = self.chunk.get(self.at) else {
                match self.records.next() {
                    Some(chunk) => {
                        self.chunk = chunk?;
                        self.at = 0;
                    }
                    None => self.exhausted = true,
                }
                continue;
            };
            self.at += 1;
            let prior = prior_of(record);
            if record.recipient == user_id {
                return Ok(Some(Some(prior)));
            }
            self.ahead.insert(record.recipient.to_owned(), prior);
        }
        // Once every record was streamed, one that is not in the window does not exist.
        Ok(self.exhausted.then_some(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{SendState, test_record};

    /// A stream of `ids`' records, two to a chunk (so that merges cross chunks).
    fn stream(ids: &[&str]) -> OrderedJoin {
        let chunks: Vec<_> = ids
            .chunks(2)
            .map(|pair| {
                let mut chunk = PlanRecords::default();
                for id in pair {
                    chunk.push(test_record(id, SendState::Sent).plan_view());
                }
                Ok(chunk)
            })
            .collect();
        OrderedJoin::new(Box::new(chunks.into_iter()))
    }

    fn found(known: Known) -> &'static str {
        match known {
            Some(Some(_)) => "found",
            Some(None) => "none",
            None => "look up",
        }
    }

    #[test]
    fn records_in_the_audiences_order_are_matched_and_the_rest_known_absent_once_all_streamed() {
        let mut join = stream(&["u1", "u2", "u4"]);
        let answers: Vec<_> = ["u1", "u2", "u3", "u4", "u5"]
            .iter()
            .map(|id| found(join.find(id).unwrap()))
            .collect();
        // u3 streams to the end (u4 waits in the window): then nobody else has a record.
        assert_eq!(answers, ["found", "found", "none", "found", "none"]);
    }

    #[test]
    fn out_of_order_records_wait_in_the_window_and_a_full_window_defers_to_a_keyed_lookup() {
        let mut ids: Vec<String> = (0..AHEAD + 10).map(|i| format!("u{i}")).collect();
        ids.reverse();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut join = stream(&refs);
        // u0 is the last record streamed: the window fills before it is reached.
        assert_eq!(found(join.find("u0").unwrap()), "look up");
        // The ones in the window are found there.
        assert_eq!(
            found(join.find(&format!("u{}", AHEAD + 9)).unwrap()),
            "found"
        );
        // A record is claimed once.
        assert_eq!(
            found(join.find(&format!("u{}", AHEAD + 9)).unwrap()),
            "look up"
        );
    }
}
