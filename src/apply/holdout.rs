//! The holdout group's records: `apply` journals every held-out recipient (never sent), so
//! reports can compare the variants with the control group and a re-plan knows them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::journal_writer::JournalWriter;
use super::now_ms;
use crate::im::types::Endpoint;
use crate::journal::{SendRecord, SendState};

/// Records queued at once.
const BATCH: usize = 1024;

/// Collects held-out recipients from the planner's thread and hands them to the journal
/// writer in batches; what is left is written when it is dropped.
pub(super) struct HoldoutWriter {
    campaign: String,
    writer: JournalWriter,
    batch: Vec<SendRecord>,
    /// Held-out recipients journaled by this run.
    pub(super) count: Arc<AtomicU64>,
}

impl HoldoutWriter {
    pub(super) fn new(campaign: &str, writer: JournalWriter) -> HoldoutWriter {
        HoldoutWriter {
            campaign: campaign.to_owned(),
            writer,
            batch: Vec::new(),
            count: Arc::new(AtomicU64::new(0)),
        }
    }

    pub(super) fn add(&mut self, user_id: &str) {
        let now = now_ms();
        let mut record = SendRecord::intent(
            &self.campaign,
            user_id,
            String::new(),
            Endpoint::SendMsg,
            "holdout",
            (0, 0),
            now,
        );
        record.state = SendState::HeldOut;
        self.batch.push(record);
        self.count.fetch_add(1, Ordering::Relaxed);
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

impl Drop for HoldoutWriter {
    fn drop(&mut self) {
        self.flush();
    }
}
