//! Which recipients a campaign's journal may hold records of: a Bloom filter over their
//! fingerprints, from one scan of the campaign's recipients, so that the planner looks up by
//! key only those it may find.
//!
//! It pays where the journal holds far fewer records than the audience has rows (a resumed
//! run, a campaign whose audience grew): each row it rules out saves an index descent. About
//! 10 bits per record (1.25 MB for a million) and 1 % false positives, which are looked up.

use crate::journal::{JournalError, JournalStore};

/// Bit positions set per recipient.
const HASHES: u64 = 7;

pub(crate) struct Present {
    bits: Vec<u64>,
    /// The number of bits less one (a power of two).
    mask: u64,
}

impl Present {
    /// The filter of `campaign`'s recipients, sized for `records` of them.
    pub(crate) fn of(
        journal: &dyn JournalStore,
        campaign: &str,
        records: u64,
    ) -> Result<Present, JournalError> {
        let mut present = Present::with_capacity(records);
        journal.for_each_recipient(campaign, &mut |recipient| {
            present.insert(crate::audience::fingerprint(recipient));
        })?;
        Ok(present)
    }

    fn with_capacity(records: u64) -> Present {
        let bits = records.saturating_mul(10).max(64).next_power_of_two();
        Present {
            bits: vec![0; usize::try_from(bits / 64).unwrap_or(usize::MAX)],
            mask: bits - 1,
        }
    }

    fn insert(&mut self, print: u128) {
        for (word, bit) in positions(self.mask, print) {
            if let Some(w) = self.bits.get_mut(word) {
                *w |= bit;
            }
        }
    }

    /// False only for a recipient the journal has no record of.
    pub(crate) fn may_contain(&self, print: u128) -> bool {
        positions(self.mask, print)
            .all(|(word, bit)| self.bits.get(word).is_some_and(|w| w & bit != 0))
    }
}

/// The (word, bit) of each of a fingerprint's positions: double hashing over its two halves
/// (already independent hashes).
fn positions(mask: u64, print: u128) -> impl Iterator<Item = (usize, u64)> {
    let (a, b) = ((print >> 64) as u64, (print as u64) | 1);
    (0..HASHES).map(move |i| {
        let bit = a.wrapping_add(b.wrapping_mul(i)) & mask;
        (usize::try_from(bit / 64).unwrap_or(0), 1 << (bit % 64))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audience::fingerprint;

    #[test]
    fn every_recipient_put_in_is_found_and_few_others_are() {
        let mut present = Present::with_capacity(10_000);
        for i in 0..10_000 {
            present.insert(fingerprint(&format!("sent-{i}")));
        }
        assert!((0..10_000).all(|i| present.may_contain(fingerprint(&format!("sent-{i}")))));
        let false_positives = (0..10_000)
            .filter(|i| present.may_contain(fingerprint(&format!("new-{i}"))))
            .count();
        assert!(false_positives < 300, "{false_positives} of 10,000");
    }
}
