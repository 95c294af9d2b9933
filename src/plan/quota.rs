//! An official account's documented limits — at most 2 broadcasts an hour, identical content
//! dropped within 5 minutes — judged from the journal in one place, so that `plan` and
//! `apply` say the same thing.

use crate::journal::{JournalError, JournalStore, RecentSend};

/// Broadcasts an official account may make per hour.
pub const OFFICIAL_ACCOUNT_BROADCASTS_PER_HOUR: usize = 2;
/// The window in which an official account drops identical content.
pub const OFFICIAL_ACCOUNT_DUPLICATE_WINDOW_MS: i64 =
    crate::apply::OFFICIAL_DEDUP_WINDOW.as_millis() as i64;
const HOUR_MS: i64 = 3_600_000;

/// What the journal says about an account's last hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourQuota {
    account: String,
    recent: Vec<RecentSend>,
    now_ms: i64,
}

impl HourQuota {
    pub fn read(
        journal: &dyn JournalStore,
        account: &str,
        now_ms: i64,
    ) -> Result<HourQuota, JournalError> {
        Ok(HourQuota {
            account: account.to_owned(),
            recent: journal.sent_to_since(account, now_ms - HOUR_MS)?,
            now_ms,
        })
    }

    /// When the hour frees a broadcast again; `None` while one is free.
    pub fn full_until_ms(&self) -> Option<i64> {
        let n = self.recent.len();
        (n >= OFFICIAL_ACCOUNT_BROADCASTS_PER_HOUR)
            .then(|| self.recent[n - OFFICIAL_ACCOUNT_BROADCASTS_PER_HOUR].2 + HOUR_MS)
    }

    /// Why a broadcast is held back now, the same words for `plan` and `apply`.
    pub fn held_back(&self) -> Option<String> {
        let until = self.full_until_ms()?;
        Some(format!(
            "{} already broadcast {} times in the last hour ({}); the API allows \
             {OFFICIAL_ACCOUNT_BROADCASTS_PER_HOUR} an hour, so apply holds it back: run again \
             after {}",
            self.account,
            self.recent.len(),
            self.recent
                .iter()
                .map(|r| clock(r.2))
                .collect::<Vec<_>>()
                .join(", "),
            clock(until)
        ))
    }

    /// Seconds until a broadcast is free again (0 when one is).
    pub fn wait_seconds(&self) -> f64 {
        self.full_until_ms().map_or(0.0, |until| {
            ((until - self.now_ms) as f64 / 1000.0).max(0.0)
        })
    }

    /// The latest send of one of `hashes` inside the duplicate window: (campaign, time).
    pub fn duplicate_of(&self, hashes: &[&str]) -> Option<(String, i64)> {
        self.recent
            .iter()
            .rev()
            .find(|(_, hash, when)| {
                hashes.contains(&hash.as_str())
                    && self.now_ms - when < OFFICIAL_ACCOUNT_DUPLICATE_WINDOW_MS
            })
            .map(|(campaign, _, when)| (campaign.clone(), *when))
    }
}

/// A journal time as a clock time, for messages.
pub fn clock(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(ages_min: &[i64]) -> HourQuota {
        let now_ms = 10 * HOUR_MS;
        HourQuota {
            account: "@TOA#news".into(),
            recent: ages_min
                .iter()
                .map(|m| ("c".to_owned(), "h".to_owned(), now_ms - m * 60_000))
                .collect(),
            now_ms,
        }
    }

    #[test]
    fn the_hour_is_full_after_two_broadcasts_and_frees_an_hour_after_the_older() {
        assert_eq!(quota(&[30]).held_back(), None);
        let full = quota(&[50, 10]);
        assert_eq!(full.full_until_ms(), Some(full.now_ms + 10 * 60_000));
        assert!((full.wait_seconds() - 600.0).abs() < 1e-9);
        let said = full.held_back().unwrap_or_default();
        assert!(said.contains("2 times in the last hour"), "{said}");
        assert!(said.contains("run again after 10:10:00 UTC"), "{said}");
    }

    #[test]
    fn identical_content_within_five_minutes_is_a_duplicate() {
        assert_eq!(
            quota(&[4]).duplicate_of(&["h"]).map(|d| d.0),
            Some("c".into())
        );
        assert_eq!(quota(&[6]).duplicate_of(&["h"]), None);
        assert_eq!(quota(&[4]).duplicate_of(&["other"]), None);
    }
}
