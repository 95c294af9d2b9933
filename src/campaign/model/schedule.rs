//! `schedule:`: when the campaign may be sent, and its daily window.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{TimeOfDay, Timestamp};

/// When the campaign may be sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Not before this time (RFC 3339 with offset, e.g. `2026-11-27T09:00:00+08:00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Timestamp>,
    /// Never after this time: `apply` refuses past it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<Timestamp>,
    /// A daily sending window; sending pauses outside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
}

/// A daily window in a time zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Start of the window, `HH:MM`.
    pub from: TimeOfDay,
    /// End of the window, `HH:MM`; `24:00` for midnight (before `from` means the window spans
    /// midnight).
    pub to: TimeOfDay,
    /// IANA time zone of the window, e.g. `Asia/Shanghai`.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Days of the week the window is open; every day when omitted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<Weekday>,
    /// A CSV column with each recipient's IANA time zone: their window is in their own zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_timezone_column: Option<String>,
}

fn default_timezone() -> String {
    "UTC".to_owned()
}

/// Days of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}
