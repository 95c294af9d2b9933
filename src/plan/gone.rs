//! Recipients the journal says were sent (or recalled) who are gone from the audience now:
//! counted in full, with the first few by user ID as the plan's samples, without holding the
//! others.

use super::*;

/// Recipients gone from the audience in one state: how many, and the first few by user ID.
pub(super) struct Gone {
    pub(super) count: u64,
    pub(super) first: std::collections::BTreeSet<String>,
    keep: usize,
}

impl Gone {
    fn new(keep: usize) -> Gone {
        Gone {
            count: 0,
            first: std::collections::BTreeSet::new(),
            keep,
        }
    }

    fn add(&mut self, recipient: String) {
        self.count += 1;
        self.first.insert(recipient);
        if self.first.len() > self.keep {
            self.first.pop_last();
        }
    }
}

/// The recalled and the sent recipients of `campaign` that `reader` did not see, with `keep`
/// samples each: one read of the journal's sent and recalled records.
pub(super) fn read(
    journal: &dyn JournalStore,
    campaign: &str,
    reader: &Recipients,
    keep: usize,
) -> Result<(Gone, Gone), PlanError> {
    let mut removed = Gone::new(keep);
    let mut recalled = Gone::new(keep);
    journal.for_each_record_in(
        campaign,
        &[SendState::Sent, SendState::Recalled],
        &mut |record| {
            if reader.has_seen(audience::fingerprint(&record.recipient)) {
                return;
            }
            match record.state {
                SendState::Recalled => recalled.add(record.recipient),
                _ => removed.add(record.recipient),
            }
        },
    )?;
    Ok((recalled, removed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_by_name_are_kept_but_all_are_counted() {
        let mut gone = Gone::new(2);
        for name in ["d", "b", "e", "a", "c"] {
            gone.add(name.to_owned());
        }
        assert_eq!(gone.count, 5);
        assert_eq!(gone.first.into_iter().collect::<Vec<_>>(), ["a", "b"]);
        let mut none = Gone::new(0);
        none.add("x".into());
        assert_eq!((none.count, none.first.len()), (1, 0));
    }
}
