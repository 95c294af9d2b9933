//! A campaign's frequency cap as the planner and `apply` judge it: how many messages each
//! recipient got lately from the other campaigns in the journal, against the cap's `max`.

use crate::campaign::model::FrequencyCap;
use crate::journal::{CapQuery, JournalError, JournalStore};

/// The cap of one campaign at one instant.
#[derive(Debug, Clone)]
pub struct CapCheck {
    pub(crate) query: CapQuery,
    max: u32,
    per_ms: i64,
    per: String,
    text: String,
}

impl CapCheck {
    /// `campaign`'s cap, its window ending at `now_ms`.
    pub fn new(cap: &FrequencyCap, campaign: &str, now_ms: i64) -> CapCheck {
        let per_ms = i64::try_from(cap.per.get().as_millis()).unwrap_or(i64::MAX);
        CapCheck {
            query: CapQuery {
                since_ms: now_ms.saturating_sub(per_ms),
                except_campaign: campaign.to_owned(),
                tags: cap.tags.clone(),
            },
            max: cap.max,
            per_ms,
            per: cap.per.to_string(),
            text: cap.describe(),
        }
    }

    /// The same cap with its window ending at `now_ms` (`apply` checks again at each send).
    pub fn at(&self, now_ms: i64) -> CapCheck {
        let mut again = self.clone();
        again.query.since_ms = now_ms.saturating_sub(self.per_ms);
        again
    }

    /// Why a recipient who got `recent` messages in the window is not sent to, if they are not.
    pub fn verdict(&self, recent: u32) -> Option<String> {
        (recent >= self.max).then(|| {
            let messages = if recent == 1 { "message" } else { "messages" };
            format!(
                "{recent} {messages} from other campaigns in the last {} (cap {})",
                self.per, self.text
            )
        })
    }

    /// How many messages each of `recipients` got in the window, by index.
    pub fn counts(
        &self,
        journal: &dyn JournalStore,
        recipients: &[&str],
    ) -> Result<Vec<u32>, JournalError> {
        let mut counts = vec![0; recipients.len()];
        journal.recent_counts(recipients, &self.query, &mut |i, n| {
            if let Some(slot) = counts.get_mut(i) {
                *slot = n;
            }
        })?;
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::model::HumanDuration;

    #[test]
    fn a_recipient_at_the_cap_is_capped_with_the_reason() {
        let cap = FrequencyCap {
            max: 2,
            per: HumanDuration::from_secs(7 * 86_400),
            tags: vec!["promo".into()],
        };
        let check = CapCheck::new(&cap, "spring", 10 * 86_400_000);
        assert_eq!(check.query.since_ms, 3 * 86_400_000);
        assert_eq!(check.query.except_campaign, "spring");
        assert_eq!(check.verdict(1), None);
        assert_eq!(
            check.verdict(2).as_deref(),
            Some("2 messages from other campaigns in the last 7d (cap 2 per 7d, tagged promo)")
        );
        assert!(check.verdict(3).is_some());
        assert_eq!(check.at(11 * 86_400_000).query.since_ms, 4 * 86_400_000);
    }
}
