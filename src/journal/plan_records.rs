//! A chunk of records as a plan reads them ([`PLAN_COLUMNS`](super::PLAN_COLUMNS)), packed:
//! their texts share one buffer, so that streaming a campaign of millions costs an allocation
//! per chunk rather than a few per record, and the planner reads them in place.

use std::ops::Range;

use super::SendState;
use crate::im::{Endpoint, ErrorClass};

/// Records of one campaign, in the order they were streamed.
#[derive(Debug, Default)]
pub struct PlanRecords {
    text: String,
    rows: Vec<Packed>,
}

#[derive(Debug)]
struct Packed {
    recipient: Range<usize>,
    content_hash: Range<usize>,
    error_text: Option<Range<usize>>,
    state: SendState,
    endpoint: Endpoint,
    error_code: Option<i64>,
    error_class: Option<ErrorClass>,
    intent_at_ms: i64,
}

/// One record of a [`PlanRecords`], read in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanRecord<'a> {
    pub recipient: &'a str,
    pub content_hash: &'a str,
    pub state: SendState,
    pub endpoint: Endpoint,
    pub error_code: Option<i64>,
    pub error_text: Option<&'a str>,
    pub error_class: Option<ErrorClass>,
    pub intent_at_ms: i64,
}

impl PlanRecords {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub(crate) fn push(&mut self, record: PlanRecord<'_>) {
        let mut keep = |text: &str| {
            let from = self.text.len();
            self.text.push_str(text);
            from..self.text.len()
        };
        let recipient = keep(record.recipient);
        let content_hash = keep(record.content_hash);
        let error_text = record.error_text.map(keep);
        self.rows.push(Packed {
            recipient,
            content_hash,
            error_text,
            state: record.state,
            endpoint: record.endpoint,
            error_code: record.error_code,
            error_class: record.error_class,
            intent_at_ms: record.intent_at_ms,
        });
    }

    /// The records, in order.
    pub fn iter(&self) -> impl Iterator<Item = PlanRecord<'_>> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// The record at `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<PlanRecord<'_>> {
        let row = self.rows.get(i)?;
        let text = |range: &Range<usize>| self.text.get(range.clone()).unwrap_or_default();
        Some(PlanRecord {
            recipient: text(&row.recipient),
            content_hash: text(&row.content_hash),
            state: row.state,
            endpoint: row.endpoint,
            error_code: row.error_code,
            error_text: row.error_text.as_ref().map(text),
            error_class: row.error_class,
            intent_at_ms: row.intent_at_ms,
        })
    }
}

impl PlanRecord<'_> {
    /// As a whole record: what a plan reads, the other fields empty.
    pub(crate) fn to_record(self) -> super::SendRecord {
        super::SendRecord {
            campaign: String::new(),
            recipient: self.recipient.to_owned(),
            content_hash: self.content_hash.to_owned(),
            state: self.state,
            endpoint: self.endpoint,
            call_id: String::new(),
            msg_random: 0,
            msg_seq: 0,
            msg_key: None,
            msg_time: None,
            error_code: self.error_code,
            error_text: self.error_text.map(str::to_owned),
            error_class: self.error_class,
            attempts: 0,
            intent_at_ms: self.intent_at_ms,
            updated_at_ms: 0,
            variant: None,
            locale: None,
        }
    }
}

impl super::SendRecord {
    /// What a plan reads of the record.
    pub fn plan_view(&self) -> PlanRecord<'_> {
        PlanRecord {
            recipient: &self.recipient,
            content_hash: &self.content_hash,
            state: self.state,
            endpoint: self.endpoint,
            error_code: self.error_code,
            error_text: self.error_text.as_deref(),
            error_class: self.error_class,
            intent_at_ms: self.intent_at_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::test_record;

    #[test]
    fn records_read_back_as_they_were_pushed() {
        let mut failed = test_record("u2", SendState::Failed);
        failed.error_code = Some(20003);
        failed.error_text = Some("no such account".into());
        failed.error_class = Some(ErrorClass::PermanentRecipient);
        let sent = test_record("u1", SendState::Sent);
        let mut chunk = PlanRecords::default();
        chunk.push(sent.plan_view());
        chunk.push(failed.plan_view());
        assert_eq!(chunk.len(), 2);
        assert_eq!(chunk.get(0), Some(sent.plan_view()));
        assert_eq!(chunk.get(1), Some(failed.plan_view()));
        assert_eq!(chunk.get(2), None);
    }
}
