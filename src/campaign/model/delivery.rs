//! `delivery:` and `stream:`: how fast and how the sends go out.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Delivery: rates, batching, retries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    /// API calls per second, per API. The documented default limit is 200.
    #[serde(default = "default_rate")]
    pub rate: f64,
    /// Batch sends count each recipient; the documented default limit is 12000 a minute.
    #[serde(default = "default_recipients_per_minute")]
    pub recipients_per_minute: u32,
    /// Calls in flight at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: u32,
    /// `auto`: one `batchsendmsg` (up to 500) for recipients whose rendered message is identical.
    #[serde(default)]
    pub batch: BatchMode,
    /// Attempts per send before it is recorded as failed.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// A send in flight when a previous run died, outside the server's duplicate window.
    #[serde(default)]
    pub on_uncertain: OnUncertain,
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            rate: default_rate(),
            recipients_per_minute: default_recipients_per_minute(),
            concurrency: default_concurrency(),
            batch: BatchMode::default(),
            max_attempts: default_max_attempts(),
            on_uncertain: OnUncertain::default(),
        }
    }
}

/// The documented default call rate per API.
pub const DOCUMENTED_RATE: f64 = 200.0;
/// The documented default batch-recipient rate per minute.
pub const DOCUMENTED_RECIPIENTS_PER_MINUTE: u32 = 12_000;

fn default_rate() -> f64 {
    DOCUMENTED_RATE
}
fn default_recipients_per_minute() -> u32 {
    DOCUMENTED_RECIPIENTS_PER_MINUTE
}
fn default_concurrency() -> u32 {
    32
}
fn default_max_attempts() -> u32 {
    5
}

/// Whether identical rendered messages are grouped into batch sends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BatchMode {
    /// Group identical messages into `batchsendmsg` calls of up to 500.
    #[default]
    Auto,
    /// One `sendmsg` per recipient.
    Off,
}

/// What happens to a send whose outcome is unknown after a crash, past the duplicate window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnUncertain {
    /// Skip it and report it (it may have been delivered).
    #[default]
    Skip,
    /// Send it again (it may arrive twice).
    Resend,
}

/// Chatbot streaming: the rendered text goes out in chunks through `send_stream_msg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stream {
    /// Characters per chunk.
    #[serde(default = "default_chunk_chars")]
    pub chunk_chars: u32,
    /// Pause between chunks, in milliseconds.
    #[serde(default = "default_interval_ms")]
    pub interval_ms: u64,
}

fn default_chunk_chars() -> u32 {
    40
}
fn default_interval_ms() -> u64 {
    80
}
