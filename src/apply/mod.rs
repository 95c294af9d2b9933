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

mod journal_writer;
pub mod limiter;
pub mod progress;
pub mod recall;
pub mod timing;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::campaign::LoadedCampaign;
use crate::campaign::model::{BatchMode, OnUncertain};
use crate::im::types::{Endpoint, MAX_BATCH_RECIPIENTS, SendStreamMsgRequest};
use crate::im::{ClientError, ErrorClass, ImClient, RecipientOutcome, batch_outcomes};
use crate::journal::{JournalError, JournalStore, SendRecord, SendState, State};
use crate::plan::OFFICIAL_ACCOUNT_BROADCASTS_PER_HOUR;
use crate::plan::request::{self, ContentHash, Identity, RequestSettings};
use crate::plan::{self, DiffState, Plan, PlanError, PlanOptions, PlannedSend};
use crate::render::RenderedMessage;
use crate::schedule::{Clock, SystemClock, WaitReason};
use journal_writer::JournalWriter;
use limiter::Limits;
use progress::Counters;
use timing::{Admit, Timing};

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

/// A stop request shared by everything in a run: Ctrl-C, SIGTERM, or a fatal error.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    inner: Arc<StopInner>,
}

#[derive(Debug, Default)]
struct StopInner {
    stopped: AtomicBool,
    notify: Notify,
    fatal: std::sync::Mutex<Option<String>>,
}

impl Stop {
    pub fn new() -> Self {
        Stop::default()
    }

    /// Stops starting new sends.
    pub fn trigger(&self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// Stops the run because of a fatal error (the first reason wins).
    pub fn fatal(&self, reason: String) {
        if let Ok(mut slot) = self.inner.fatal.lock()
            && slot.is_none()
        {
            *slot = Some(reason);
        }
        self.trigger();
    }

    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }

    /// The fatal error that stopped the run, if one did.
    pub fn fatal_reason(&self) -> Option<String> {
        self.inner.fatal.lock().ok().and_then(|slot| slot.clone())
    }

    /// Resolves once the run is stopped.
    pub async fn stopped(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_stopped() {
                return;
            }
            notified.await;
        }
    }

    /// Sleeps for `by`; false when the run was stopped first.
    pub async fn sleep(&self, by: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(by) => !self.is_stopped(),
            _ = self.stopped() => false,
        }
    }
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
}

impl ApplyOptions {
    pub fn new(state: State) -> Self {
        ApplyOptions {
            state,
            resend_changed: false,
            resend_uncertain: false,
            limit: None,
            backoff_base: Duration::from_millis(200),
            backoff_cap: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(15),
            threads: 0,
            enforce_schedule: true,
            wait_for_schedule: true,
            clock: Arc::new(SystemClock),
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
            samples: 5,
            previews: 1,
            threads: self.threads,
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
    pub elapsed_ms: u64,
}

impl RunSummary {
    /// The one-line result of a run, as `apply` and `run` print it.
    pub fn line(&self, campaign: &str) -> String {
        format!(
            "{campaign}: sent {}, failed {}, uncertain {}, not started {} in {:.1} s",
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
    journal.for_each_record(campaign, &mut |r| {
        if matches!(r.state, SendState::Intent | SendState::Uncertain) {
            map.insert(
                r.recipient,
                InFlight {
                    endpoint: r.endpoint,
                    content_hash: r.content_hash,
                    intent_at_ms: r.intent_at_ms,
                },
            );
        }
    })?;
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

/// One API call (or one stream of calls) to make.
enum Job {
    Single {
        to: String,
        message: RenderedMessage,
        hash: ContentHash,
        /// The first intent's time when this resends an interrupted send.
        intent_at_ms: Option<i64>,
    },
    Batch {
        to: Vec<String>,
        message: RenderedMessage,
        hash: ContentHash,
    },
    Official {
        account: String,
        message: RenderedMessage,
        hash: ContentHash,
        intent_at_ms: Option<i64>,
    },
    Stream {
        to: String,
        message: RenderedMessage,
        hash: ContentHash,
    },
}

impl Job {
    fn endpoint(&self) -> Endpoint {
        match self {
            Job::Single { .. } => Endpoint::SendMsg,
            Job::Batch { .. } => Endpoint::BatchSendMsg,
            Job::Official { .. } => Endpoint::SendOfficialAccountMsg,
            Job::Stream { .. } => Endpoint::SendStreamMsg,
        }
    }

    /// Whether this resends a send that was in flight when a run died.
    fn resends_interrupted(&self) -> bool {
        matches!(
            self,
            Job::Single {
                intent_at_ms: Some(_),
                ..
            } | Job::Official {
                intent_at_ms: Some(_),
                ..
            }
        )
    }

    fn recipients(&self) -> u32 {
        match self {
            Job::Batch { to, .. } => u32::try_from(to.len()).unwrap_or(u32::MAX),
            _ => 1,
        }
    }
}

/// Everything a send task needs, shared.
struct Ctx {
    campaign: String,
    settings: RequestSettings,
    client: ImClient,
    limits: Arc<Limits>,
    stop: Stop,
    writer: JournalWriter,
    counters: Arc<Counters>,
    max_attempts: u32,
    backoff_base: Duration,
    backoff_cap: Duration,
    stream: Option<(u32, u64)>,
    sender: String,
}

/// The result of one send, as the journal will hold it.
enum Outcome {
    Sent {
        msg_key: Option<String>,
        msg_time: Option<i64>,
    },
    Failed {
        code: Option<i64>,
        text: String,
        class: ErrorClass,
    },
    Uncertain {
        msg_key: Option<String>,
        text: String,
    },
}

impl Outcome {
    /// A reply's MsgKey and MsgTime (unix seconds) as a sent outcome.
    fn sent(msg_key: Option<String>, msg_time: Option<u64>) -> Outcome {
        Outcome::Sent {
            msg_key,
            msg_time: msg_time.and_then(|t| i64::try_from(t).ok()),
        }
    }
}

/// The identity of a batch: its recipients, sorted, hashed.
fn batch_call_key(to: &[String]) -> String {
    let mut sorted: Vec<&str> = to.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let mut hasher = Sha256::new();
    for id in sorted {
        hasher.update(id.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    let mut short = [0u8; 16];
    short.copy_from_slice(&digest[..16]);
    format!("batch-{}", request::hex(&short))
}

/// A send's error text: the error without anything secret (the client strips URLs).
fn error_text(err: &ClientError) -> String {
    match err {
        ClientError::Api { info, .. } => info.clone(),
        other => other.to_string(),
    }
}

impl Ctx {
    fn record(
        &self,
        recipient: &str,
        hash: &ContentHash,
        endpoint: Endpoint,
        call_id: &str,
        identity: Identity,
        intent_at_ms: i64,
    ) -> SendRecord {
        SendRecord {
            campaign: self.campaign.clone(),
            recipient: recipient.to_owned(),
            content_hash: request::hex(hash),
            state: SendState::Intent,
            endpoint,
            call_id: call_id.to_owned(),
            msg_random: identity.random,
            msg_seq: identity.seq,
            msg_key: None,
            msg_time: None,
            error_code: None,
            error_text: None,
            error_class: None,
            attempts: 0,
            intent_at_ms,
            updated_at_ms: intent_at_ms,
        }
    }

    /// The intent records of a job, one per recipient.
    fn intents(&self, job: &Job, now: i64) -> Vec<SendRecord> {
        match job {
            Job::Single {
                to,
                hash,
                intent_at_ms,
                ..
            } => {
                let identity = Identity::derive(&self.campaign, to, hash);
                vec![self.record(
                    to,
                    hash,
                    Endpoint::SendMsg,
                    to,
                    identity,
                    intent_at_ms.unwrap_or(now),
                )]
            }
            Job::Official {
                account,
                hash,
                intent_at_ms,
                ..
            } => {
                let identity = Identity::derive(&self.campaign, account, hash);
                vec![self.record(
                    account,
                    hash,
                    Endpoint::SendOfficialAccountMsg,
                    account,
                    identity,
                    intent_at_ms.unwrap_or(now),
                )]
            }
            Job::Stream { to, hash, .. } => {
                let identity = Identity::derive(&self.campaign, to, hash);
                vec![self.record(to, hash, Endpoint::SendStreamMsg, to, identity, now)]
            }
            Job::Batch { to, hash, .. } => {
                let call_id = batch_call_key(to);
                let identity = Identity::derive(&self.campaign, &call_id, hash);
                to.iter()
                    .map(|r| self.record(r, hash, Endpoint::BatchSendMsg, &call_id, identity, now))
                    .collect()
            }
        }
    }

    fn with_outcome(&self, mut record: SendRecord, outcome: &Outcome, attempts: u32) -> SendRecord {
        record.attempts = attempts;
        record.updated_at_ms = now_ms();
        match outcome {
            Outcome::Sent { msg_key, msg_time } => {
                record.state = SendState::Sent;
                record.msg_key = msg_key.clone();
                record.msg_time = *msg_time;
                self.counters.sent.fetch_add(1, Ordering::Relaxed);
            }
            Outcome::Failed { code, text, class } => {
                record.state = SendState::Failed;
                record.error_code = *code;
                record.error_text = Some(text.clone());
                record.error_class = Some(*class);
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
            }
            Outcome::Uncertain { msg_key, text } => {
                record.state = SendState::Uncertain;
                record.msg_key = msg_key.clone();
                record.error_text = Some(text.clone());
                self.counters.uncertain.fetch_add(1, Ordering::Relaxed);
            }
        }
        record
    }

    /// Full-jitter exponential backoff for attempt `n` (1-based).
    fn backoff(&self, attempt: u32, class: ErrorClass) -> Duration {
        let base = if class == ErrorClass::RateLimited {
            self.backoff_base.max(Duration::from_millis(500))
        } else {
            self.backoff_base
        };
        let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let cap = exp.min(self.backoff_cap);
        let jitter: f64 = rand::random::<f64>();
        cap.mul_f64(0.5 + jitter / 2.0)
    }

    /// A failure that is fatal for the run: stop, and record the send as retryable, since the
    /// server refused it before acting on it and it should go out once the setting is fixed.
    fn fatal(&self, err: &ClientError) -> Outcome {
        self.stop.fatal(err.to_string());
        Outcome::Failed {
            code: err.code(),
            text: format!("not sent, the run stopped: {}", error_text(err)),
            class: ErrorClass::Retry,
        }
    }

    /// Calls `call` until it succeeds, fails for good, runs out of attempts, or (after a lost
    /// reply) leaves the duplicate window. Returns the reply or the outcome to record, and the
    /// attempts made.
    async fn with_retries<T, F, Fut>(
        &self,
        endpoint: Endpoint,
        recipients: u32,
        window_from_ms: Option<i64>,
        mut call: F,
    ) -> (Result<T, Outcome>, u32)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ClientError>>,
    {
        let mut attempts = 0u32;
        let mut maybe_took_effect = false;
        loop {
            attempts += 1;
            let err = match call().await {
                Ok(reply) => return (Ok(reply), attempts),
                Err(err) => err,
            };
            maybe_took_effect |= err.is_uncertain();
            let class = err.class();
            let give_up = |text: String| -> Outcome {
                if maybe_took_effect {
                    Outcome::Uncertain {
                        msg_key: None,
                        text,
                    }
                } else {
                    Outcome::Failed {
                        code: err.code(),
                        text,
                        class,
                    }
                }
            };
            match class {
                ErrorClass::FatalRun => {
                    let outcome = if maybe_took_effect {
                        self.stop.fatal(err.to_string());
                        give_up(error_text(&err))
                    } else {
                        self.fatal(&err)
                    };
                    return (Err(outcome), attempts);
                }
                ErrorClass::PermanentRecipient | ErrorClass::PermanentRequest => {
                    return (
                        Err(Outcome::Failed {
                            code: err.code(),
                            text: error_text(&err),
                            class,
                        }),
                        attempts,
                    );
                }
                ErrorClass::Retry | ErrorClass::RateLimited | ErrorClass::RenewUserSig => {}
            }
            if err.is_uncertain() {
                // Only an identical resend inside the server's duplicate window is safe.
                let inside = window_from_ms
                    .is_some_and(|from| inside_dedup_window(endpoint, from, now_ms()));
                if !inside {
                    return (
                        Err(Outcome::Uncertain {
                            msg_key: None,
                            text: error_text(&err),
                        }),
                        attempts,
                    );
                }
            }
            if attempts >= self.max_attempts {
                let text = format!("{} (after {attempts} attempts)", error_text(&err));
                return (Err(give_up(text)), attempts);
            }
            let delay = self.backoff(attempts, class);
            if class == ErrorClass::RateLimited {
                self.limits.pause(delay);
            }
            if !self.stop.sleep(delay).await
                || !self.limits.acquire(endpoint, recipients, &self.stop).await
            {
                let text = format!("{} (not retried: the run stopped)", error_text(&err));
                return (Err(give_up(text)), attempts);
            }
        }
    }

    async fn run(self: Arc<Self>, job: Job, intents: Vec<SendRecord>) {
        match job {
            Job::Single { to, message, .. } => {
                let Some(intent) = intents.into_iter().next() else {
                    return;
                };
                let identity = Identity {
                    random: intent.msg_random,
                    seq: intent.msg_seq,
                };
                let req = self.settings.send_msg(&message, &to, identity);
                let (result, attempts) = self
                    .with_retries(Endpoint::SendMsg, 1, Some(intent.intent_at_ms), || {
                        self.client.send_msg(&req)
                    })
                    .await;
                let outcome = result.map_or_else(|o| o, |r| Outcome::sent(r.msg_key, r.msg_time));
                let record = self.with_outcome(intent, &outcome, attempts);
                self.writer.write(vec![record]);
            }
            Job::Official {
                account, message, ..
            } => {
                let Some(intent) = intents.into_iter().next() else {
                    return;
                };
                let identity = Identity {
                    random: intent.msg_random,
                    seq: intent.msg_seq,
                };
                let req = self.settings.official_account(&message, &account, identity);
                let (result, attempts) = self
                    .with_retries(
                        Endpoint::SendOfficialAccountMsg,
                        1,
                        Some(intent.intent_at_ms),
                        || self.client.send_official_account_msg(&req),
                    )
                    .await;
                let outcome = result.map_or_else(|o| o, |r| Outcome::sent(r.msg_key, r.msg_time));
                let record = self.with_outcome(intent, &outcome, attempts);
                self.writer.write(vec![record]);
            }
            Job::Batch { to, message, .. } => {
                let Some(first) = intents.first() else {
                    return;
                };
                let identity = Identity {
                    random: first.msg_random,
                    seq: first.msg_seq,
                };
                let req = self.settings.batch_send_msg(&message, to.clone(), identity);
                let n = u32::try_from(to.len()).unwrap_or(u32::MAX);
                // No duplicate window: a lost reply is never resent.
                let (result, attempts) = self
                    .with_retries(Endpoint::BatchSendMsg, n, None, || {
                        self.client.batch_send_msg(&req)
                    })
                    .await;
                let records = match result {
                    Ok(reply) => {
                        let outcomes: HashMap<String, RecipientOutcome> =
                            batch_outcomes(&to, &reply).into_iter().collect();
                        intents
                            .into_iter()
                            .map(|intent| {
                                let outcome = match outcomes.get(&intent.recipient) {
                                    Some(RecipientOutcome::Failed { code, class }) => {
                                        Outcome::Failed {
                                            code: Some(*code),
                                            text: crate::im::describe(*code)
                                                .unwrap_or("refused in the batch's ErrorList")
                                                .to_owned(),
                                            class: *class,
                                        }
                                    }
                                    _ => Outcome::Sent {
                                        msg_key: reply.msg_key.clone(),
                                        msg_time: Some(now_ms() / 1000),
                                    },
                                };
                                self.with_outcome(intent, &outcome, attempts)
                            })
                            .collect()
                    }
                    Err(outcome) => intents
                        .into_iter()
                        .map(|intent| self.with_outcome(intent, &outcome, attempts))
                        .collect(),
                };
                self.writer.write(records);
            }
            Job::Stream { to, message, .. } => {
                let Some(intent) = intents.into_iter().next() else {
                    return;
                };
                let (outcome, attempts) = self.stream(&to, &message).await;
                let record = self.with_outcome(intent, &outcome, attempts);
                self.writer.write(vec![record]);
            }
        }
    }

    /// Streams one recipient's text chunk by chunk: the first call makes the MsgKey, every
    /// later one carries it, the last says Finish.
    async fn stream(&self, to: &str, message: &RenderedMessage) -> (Outcome, u32) {
        let (chunk_chars, interval_ms) = self.stream.unwrap_or((40, 0));
        let chunks = request::stream_chunks(&request::stream_text(message), chunk_chars);
        let last = chunks.len().saturating_sub(1);
        let mut msg_key: Option<String> = None;
        let mut attempts = 0;
        for (i, chunk) in chunks.into_iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(interval_ms)).await;
                // A stream that has started is finished even after a stop: a half-typed
                // message with no Finish would stay on the recipient's screen.
                let never_stopped = Stop::new();
                if !self
                    .limits
                    .acquire(Endpoint::SendStreamMsg, 1, &never_stopped)
                    .await
                {
                    break;
                }
            }
            let req = SendStreamMsgRequest {
                from_account: self.sender.clone(),
                to_account: to.to_owned(),
                chunk,
                msg_key: msg_key.clone(),
                finish: (i == last).then_some(1),
            };
            // A stream has no duplicate window: a lost reply is never resent.
            let (result, n) = self
                .with_retries(Endpoint::SendStreamMsg, 1, None, || {
                    self.client.send_stream_msg(&req)
                })
                .await;
            attempts += n;
            match result {
                Ok(reply) => {
                    if msg_key.is_none() {
                        match reply.msg_key {
                            Some(key) => msg_key = Some(key),
                            None => {
                                return (
                                    Outcome::Uncertain {
                                        msg_key: None,
                                        text: "the first chunk's reply had no MsgKey".into(),
                                    },
                                    attempts,
                                );
                            }
                        }
                    }
                }
                Err(outcome) if i == 0 => return (outcome, attempts),
                Err(outcome) => {
                    // Part of the message is on the recipient's screen already.
                    let text = match outcome {
                        Outcome::Failed { text, .. } | Outcome::Uncertain { text, .. } => text,
                        Outcome::Sent { .. } => String::new(),
                    };
                    return (
                        Outcome::Uncertain {
                            msg_key,
                            text: format!("the stream broke after chunk {i}: {text}"),
                        },
                        attempts,
                    );
                }
            }
        }
        (
            Outcome::Sent {
                msg_key,
                msg_time: Some(now_ms() / 1000),
            },
            attempts,
        )
    }
}

/// Starts sends: a concurrency permit, the limiters, the intent, then the call task.
struct Dispatcher {
    ctx: Arc<Ctx>,
    semaphore: Arc<Semaphore>,
    limits: Arc<Limits>,
    stop: Stop,
    writer: JournalWriter,
}

impl Dispatcher {
    /// Starts `job`; false when the run stopped before it could start.
    async fn dispatch(&self, job: Job, tasks: &mut JoinSet<()>) -> bool {
        let permit = tokio::select! {
            p = self.semaphore.clone().acquire_owned() => p.ok(),
            _ = self.stop.stopped() => None,
        };
        let Some(permit) = permit else {
            return false;
        };
        if !self
            .limits
            .acquire(job.endpoint(), job.recipients(), &self.stop)
            .await
        {
            return false;
        }
        let intents = self.ctx.intents(&job, now_ms());
        // The call waits for this commit: an intent is durable before its call goes out.
        let committed = self.writer.write_durable(intents.clone());
        let ctx = self.ctx.clone();
        tasks.spawn(async move {
            let _permit = permit;
            match committed.await {
                Ok(()) => ctx.run(job, intents).await,
                Err(e) => ctx
                    .stop
                    .fatal(format!("the journal cannot be written: {e}")),
            }
        });
        true
    }
}

/// Pending sends grouped by identical content (and, with per-recipient windows, by time zone,
/// so that one batch opens and closes with one window), flushed as batches of up to 500.
struct Buckets {
    open: HashMap<(ContentHash, Option<String>), Bucket>,
}

struct Bucket {
    message: RenderedMessage,
    to: Vec<String>,
    zone: jiff::tz::TimeZone,
}

/// A send whose window is closed, kept until it opens.
struct Held {
    until: jiff::Timestamp,
    zone: jiff::tz::TimeZone,
    job: Job,
}

/// Puts a job past the schedule: `Some(job)` to start it now; `None` when it waits in `held`
/// (per-recipient windows), was left for a later run, may not be sent any more, or the run
/// stopped while waiting.
async fn admit(
    timing: &Timing,
    job: Job,
    zone: jiff::tz::TimeZone,
    stop: &Stop,
    summary: &mut RunSummary,
    held: &mut Vec<Held>,
) -> Option<Job> {
    let n = u64::from(job.recipients());
    let mut verdict = timing.admit(&zone);
    loop {
        match verdict {
            Admit::Go => return Some(job),
            // A resend of an interrupted send is safe only inside the server's duplicate
            // window, which a wait for the schedule outlasts: it stays uncertain instead.
            Admit::Later(_) if job.resends_interrupted() => {
                summary.resent_in_window = summary.resent_in_window.saturating_sub(1);
                summary.skipped_uncertain += n;
                return None;
            }
            Admit::Never(reason) => {
                summary.not_started += n;
                summary
                    .held_back
                    .get_or_insert_with(|| format!("{reason}; the rest was not sent"));
                return None;
            }
            // Others go on while these wait for their own window.
            Admit::Later(until) if timing.per_recipient => {
                held.push(Held { until, zone, job });
                return None;
            }
            Admit::Later(until) if timing.wait => {
                if !timing.sleep_until(until, WaitReason::Window, stop).await {
                    summary.not_started += n;
                    return None;
                }
                verdict = timing.admit(&zone);
            }
            Admit::Later(until) => {
                defer(summary, n, until);
                return None;
            }
        }
    }
}

fn defer(summary: &mut RunSummary, n: u64, until: jiff::Timestamp) {
    summary.not_started += n;
    summary.deferred += n;
    summary.deferred_until = Some(summary.deferred_until.map_or(until, |u| u.min(until)));
}

/// Runs the campaign: streams the plan and sends every pending recipient. `plan` is the
/// planner's first pass (its counts decide which messages are shared).
pub async fn execute(
    loaded: Arc<LoadedCampaign>,
    plan: &Plan,
    options: &ApplyOptions,
    client: ImClient,
    stop: Stop,
    counters: Arc<Counters>,
) -> Result<RunSummary, ApplyError> {
    let started = Instant::now();
    let campaign = &loaded.campaign;
    let total = options.limit.map_or(plan.pending, |l| l.min(plan.pending));
    counters.total.store(total, Ordering::Relaxed);
    let timing = Timing::new(
        campaign
            .schedule
            .as_ref()
            .filter(|_| options.enforce_schedule),
        options.clock.clone(),
        options.wait_for_schedule,
        counters.schedule.clone(),
    );
    // Before `schedule.at`: wait (with a countdown), or leave everything for a later run.
    if let Some(at) = timing.start_ahead() {
        let mut summary = RunSummary::default();
        if !timing.wait {
            defer(&mut summary, total, at);
            return Ok(summary);
        }
        if !timing.sleep_until(at, WaitReason::Start, &stop).await {
            summary.not_started = total;
            summary.fatal = stop.fatal_reason();
            summary.interrupted = summary.fatal.is_none();
            return Ok(summary);
        }
    }
    let journal = options.state.open()?;
    let in_flight = in_flight_sends(journal.as_ref(), &campaign.name)?;
    // An official account takes 2 broadcasts an hour; the journal knows this machine's.
    let official_hour_full = match &campaign.audience.official_account {
        Some(account) => {
            let recent = journal.sent_to_since(account, now_ms() - 3_600_000)?.len();
            let repeat = in_flight.contains_key(account);
            (recent >= OFFICIAL_ACCOUNT_BROADCASTS_PER_HOUR && !repeat).then(|| {
                format!(
                    "{account} already broadcast {recent} times in the last hour (at most \
                     {OFFICIAL_ACCOUNT_BROADCASTS_PER_HOUR}); run again later"
                )
            })
        }
        None => None,
    };
    let writer = JournalWriter::start(journal);
    let delivery = &campaign.delivery;
    let limits = Limits::new(delivery.rate, delivery.recipients_per_minute);
    let ctx = Arc::new(Ctx {
        campaign: campaign.name.clone(),
        settings: RequestSettings::from_campaign(campaign),
        client,
        limits: limits.clone(),
        stop: stop.clone(),
        writer: writer.clone(),
        counters: counters.clone(),
        max_attempts: delivery.max_attempts.max(1),
        backoff_base: options.backoff_base,
        backoff_cap: options.backoff_cap,
        stream: campaign
            .stream
            .as_ref()
            .map(|s| (s.chunk_chars, s.interval_ms)),
        sender: campaign.sender.clone().unwrap_or_default(),
    });
    *counters.limits.lock().unwrap_or_else(|p| p.into_inner()) = Some(limits.clone());

    // The planner's second pass, streamed from its own thread.
    let (tx, mut rx) = mpsc::channel::<PlannedSend>(1024);
    let plan_options = options.plan_options(&loaded);
    let planner_loaded = loaded.clone();
    let planner_stop = stop.clone();
    let planner = std::thread::spawn(move || {
        let mut sink = |send: PlannedSend| {
            if planner_stop.is_stopped() {
                return;
            }
            if send.pending || send.state == DiffState::Uncertain {
                let _ = tx.blocking_send(send);
            }
        };
        plan::build_with(&planner_loaded, &plan_options, Some(&mut sink)).map(drop)
    });

    let official = campaign.audience.official_account.is_some();
    let streaming = campaign.stream.is_some();
    let batching = campaign.delivery.batch == BatchMode::Auto && !official && !streaming;
    let semaphore = Arc::new(Semaphore::new(
        usize::try_from(delivery.concurrency.max(1)).unwrap_or(1),
    ));
    let mut tasks = JoinSet::new();
    let mut buckets = Buckets {
        open: HashMap::new(),
    };
    let mut summary = RunSummary::default();
    let mut admitted = 0u64;
    let mut held: Vec<Held> = Vec::new();

    let dispatcher = Dispatcher {
        ctx: ctx.clone(),
        semaphore,
        limits: limits.clone(),
        stop: stop.clone(),
        writer: writer.clone(),
    };

    let not_after_ms = campaign
        .schedule
        .as_ref()
        .and_then(|s| s.not_after.as_ref())
        .filter(|_| options.enforce_schedule)
        .map(|t| t.0.as_millisecond());
    let past_schedule = |summary: &mut RunSummary| {
        let end = not_after_ms?;
        if timing.clock.now().as_millisecond() <= end {
            return None;
        }
        summary.held_back.get_or_insert_with(|| {
            format!(
                "the campaign's schedule ended at {} (schedule.not_after); the rest was not sent",
                jiff::Timestamp::from_millisecond(end)
                    .map_or_else(|_| end.to_string(), |t| t.to_string())
            )
        });
        Some(())
    };
    while let Some(send) = rx.recv().await {
        if stop.is_stopped() {
            break;
        }
        if past_schedule(&mut summary).is_some() {
            summary.not_started += u64::from(send.pending);
            continue;
        }
        let mut intent_at_ms = None;
        if !send.pending {
            // `?`: resend it only inside the duplicate window, identically.
            let resendable = in_flight.get(&send.user_id).filter(|f| {
                f.content_hash == request::hex(&send.content_hash)
                    && inside_dedup_window(f.endpoint, f.intent_at_ms, now_ms())
            });
            match resendable {
                Some(f) => intent_at_ms = Some(f.intent_at_ms),
                None => {
                    summary.skipped_uncertain += 1;
                    continue;
                }
            }
            summary.resent_in_window += 1;
            counters.total.fetch_add(1, Ordering::Relaxed);
        } else {
            if options.limit.is_some_and(|limit| admitted >= limit) {
                summary.not_started += 1;
                continue;
            }
            admitted += 1;
        }
        let PlannedSend {
            user_id,
            message,
            content_hash: hash,
            timezone,
            ..
        } = send;
        let zone = timing.zone_of(timezone.as_deref());
        if official && let Some(why) = &official_hour_full {
            summary.held_back = Some(why.clone());
            summary.not_started += 1;
            continue;
        }
        let job = if official {
            Job::Official {
                account: user_id,
                message,
                hash,
                intent_at_ms,
            }
        } else if streaming {
            Job::Stream {
                to: user_id,
                message,
                hash,
            }
        } else if batching && intent_at_ms.is_none() && plan.shared.recipients_with(&hash) >= 2 {
            let key = (
                hash,
                timing
                    .per_recipient
                    .then(|| zone.iana_name().unwrap_or_default().to_owned()),
            );
            let entry = buckets.open.entry(key.clone()).or_insert_with(|| Bucket {
                message,
                to: Vec::new(),
                zone: zone.clone(),
            });
            entry.to.push(user_id);
            if entry.to.len() < MAX_BATCH_RECIPIENTS {
                continue;
            }
            let Some(Bucket { message, to, .. }) = buckets.open.remove(&key) else {
                continue;
            };
            Job::Batch { to, message, hash }
        } else {
            Job::Single {
                to: user_id,
                message,
                hash,
                intent_at_ms,
            }
        };
        let jobs_recipients = u64::from(job.recipients());
        let Some(job) = admit(&timing, job, zone, &stop, &mut summary, &mut held).await else {
            continue;
        };
        if !dispatcher.dispatch(job, &mut tasks).await {
            summary.not_started += jobs_recipients;
            break;
        }
        // Reap finished tasks so the set does not grow with the audience.
        while tasks.try_join_next().is_some() {}
    }
    // Whatever is left in the buckets goes out now (a lone recipient as a plain sendmsg,
    // which has a duplicate window).
    let mut rest: Vec<((ContentHash, Option<String>), Bucket)> = buckets.open.drain().collect();
    rest.sort_by(|a, b| a.0.cmp(&b.0));
    for (
        (hash, _),
        Bucket {
            message,
            mut to,
            zone,
        },
    ) in rest
    {
        let n = to.len() as u64;
        if stop.is_stopped() || past_schedule(&mut summary).is_some() {
            summary.not_started += n;
            continue;
        }
        let job = if to.len() == 1 {
            let Some(to) = to.pop() else { continue };
            Job::Single {
                to,
                message,
                hash,
                intent_at_ms: None,
            }
        } else {
            Job::Batch { to, message, hash }
        };
        let Some(job) = admit(&timing, job, zone, &stop, &mut summary, &mut held).await else {
            continue;
        };
        if !dispatcher.dispatch(job, &mut tasks).await {
            summary.not_started += n;
        }
    }
    drop(rx);
    // Recipients outside their own window: sent as each window opens (or left for a later run).
    while !held.is_empty() {
        if !timing.wait || stop.is_stopped() {
            for h in held.drain(..) {
                let n = u64::from(h.job.recipients());
                if stop.is_stopped() {
                    summary.not_started += n;
                } else {
                    defer(&mut summary, n, h.until);
                }
            }
            break;
        }
        let Some(next) = held.iter().map(|h| h.until).min() else {
            break;
        };
        if !timing.sleep_until(next, WaitReason::Window, &stop).await {
            continue;
        }
        let (due, later): (Vec<Held>, Vec<Held>) = std::mem::take(&mut held)
            .into_iter()
            .partition(|h| h.until <= timing.clock.now());
        held = later;
        for Held { zone, job, .. } in due {
            let n = u64::from(job.recipients());
            if stop.is_stopped() {
                summary.not_started += n;
                continue;
            }
            // Opens now, or (a window that closed again meanwhile) back into `held`.
            let Some(job) = admit(&timing, job, zone, &stop, &mut summary, &mut held).await else {
                continue;
            };
            if !dispatcher.dispatch(job, &mut tasks).await {
                summary.not_started += n;
            }
            while tasks.try_join_next().is_some() {}
        }
    }

    // Let the calls in flight finish; after a stop, only for so long.
    let drain = async { while tasks.join_next().await.is_some() {} };
    if stop.is_stopped() {
        if tokio::time::timeout(options.drain_timeout, drain)
            .await
            .is_err()
        {
            tasks.abort_all();
        }
    } else {
        tokio::select! {
            _ = drain => {}
            _ = async {
                stop.stopped().await;
                tokio::time::sleep(options.drain_timeout).await;
            } => tasks.abort_all(),
        }
    }
    while tasks.join_next().await.is_some() {}
    drop(ctx);
    drop(dispatcher);
    let journal_result = writer.close().await;
    let planner_result = if stop.is_stopped() {
        // The planner may still be rendering the rest of a large audience: leave it.
        Ok(())
    } else {
        planner.join().unwrap_or(Ok(()))
    };
    journal_result.map_err(ApplyError::JournalWriter)?;
    planner_result?;

    summary.sent = counters.sent.load(Ordering::Relaxed);
    summary.failed = counters.failed.load(Ordering::Relaxed);
    summary.uncertain = counters.uncertain.load(Ordering::Relaxed);
    let done = summary.sent + summary.failed + summary.uncertain;
    let expected = counters.total.load(Ordering::Relaxed);
    if stop.is_stopped() {
        summary.not_started = expected.saturating_sub(done);
    }
    summary.fatal = stop.fatal_reason();
    summary.interrupted = stop.is_stopped() && summary.fatal.is_none();
    summary.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    if options.limit.is_some() && !stop.is_stopped() {
        // Beyond the limit, plus any admitted ones the schedule held back or deferred.
        summary.not_started = summary
            .not_started
            .max(plan.pending.saturating_sub(admitted));
    }
    if summary.held_back.is_some() {
        summary.not_started = summary.not_started.max(1);
    }
    Ok(summary)
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

    #[test]
    fn a_batch_is_identified_by_its_recipients_in_any_order() {
        let a = batch_call_key(&["u2".into(), "u1".into()]);
        assert_eq!(a, batch_call_key(&["u1".into(), "u2".into()]));
        assert_ne!(a, batch_call_key(&["u1".into(), "u3".into()]));
        // The separator keeps ["ab", "c"] apart from ["a", "bc"].
        assert_ne!(
            batch_call_key(&["ab".into(), "c".into()]),
            batch_call_key(&["a".into(), "bc".into()])
        );
    }

    #[tokio::test]
    async fn a_stop_wakes_sleepers_at_once() {
        let stop = Stop::new();
        let sleeper = {
            let stop = stop.clone();
            tokio::spawn(async move { stop.sleep(Duration::from_secs(60)).await })
        };
        stop.fatal("bad key".into());
        stop.fatal("second reason".into());
        let finished = tokio::time::timeout(Duration::from_secs(5), sleeper).await;
        assert!(matches!(finished, Ok(Ok(false))));
        assert_eq!(stop.fatal_reason().as_deref(), Some("bad key"));
    }
}
