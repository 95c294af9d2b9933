//! What a settle did: every send's verdict, counted and grouped by reason for the summary.

use std::collections::BTreeMap;

use super::Verdict;
use crate::im::Endpoint;

/// One send settled (or not), for the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    pub recipient: String,
    pub endpoint: Endpoint,
    pub verdict: Verdict,
}

/// What a settle did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettleSummary {
    /// Every send looked at, in the journal's order.
    pub settled: Vec<Settled>,
    /// Why lookups stopped early (the lookup API refused for good, or a stop).
    pub stopped: Option<String>,
}

impl SettleSummary {
    fn count(&self, pick: fn(&Verdict) -> bool) -> u64 {
        self.settled.iter().filter(|s| pick(&s.verdict)).count() as u64
    }

    /// Settled as sent.
    pub fn sent(&self) -> u64 {
        self.count(|v| matches!(v, Verdict::Sent { .. }))
    }

    /// Settled as not sent (the plan sends them again).
    pub fn not_sent(&self) -> u64 {
        self.count(|v| matches!(v, Verdict::NotSent { .. }))
    }

    /// Still uncertain.
    pub fn undecided(&self) -> u64 {
        self.count(|v| matches!(v, Verdict::Undecided { .. }))
    }

    /// Whether any send changed state (the plan must be made again).
    pub fn changed(&self) -> bool {
        self.sent() + self.not_sent() > 0
    }

    /// The one-line result: `N settled as sent, M as not sent, K still uncertain`.
    pub fn line(&self) -> String {
        format!(
            "{} settled as sent, {} as not sent, {} still uncertain",
            self.sent(),
            self.not_sent(),
            self.undecided()
        )
    }

    /// The reasons sends stay uncertain, each with how many and an example recipient, most
    /// frequent first.
    pub fn undecided_reasons(&self) -> Vec<(String, u64, String)> {
        let mut by_reason: BTreeMap<String, (u64, String)> = BTreeMap::new();
        for s in &self.settled {
            if let Verdict::Undecided { why } = &s.verdict {
                let entry = by_reason
                    .entry(generic_reason(why))
                    .or_insert_with(|| (0, s.recipient.clone()));
                entry.0 += 1;
            }
        }
        let mut reasons: Vec<(String, u64, String)> = by_reason
            .into_iter()
            .map(|(why, (n, example))| (why, n, example))
            .collect();
        reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        reasons
    }
}

/// A reason without the parts that differ per send (dates), to group sends by it.
fn generic_reason(why: &str) -> String {
    match why.find(" (sent ") {
        Some(at) => why[..at].to_owned(),
        None => why.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_grouped_without_their_dates() {
        let undecided = |who: &str, why: &str| Settled {
            recipient: who.into(),
            endpoint: Endpoint::SendMsg,
            verdict: Verdict::Undecided { why: why.into() },
        };
        let summary = SettleSummary {
            settled: vec![
                undecided("a", "too old (sent 2020-01-01T00:00:00Z); pass x"),
                undecided("b", "too old (sent 2020-01-02T00:00:00Z); pass x"),
                undecided("c", "refused"),
                Settled {
                    recipient: "d".into(),
                    endpoint: Endpoint::SendMsg,
                    verdict: Verdict::NotSent { why: "x".into() },
                },
            ],
            stopped: None,
        };
        assert_eq!(
            summary.line(),
            "0 settled as sent, 1 as not sent, 3 still uncertain"
        );
        assert_eq!(
            summary.undecided_reasons(),
            vec![
                ("too old".to_owned(), 2, "a".to_owned()),
                ("refused".to_owned(), 1, "c".to_owned())
            ]
        );
        assert!(summary.changed());
    }
}
