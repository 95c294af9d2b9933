//! Frequency caps and tags: how many messages a recipient may get from all campaigns in the
//! journal over a while, and the labels a cap can count by.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::HumanDuration;

/// At most `max` messages in any `per` from the campaigns in the journal (those with one of
/// `tags`, when given): a recipient who already got that many is not sent this campaign now
/// (`capped`), and a later run checks again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FrequencyCap {
    /// Most messages a recipient may have had in `per`, not counting this campaign.
    pub max: u32,
    /// The window counted back from the moment of the send: `7d`, `24h`.
    pub per: HumanDuration,
    /// Count only campaigns carrying one of these `tags` (every campaign when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

impl FrequencyCap {
    /// How the cap reads in plans and journal records: `1 per 7d, tagged promo`.
    pub fn describe(&self) -> String {
        let mut text = format!("{} per {}", self.max, self.per);
        if !self.tags.is_empty() {
            text.push_str(&format!(", tagged {}", self.tags.join(" or ")));
        }
        text
    }
}
