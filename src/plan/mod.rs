//! The plan: every recipient rendered and checked, grouped into API calls, and compared with
//! what the journal says was already sent. `plan` prints it; `apply` executes it.
//!
//! Recipients stream through: rows are read in chunks, joined to the journal a chunk at a time
//! (keyed lookups, [`JournalStore::records_of`]) and rendered on every core, and folded into
//! counts, samples and previews, so a plan of ten million rows needs no more memory than one
//! fingerprint per recipient, however large the journal.

pub mod against;
pub(crate) mod assign;
mod builder;
pub mod caps;
mod gone;
mod ordered;
mod pipeline;
mod present;
mod prior;

pub mod online;
pub mod output;
pub mod quota;
pub mod request;
pub mod saved;
mod shared;

pub(crate) use assign::holds_out;
pub use assign::{LocaleCount, VariantCount};
pub use builder::{build, build_counts, build_sends, build_with};
pub use quota::OFFICIAL_ACCOUNT_BROADCASTS_PER_HOUR;
pub use shared::SharedContent;
use shared::prefix_of;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde::Serialize;

use crate::audience::{self, AudienceError, RecipientRow, Recipients, RowOutcome};
use crate::campaign::model::{BadRowPolicy, BatchMode, Schedule};
use crate::campaign::{LoadedCampaign, checks};
use crate::im::types::{self as api, Endpoint, MAX_BATCH_RECIPIENTS, MAX_MESSAGE_BYTES};
use crate::journal::{JournalError, JournalStore, SendState, State};
use crate::render::{RenderFailure, RenderedMessage, RendererError};
use request::{ContentFacts, ContentHasher, RequestSettings};

/// Messages above this size draw a warning: older documents give 8 KB as the limit.
pub const OLD_MESSAGE_LIMIT_BYTES: usize = 8 * 1024;
/// Rows per chunk handed to the rendering threads.
const CHUNK_ROWS: usize = 4096;

/// How one recipient compares with the journal.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum DiffState {
    /// Never sent: will be sent.
    New,
    /// Failed before with a retryable error: will be sent again.
    Retry,
    /// In flight when a run died: outcome unknown.
    Uncertain,
    /// Sent before with different content: not resent unless asked.
    Changed,
    /// Sent before with this content: skipped.
    Unchanged,
    /// Failed before for good (unknown account, blocked, refused): not resent.
    Failed,
    /// In the holdout (control) group: journaled, never sent.
    HeldOut,
    /// Reached the frequency cap: not sent now (a later run checks again).
    Capped,
    /// Sent before, no longer in the audience (`recall` can withdraw it).
    Removed,
    /// Sent, then withdrawn by `recall`: not resent.
    Recalled,
}

impl DiffState {
    pub const ALL: [DiffState; 10] = [
        DiffState::New,
        DiffState::Retry,
        DiffState::Uncertain,
        DiffState::Changed,
        DiffState::Unchanged,
        DiffState::Failed,
        DiffState::HeldOut,
        DiffState::Capped,
        DiffState::Removed,
        DiffState::Recalled,
    ];

    /// The mark in the first column of a diff.
    pub fn symbol(self) -> &'static str {
        match self {
            DiffState::New => "+",
            DiffState::Retry => "↻",
            DiffState::Uncertain => "?",
            DiffState::Changed => "~",
            DiffState::Unchanged => "=",
            DiffState::Failed => "!",
            DiffState::HeldOut => "○",
            DiffState::Capped => "⊘",
            DiffState::Removed => "-",
            DiffState::Recalled => "⌫",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DiffState::New => "send",
            DiffState::Retry => "retry (failed before, retryable)",
            DiffState::Uncertain => "uncertain (in flight when a run stopped)",
            DiffState::Changed => "changed since sent (not resent)",
            DiffState::Unchanged => "already sent",
            DiffState::Failed => "failed permanently (not resent)",
            DiffState::HeldOut => "held out (the control group: never sent)",
            DiffState::Capped => "capped (frequency cap reached: not sent now)",
            DiffState::Removed => "removed from the audience (already sent)",
            DiffState::Recalled => "recalled (withdrawn after it was sent; not resent)",
        }
    }
}

/// What the user asked `plan` to consider.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// The journal to diff against (read if it exists).
    pub state: State,
    /// Count `~` changed recipients as sends.
    pub resend_changed: bool,
    /// Count `?` uncertain recipients as sends.
    pub resend_uncertain: bool,
    /// Count failures with an error code timcast does not know as `↻` retries.
    pub retry_unknown: bool,
    /// Sample rows kept per diff state.
    pub samples: usize,
    /// Distinct rendered messages kept as previews.
    pub previews: usize,
    /// Rendering threads (0: one per core).
    pub threads: usize,
    /// The instant recipients' windows and duplicate windows are judged at; `None` leaves
    /// out the counts that need it (`apply` judges each send when it goes out).
    pub now: Option<jiff::Timestamp>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            state: State::sqlite(crate::journal::DEFAULT_PATH),
            resend_changed: false,
            resend_uncertain: false,
            retry_unknown: false,
            samples: 5,
            previews: 3,
            threads: 0,
            now: Some(jiff::Timestamp::now()),
        }
    }
}

/// Why a plan could not be made at all.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Audience(#[from] AudienceError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Renderer(#[from] RendererError),
    #[error("{0}")]
    Campaign(String),
}

/// Who the campaign reaches.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AudienceKind {
    Csv {
        path: PathBuf,
    },
    OfficialAccount {
        account: String,
        subscribers: Option<u64>,
    },
}

/// Counts of the audience as read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AudienceSummary {
    #[serde(flatten)]
    pub kind: AudienceKind,
    /// Data rows read (the header not counted).
    pub rows: u64,
    /// Distinct recipients.
    pub recipients: u64,
    pub duplicates: u64,
    /// On the campaign's own suppression lists (`audience.exclude`).
    pub excluded: u64,
    /// On the project's (timcast.toml `suppress`) and not the campaign's: a recipient on
    /// both is counted once, in `excluded`.
    pub suppressed: u64,
    pub bad_rows: u64,
    pub render_errors: u64,
}

/// A row that cannot be sent, with what to do about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowProblem {
    /// CSV row (the header is row 1); absent for an official account.
    pub row: Option<u64>,
    pub user_id: Option<String>,
    pub message: String,
}

/// One recipient shown as an example of its diff state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    pub row: Option<u64>,
    pub user_id: String,
    /// For `↻` and `!`: the earlier error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// One distinct rendered message and how many recipients get it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Preview {
    pub recipients: u64,
    pub example_user_id: String,
    pub content_hash: String,
    pub text: String,
    #[serde(skip)]
    pub message: RenderedMessage,
}

/// Calls to one API and the recipients they carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CallCount {
    pub calls: u64,
    pub recipients: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The journal a plan was compared with.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JournalRead {
    /// Relative to the working directory when inside it.
    pub path: String,
    /// Whether the file existed (a new journal knows nothing).
    pub exists: bool,
    /// Recipients of this campaign it recorded.
    pub records: u64,
}

/// Who the message comes from and how it is delivered, as `plan` shows it before a send.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MessageSettings {
    /// The sender (`From_Account`), the official account, or `None` for the app admin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    /// `MsgLifeTime` (`0` is online only).
    pub lifetime: String,
    /// The offline push: `off`, `on` (IM's default notification) or `on: TITLE`.
    pub push: String,
}

impl MessageSettings {
    pub(crate) fn of(campaign: &crate::campaign::model::Campaign) -> MessageSettings {
        let push = match &campaign.push {
            Some(push) if !push.enabled => "off".to_owned(),
            Some(push) => match (&push.title, &push.desc) {
                (Some(title), _) => format!("on: {title}"),
                (None, Some(desc)) => format!("on: {desc}"),
                (None, None) => "on".to_owned(),
            },
            None if campaign.controls.online_only => "off (online only)".to_owned(),
            None => "on (IM's default notification)".to_owned(),
        };
        let lifetime = if campaign.controls.online_only {
            "online only".to_owned()
        } else if campaign.controls.lifetime.as_secs() == 0 {
            "0 (online only)".to_owned()
        } else {
            campaign.controls.lifetime.to_string()
        };
        MessageSettings {
            sender: campaign
                .sender
                .clone()
                .or_else(|| campaign.audience.official_account.clone()),
            lifetime,
            push,
        }
    }
}

/// The plan: counts, samples and previews (never the whole audience).
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub campaign: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub campaign_file: PathBuf,
    /// The campaign's schedule in one line (`schedule::describe`), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Sender, lifetime and offline push.
    pub message: MessageSettings,
    /// The journal the diff read.
    pub journal: JournalRead,
    pub audience: AudienceSummary,
    /// Recipients per diff state.
    pub states: BTreeMap<DiffState, u64>,
    /// Sends this plan will make (recipients).
    pub pending: u64,
    /// `?` recipients that `apply` resends, identically, because their interrupted send is
    /// still inside the server's duplicate window (not in `pending`).
    #[serde(skip_serializing_if = "is_zero")]
    pub resends_in_window: u64,
    /// With recipients' own windows: how many of the sends are inside their window now (a
    /// `--limit` canary takes only these).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inside_window_now: Option<u64>,
    /// API calls to make, per API.
    pub calls: BTreeMap<Endpoint, CallCount>,
    pub estimated_seconds: f64,
    pub warnings: Vec<String>,
    /// Rows that cannot be sent (samples; the counts are in `audience`).
    pub problems: Vec<RowProblem>,
    /// Whether the problems stop the plan (`on_bad_row: fail`).
    pub blocked: bool,
    pub samples: BTreeMap<DiffState, Vec<Sample>>,
    pub previews: Vec<Preview>,
    /// Which pending recipients share a message (for batching).
    #[serde(skip)]
    pub shared: SharedContent,
    /// The row of the first recipient the journal does not settle whatever their message
    /// ([`build_sends`] starts there: the rows before it have nothing to send).
    #[serde(skip)]
    pub first_unsettled_row: Option<u64>,
    /// Recipients [`build_counts`] counted by their record alone (not rendered).
    #[serde(skip)]
    pub counted_by_record: u64,
    /// Whether `pending` is an estimate (a run resumed at the journal's checkpoint).
    #[serde(skip)]
    pub pending_is_estimate: bool,
    /// With `--against` / `--against-git`: what changed since that version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<against::CampaignChanges>,
    /// Recipients per undocumented error code they failed with, and that this plan does not
    /// resend (no `--retry-unknown`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub unknown_codes: BTreeMap<i64, u64>,
    /// With `--online`: what was checked against the API, and what it found.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub online: Vec<String>,
    /// Why the schedule lets nothing be sent any more (`not_after` passed): `apply` refuses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed: Option<String>,
    /// With `variants`: each one's recipients (the holdout not counted) and a preview.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<VariantCount>,
    /// With `locales`: recipients per translation actually used (`default` for the rest).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub locales: Vec<LocaleCount>,
}

impl Plan {
    /// Recipients `apply` sends to: the pending ones and the identical resends.
    pub fn sends(&self) -> u64 {
        self.pending + self.resends_in_window
    }

    /// Marks the plan as one that sends nothing, because the schedule says so at `now`.
    pub(crate) fn close_for_schedule(&mut self, schedule: Option<&Schedule>, now: jiff::Timestamp) {
        let Some(schedule) = schedule else { return };
        if let crate::schedule::Gate::Closed { reason } =
            crate::schedule::gate(Some(&crate::schedule::campaign_wide(schedule)), now, None)
        {
            self.pending = 0;
            self.resends_in_window = 0;
            self.estimated_seconds = 0.0;
            self.closed = Some(reason);
        }
    }

    pub fn count(&self, state: DiffState) -> u64 {
        self.states.get(&state).copied().unwrap_or(0)
    }

    pub fn total_calls(&self) -> u64 {
        self.calls.values().map(|c| c.calls).sum()
    }
}

/// One recipient as the plan sees it, handed to a sink (`apply` executes these).
#[derive(Debug, Clone)]
pub struct PlannedSend {
    /// CSV row; `None` for an official account.
    pub row: Option<u64>,
    /// The recipient (the `@TOA#` account for an official account).
    pub user_id: String,
    pub state: DiffState,
    /// Whether this plan sends to the recipient.
    pub pending: bool,
    pub message: RenderedMessage,
    pub content_hash: request::ContentHash,
    /// The recipient's `schedule.window.recipient_timezone_column` value, as written.
    pub timezone: Option<String>,
    /// Their variant (`variants`), when the campaign has them.
    pub variant: Option<String>,
    /// The translation their message came from (`locales`), when not the default.
    pub locale: Option<String>,
    /// In the holdout: never sent (`state` is [`DiffState::HeldOut`] when nothing was).
    pub held_out: bool,
    /// Why the recipient is not sent to now (`state` is [`DiffState::Capped`]), when the
    /// journal should record it: its record says nothing was ever sent.
    pub capped: Option<String>,
}

/// Distinct recipients and their rows, for `preview` and tests.
pub fn find_recipient(
    loaded: &LoadedCampaign,
    user_id: &str,
) -> Result<Option<(RecipientRow, Vec<String>)>, PlanError> {
    if loaded.campaign.audience.csv.is_none() {
        return Ok(None);
    }
    let mut reader = Recipients::of_campaign(loaded, false)?;
    let columns = reader.columns().to_vec();
    while let Some(outcome) = reader.next_row() {
        if let RowOutcome::Recipient(row) = outcome?
            && row.user_id == user_id
        {
            return Ok(Some((row, columns)));
        }
    }
    Ok(None)
}

/// Whether `user_id` is on one of the campaign's suppression lists (`audience.exclude`) or
/// the project's (timcast.toml `suppress`), so that `apply` never sends to them.
pub fn is_excluded(loaded: &LoadedCampaign, user_id: &str) -> Result<bool, PlanError> {
    Ok(excluded_by(loaded, user_id)?.is_some())
}

/// Which suppression list takes `user_id` off the audience, if one does (the campaign's
/// when both do).
pub fn excluded_by(
    loaded: &LoadedCampaign,
    user_id: &str,
) -> Result<Option<audience::ExcludedBy>, PlanError> {
    if loaded.campaign.audience.exclude.is_empty() && loaded.project_suppression().is_empty() {
        return Ok(None);
    }
    let mut reader = Recipients::of_campaign(loaded, true)?;
    while let Some(outcome) = reader.next_row() {
        if let RowOutcome::Excluded {
            user_id: id, by, ..
        } = outcome?
            && id == user_id
        {
            return Ok(Some(by));
        }
    }
    Ok(None)
}

/// The request a recipient would receive, as pretty JSON (for `preview`).
pub fn preview_request(
    loaded: &LoadedCampaign,
    message: &RenderedMessage,
    to: &str,
) -> serde_json::Value {
    let campaign = &loaded.campaign;
    let settings = RequestSettings::from_campaign(campaign);
    let facts = ContentHasher::new(&settings).facts(message);
    let identity = request::Identity::derive(&campaign.name, to, &facts.hash);
    let value = if let Some(account) = &campaign.audience.official_account {
        serde_json::to_value(settings.official_account(message, account, identity))
    } else if let Some(stream) = &campaign.stream {
        let text = request::stream_text(message);
        let chunks = request::stream_chunks(&text, stream.chunk_chars);
        let last = chunks.len().saturating_sub(1);
        let calls: Vec<api::SendStreamMsgRequest> = chunks
            .into_iter()
            .enumerate()
            .map(|(i, chunk)| api::SendStreamMsgRequest {
                from_account: campaign.sender.clone().unwrap_or_default(),
                to_account: to.to_owned(),
                chunk,
                msg_key: (i > 0).then(|| "<MsgKey of the first reply>".to_owned()),
                finish: (i == last).then_some(1),
            })
            .collect();
        serde_json::to_value(calls)
    } else {
        serde_json::to_value(settings.send_msg(message, to, identity))
    };
    value.unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_diff_state_has_its_own_mark_and_label() {
        let marks: std::collections::HashSet<&str> =
            DiffState::ALL.iter().map(|s| s.symbol()).collect();
        let labels: std::collections::HashSet<&str> =
            DiffState::ALL.iter().map(|s| s.label()).collect();
        assert_eq!(marks.len(), DiffState::ALL.len());
        assert_eq!(labels.len(), DiffState::ALL.len());
    }
}
