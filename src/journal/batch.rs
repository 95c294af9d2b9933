//! How a keyed read of a batch of recipients hands each record back at the indexes that
//! named it, whatever order the store answers in.

use super::SendRecord;

/// A batch's recipients sorted by name with their indexes in the caller's list: a record read
/// back answers every index that named it (a recipient named twice is answered twice).
pub(crate) struct BatchOrder<'a>(Vec<(&'a str, usize)>);

impl<'a> BatchOrder<'a> {
    /// The recipients of `batch`, which starts at index `offset` of the caller's list.
    pub(crate) fn new(batch: &[&'a str], offset: usize) -> BatchOrder<'a> {
        let mut order: Vec<(&str, usize)> = batch
            .iter()
            .enumerate()
            .map(|(i, r)| (*r, offset + i))
            .collect();
        order.sort_unstable();
        BatchOrder(order)
    }

    /// Each recipient once, in order.
    pub(crate) fn distinct(&self) -> impl Iterator<Item = &'a str> + '_ {
        let mut last = None;
        self.0
            .iter()
            .map(|(r, _)| *r)
            .filter(move |r| last.replace(*r) != Some(*r))
    }

    /// The entries that named `recipient`.
    fn named(&self, recipient: &str) -> &[(&'a str, usize)] {
        let from = self.0.partition_point(|(r, _)| *r < recipient);
        let to = self.0.partition_point(|(r, _)| *r <= recipient);
        self.0.get(from..to).unwrap_or_default()
    }

    /// The indexes that named `recipient`.
    pub(crate) fn indexes_of(&self, recipient: &str) -> impl Iterator<Item = usize> + '_ {
        self.named(recipient).iter().map(|(_, i)| *i)
    }

    /// Hands `record` to `each` at every index that named its recipient.
    pub(crate) fn answer(&self, record: SendRecord, each: &mut dyn FnMut(usize, SendRecord)) {
        let Some(((_, last), repeats)) = self.named(&record.recipient).split_last() else {
            return;
        };
        // A recipient named once (the rule) is handed over without a copy.
        for (_, i) in repeats {
            each(*i, record.clone());
        }
        each(*last, record);
    }
}
