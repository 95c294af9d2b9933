//! The executor behind `timcast apply`: sends exactly what the plan says, at the API's rate and
//! no faster, journaling an intent before every call and its outcome after.
//!
//! The flow: the planner streams recipients (in CSV row order) from a thread into a bounded
//! channel; the dispatcher groups identical messages into batches, waits for a concurrency
//! permit and the rate limiters, hands the intent to the journal writer and spawns the call;
//! the call task waits until its intent is committed, calls, retries by error class and hands
//! the outcome back to the writer. The writer commits whatever has queued up in one
//! transaction, so journaling never limits the rate.
//!
//! What a dead process leaves behind is an intent without an outcome. Resending it is safe
//! while the endpoint's duplicate window (sendmsg 120 s, official accounts 5 min) is open,
//! because the resend is byte-identical and the server drops it; a resumed run does that.

mod dispatch;
mod executor;
mod journal_writer;
pub mod limiter;
pub mod progress;
pub mod recall;
mod retry;
mod send;
pub mod settle;
mod stop;
mod targets;
pub mod timing;
mod unsent;
mod watermark;

pub use executor::execute;
pub use stop::Stop;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::campaign::LoadedCampaign;
use crate::campaign::model::OnUncertain;
use crate::im::{Endpoint, ImClient};
use crate::journal::{JournalError, JournalStore, SendState, State};
use crate::plan::{PlanError, PlanOptions};
use crate::schedule::{Clock, SystemClock};
use progress::Counters;

/// The window in which sendmsg drops an identical repeat.
pub const SENDMSG_DEDUP_WINDOW: Duration = Duration::from_secs(120);
/// The window in which an official account drops an identical repeat.
pub const OFFICIAL_DEDUP_WINDOW: Duration = Duration::from_secs(300);
/// Kept off the end of a duplicate window: clocks differ and calls take time in flight.
pub const DEDUP_SAFETY_MARGIN: Duration = Duration::from_secs(20);

/// Milliseconds since the unix epoch.
pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

/// The duplicate window of an endpoint, minus the margin; `None` when it has none.
pub fn safe_resend_window(endpoint: Endpoint) -> Option<Duration> {
    let window = match endpoint {
        Endpoint::SendMsg => SENDMSG_DEDUP_WINDOW,
        Endpoint::SendOfficialAccountMsg => OFFICIAL_DEDUP_WINDOW,
        _ => return None,
    };
    Some(window.saturating_sub(DEDUP_SAFETY_MARGIN))
}

/// Whether an identical resend of a call first intended at `intent_at_ms` is still absorbed.
pub fn inside_dedup_window(endpoint: Endpoint, intent_at_ms: i64, now: i64) -> bool {
    safe_resend_window(endpoint).is_some_and(|w| {
        now < intent_at_ms.saturating_add(i64::try_from(w.as_millis()).unwrap_or(i64::MAX))
    })
}

/// What `apply` was asked to do, beyond the campaign itself.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// The journal store the run reads and writes.
    pub state: State,
    /// Resend `~` recipients whose message changed since it was sent.
    pub resend_changed: bool,
    /// Resend `?` sends whose outcome is unknown, even outside the duplicate window.
    pub resend_uncertain: bool,
    /// Resend to recipients that failed with an error code timcast does not know.
    pub retry_unknown: bool,
    /// Send to the first N pending recipients only (a canary).
    pub limit: Option<u64>,
    /// First retry delay; doubled per attempt, with full jitter.
    pub backoff_base: Duration,
    /// Longest retry delay.
    pub backoff_cap: Duration,
    /// How long calls in flight may take to finish once the run is stopped.
    pub drain_timeout: Duration,
    /// Rendering threads (0: one per core).
    pub threads: usize,
    /// Follow the campaign's schedule: `at`, the window and `not_after` (off for the sandbox
    /// demo).
    pub enforce_schedule: bool,
    /// Sleep until `schedule.at` and until a closed window opens (`apply`); when false, what
    /// the schedule does not allow now is left pending for a later run (`--no-wait`, `run`).
    pub wait_for_schedule: bool,
    /// The time the schedule is judged by (a virtual clock in tests).
    pub clock: Arc<dyn Clock>,
    /// Before sending, settle uncertain sends that a resend cannot (past the duplicate window,
    /// and every batch's) from the server's message history ([`settle`]).
    pub settle_uncertain: bool,
    /// How long the server keeps one-to-one history ([`settle::HISTORY_RETENTION`]).
    pub history_retention: Duration,
    /// How long after a send's last journal write its absence from the history proves it was
    /// not sent ([`settle::SETTLE_GRACE`]).
    pub settle_grace: Duration,
    /// The digest of the inputs the journal's checkpoint holds for this run
    /// ([`crate::plan::saved::inputs_digest`]): the run moves its row as it settles rows.
    pub inputs_digest: Option<String>,
    /// When the inputs are those the journal's checkpoint was saved for, send from its row at
    /// once instead of counting first (`apply --yes`: nobody reads the counts before the sends).
    pub resume_at_checkpoint: bool,
}

impl ApplyOptions {
    pub fn new(state: State) -> Self {
        ApplyOptions {
            state,
            resend_changed: false,
            resend_uncertain: false,
            retry_unknown: false,
            limit: None,
            backoff_base: Duration::from_millis(200),
            backoff_cap: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(15),
            threads: 0,
            enforce_schedule: true,
            wait_for_schedule: true,
            clock: Arc::new(SystemClock),
            settle_uncertain: true,
            history_retention: settle::HISTORY_RETENTION,
            settle_grace: settle::SETTLE_GRACE,
            inputs_digest: None,
            resume_at_checkpoint: false,
        }
    }

    /// The options that decide who is settled, for [`crate::plan::saved::inputs_digest`].
    pub(crate) fn settling(&self) -> [bool; 3] {
        [
            self.resend_changed,
            self.resend_uncertain,
            self.retry_unknown,
        ]
    }

    /// How to settle uncertain sends in `scope` with these options.
    pub fn settle_options(&self, scope: settle::Scope) -> settle::SettleOptions {
        settle::SettleOptions {
            retention: self.history_retention,
            grace: self.settle_grace,
            backoff_base: self.backoff_base,
            backoff_cap: self.backoff_cap,
            ..settle::SettleOptions::new(scope)
        }
    }

    /// Whether `?` recipients are resent whatever their age (flag or `on_uncertain: resend`).
    pub fn resends_uncertain(&self, loaded: &LoadedCampaign) -> bool {
        self.resend_uncertain || loaded.campaign.delivery.on_uncertain == OnUncertain::Resend
    }

    /// The options the planner needs for the same decisions.
    pub fn plan_options(&self, loaded: &LoadedCampaign) -> PlanOptions {
        PlanOptions {
            state: self.state.clone(),
            resend_changed: self.resend_changed,
            resend_uncertain: self.resends_uncertain(loaded),
            retry_unknown: self.retry_unknown,
            samples: 5,
            previews: 1,
            threads: self.threads,
            // Only for the "inside their window now" count `apply` prints: a look at the
            // clock is not free in tests whose clock moves on every look.
            now: loaded
                .campaign
                .schedule
                .as_ref()
                .and_then(|s| s.window.as_ref())
                .is_some_and(|w| w.recipient_timezone_column.is_some())
                .then(|| self.clock.now()),
        }
    }
}

/// Why a run could not start or could not keep its journal.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("the journal writer stopped: {0}")]
    JournalWriter(String),
    #[error("the campaign is not valid:\n{0}")]
    Invalid(String),
}

/// How a run ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub sent: u64,
    pub failed: u64,
    pub uncertain: u64,
    /// `?` recipients left alone: outside the duplicate window and not asked to resend.
    pub skipped_uncertain: u64,
    /// Pending recipients not started (a `--limit`, or the run stopped).
    pub not_started: u64,
    /// Resends of in-flight sends from an interrupted run, inside the duplicate window.
    pub resent_in_window: u64,
    /// Uncertain sends the server's history showed had arrived, before the run sent anything.
    pub settled_sent: u64,
    /// Uncertain sends the server's history showed had not arrived (sent in this run).
    pub settled_not_sent: u64,
    /// Set when the run was interrupted (Ctrl-C, SIGTERM) before it finished.
    pub interrupted: bool,
    /// The fatal error that stopped the run.
    pub fatal: Option<String>,
    /// Why sends were held back although pending (an official account's hourly limit, or
    /// `schedule.not_after` passed during the run).
    pub held_back: Option<String>,
    /// Pending recipients left for a later run because the schedule does not allow them now
    /// (before `schedule.at`, or outside their window, when the run does not wait); included
    /// in `not_started`.
    pub deferred: u64,
    /// When the first of the deferred recipients may be sent.
    pub deferred_until: Option<jiff::Timestamp>,
    /// Recipients per error code timcast does not know, which failed in this run.
    pub unknown_codes: std::collections::BTreeMap<i64, u64>,
    /// Recipients of the holdout journaled by this run (never sent).
    pub held_out: u64,
    /// Recipients not sent to because of the campaign's frequency cap, judged by this run.
    pub capped: u64,
    pub elapsed_ms: u64,
}

impl RunSummary {
    /// What to say of the undocumented codes the run met, if it met any.
    pub fn unknown_codes_line(&self) -> Option<String> {
        if self.unknown_codes.is_empty() {
            return None;
        }
        let codes: Vec<String> = self
            .unknown_codes
            .iter()
            .map(|(code, n)| format!("{code} ({n} recipients)"))
            .collect();
        Some(format!(
            "undocumented error codes: {}; these failures are not retried unless you pass --retry-unknown. Tell timcast's maintainers the codes so the code table can say what they mean",
            codes.join(", ")
        ))
    }

    /// The one-line result of a run, as `apply` and `run` print it.
    pub fn line(&self, campaign: &str) -> String {
        let held_out = match self.held_out {
            0 => String::new(),
            n => format!(", held out {n} (control group, not sent)"),
        };
        let capped = match self.capped {
            0 => String::new(),
            n => format!(", capped {n} (frequency cap, not sent)"),
        };
        format!(
            "{campaign}: sent {}, failed {}, uncertain {}, not started {}{held_out}{capped} in {:.1} s",
            self.sent,
            self.failed,
            self.uncertain,
            self.not_started,
            self.elapsed_ms as f64 / 1000.0
        )
    }
}

/// What the journal says about a send whose outcome is unknown.
#[derive(Debug, Clone)]
struct InFlight {
    endpoint: Endpoint,
    content_hash: String,
    intent_at_ms: i64,
}

/// Reads the intents without outcome (and uncertain sends) of `campaign`.
fn in_flight_sends(
    journal: &dyn JournalStore,
    campaign: &str,
) -> Result<HashMap<String, InFlight>, JournalError> {
    let mut map = HashMap::new();
    journal.for_each_record_in(
        campaign,
        &[SendState::Intent, SendState::Uncertain],
        &mut |r| {
            map.insert(
                r.recipient,
                InFlight {
                    endpoint: r.endpoint,
                    content_hash: r.content_hash,
                    intent_at_ms: r.intent_at_ms,
                },
            );
        },
    )?;
    Ok(map)
}

/// Recipients whose interrupted sends will be resent inside the duplicate window (for the
/// confirmation line; the executor re-checks each against its rendered content).
pub fn count_resendable_in_window(
    loaded: &LoadedCampaign,
    options: &ApplyOptions,
) -> Result<u64, ApplyError> {
    if options.resends_uncertain(loaded) {
        return Ok(0);
    }
    let Some(journal) = options.state.open_existing()? else {
        return Ok(0);
    };
    let now = now_ms();
    Ok(in_flight_sends(journal.as_ref(), &loaded.campaign.name)?
        .values()
        .filter(|f| inside_dedup_window(f.endpoint, f.intent_at_ms, now))
        .count() as u64)
}

/// Loads, validates, plans and executes a campaign file in one go (tests and benchmarks; the
/// command adds confirmation, progress and signals around the same steps).
pub async fn apply_file(
    path: &std::path::Path,
    options: &ApplyOptions,
    client: ImClient,
    stop: Stop,
) -> Result<RunSummary, ApplyError> {
    crate::session::Session::open_file(path, options.clone())?
        .execute(client, stop, Counters::new())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sendmsg_and_official_accounts_have_a_resend_window() {
        let now = 1_000_000_000;
        let sendmsg = Endpoint::SendMsg;
        assert!(inside_dedup_window(sendmsg, now - 99_000, now));
        // 120 s minus the 20 s margin.
        assert!(!inside_dedup_window(sendmsg, now - 100_000, now));
        let official = Endpoint::SendOfficialAccountMsg;
        assert!(inside_dedup_window(official, now - 279_000, now));
        assert!(!inside_dedup_window(official, now - 280_000, now));
        for none in [Endpoint::BatchSendMsg, Endpoint::SendStreamMsg] {
            assert!(!inside_dedup_window(none, now, now));
        }
    }
}
