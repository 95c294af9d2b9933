//! Recipients `apply` journals without sending: the holdout group (so reports can compare
//! the variants with it and a re-plan knows them), and those a frequency cap kept back (with
//! why; a later run checks the cap again).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::journal_writer::JournalWriter;
use super::now_ms;
use crate::im::types::Endpoint;
use crate::journal::{JournalError, JournalStore, SendRecord, SendState};
use crate::plan::caps::CapCheck;

/// Records queued at once.
const BATCH: usize = 1024;

/// The record of a recipient not sent to: held out, or capped because of `why`.
pub(super) fn unsent_record(
    campaign: &str,
    user_id: &str,
    state: SendState,
    why: Option<String>,
) -> SendRecord {
    let call_id = match state {
        SendState::Capped => "capped",
        _ => "holdout",
    };
    let mut record = SendRecord::intent(
        campaign,
        user_id,
        String::new(),
        Endpoint::SendMsg,
        call_id,
        (0, 0),
        now_ms(),
    );
    record.state = state;
    record.error_text = why;
    record
}

/// Collects unsent recipients from the planner's thread and hands them to the journal writer
/// in batches; what is left is written when it is dropped.
pub(super) struct UnsentWriter {
    campaign: String,
    writer: JournalWriter,
    batch: Vec<SendRecord>,
    /// Held-out recipients journaled by this run.
    pub(super) held_out: Arc<AtomicU64>,
}

impl UnsentWriter {
    pub(super) fn new(campaign: &str, writer: JournalWriter) -> UnsentWriter {
        UnsentWriter {
            campaign: campaign.to_owned(),
            writer,
            batch: Vec::new(),
            held_out: Arc::new(AtomicU64::new(0)),
        }
    }

    pub(super) fn held_out(&mut self, user_id: &str) {
        self.held_out.fetch_add(1, Ordering::Relaxed);
        self.add(unsent_record(
            &self.campaign,
            user_id,
            SendState::HeldOut,
            None,
        ));
    }

    pub(super) fn capped(&mut self, user_id: &str, why: String) {
        self.add(unsent_record(
            &self.campaign,
            user_id,
            SendState::Capped,
            Some(why),
        ));
    }

    fn add(&mut self, record: SendRecord) {
        self.batch.push(record);
        if self.batch.len() >= BATCH {
            self.flush();
        }
    }

    pub(super) fn flush(&mut self) {
        if !self.batch.is_empty() {
            self.writer.write(std::mem::take(&mut self.batch));
        }
    }
}

impl Drop for UnsentWriter {
    fn drop(&mut self) {
        self.flush();
    }
}

/// The frequency cap checked again as each call is about to go out: another campaign may have
/// reached its recipients since the planner looked. (Two runs that check one recipient in the
/// same few milliseconds, before either's intent is committed, can both send.)
pub(super) struct SendTimeCap {
    /// The cap; its query names the campaign, which it does not count.
    check: CapCheck,
    /// A read connection of the run's own, beside the journal writer's.
    journal: std::sync::Mutex<Box<dyn JournalStore>>,
    /// Recipients capped in this run, here and by the planner.
    pub(super) capped: Arc<AtomicU64>,
    /// Recipients on their way whose record is a send of other content (resent because it
    /// changed): kept back, they keep that record.
    changed: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl SendTimeCap {
    pub(super) fn new(
        check: CapCheck,
        journal: Box<dyn JournalStore>,
        capped: Arc<AtomicU64>,
    ) -> SendTimeCap {
        SendTimeCap {
            check,
            journal: std::sync::Mutex::new(journal),
            capped,
            changed: Default::default(),
        }
    }

    /// `user_id`, on its way, was sent other content before.
    pub(super) fn was_sent_before(&self, user_id: &str) {
        if let Ok(mut changed) = self.changed.lock() {
            changed.insert(user_id.to_owned());
        }
    }

    /// Takes out of `to` the recipients at the cap now and journals them (through `writer`);
    /// gives how many.
    pub(super) fn keep_back(
        &self,
        to: &mut Vec<String>,
        writer: &JournalWriter,
    ) -> Result<u64, JournalError> {
        let check = self.check.at(now_ms());
        let counts = {
            let journal = self.journal.lock().unwrap_or_else(|p| p.into_inner());
            let ids: Vec<&str> = to.iter().map(String::as_str).collect();
            check.counts(journal.as_ref(), &ids)?
        };
        let mut changed = self.changed.lock().unwrap_or_else(|p| p.into_inner());
        let (mut records, mut n) = (Vec::new(), 0);
        let mut counts = counts.into_iter();
        to.retain(|user_id| {
            let sent_before = !changed.is_empty() && changed.remove(user_id);
            match counts.next().and_then(|count| check.verdict(count)) {
                Some(why) => {
                    n += 1;
                    if !sent_before {
                        records.push(unsent_record(
                            &self.check.query.except_campaign,
                            user_id,
                            SendState::Capped,
                            Some(why),
                        ));
                    }
                    false
                }
                None => true,
            }
        });
        if n > 0 {
            self.capped.fetch_add(n, Ordering::Relaxed);
            if !records.is_empty() {
                writer.write(records);
            }
        }
        Ok(n)
    }
}
