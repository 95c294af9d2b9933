//! One send, from intent to outcome: the [`SendTarget`] seam (which API call carries a
//! message, to how many recipients, with what duplicate window, and how its reply splits into
//! per-recipient outcomes), the shared context a send task runs in, and retries by the rules
//! of [`RetryPolicy`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::journal_writer::JournalWriter;
use super::limiter::Limits;
use super::progress::Counters;
use super::retry::{Next, RetryPolicy};
use super::settle::{SettleCtx, Verdict, VerdictFuture};
use super::{Stop, inside_dedup_window, now_ms, safe_resend_window};
use crate::im::{ClientError, Endpoint, ErrorClass, ImClient};
use crate::journal::{SendRecord, SendState};
use crate::plan::request::{self, ContentHash, Identity, RequestSettings};
use crate::render::RenderedMessage;

/// The result of one send to one recipient, as the journal will hold it.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
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
    pub(crate) fn sent(msg_key: Option<String>, msg_time: Option<u64>) -> Outcome {
        Outcome::Sent {
            msg_key,
            msg_time: msg_time.and_then(|t| i64::try_from(t).ok()),
        }
    }
}

/// One call to make: its recipients, message and identity.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) to: Vec<String>,
    pub(crate) message: RenderedMessage,
    pub(crate) identity: Identity,
    /// When the first intent of this call was written (the duplicate window counts from it).
    pub(crate) intent_at_ms: i64,
}

/// The outcome of each recipient of a call, in the call's order, and the attempts it took.
pub(crate) type Sent = (Vec<Outcome>, u32);

pub(crate) type SendFuture<'a> = Pin<Box<dyn Future<Output = Sent> + Send + 'a>>;

/// An API call that carries campaign messages. Adding one means implementing this, nothing
/// in the executor.
pub(crate) trait SendTarget: Send + Sync + std::fmt::Debug {
    fn endpoint(&self) -> Endpoint;

    /// Most recipients one call carries.
    fn max_recipients(&self) -> usize {
        1
    }

    /// The server's duplicate window less the safety margin: how an uncertain send is
    /// settled (resent identically inside it; left uncertain outside). `None`: no dedup.
    fn dedup_window(&self) -> Option<Duration> {
        safe_resend_window(self.endpoint())
    }

    /// The call's key in the journal: the recipient, or for a batch its recipients' hash.
    fn call_id(&self, to: &[String]) -> String {
        to.first().cloned().unwrap_or_default()
    }

    /// Makes the call (with retries) and splits the reply per recipient.
    fn send<'a>(&'a self, ctx: &'a Ctx, call: &'a Call) -> SendFuture<'a>;

    /// Whether the server's message history shows this target's messages, so that its
    /// uncertain sends can be settled by looking them up ([`SendTarget::settle`]).
    fn settles_from_history(&self) -> bool {
        false
    }

    /// Settles one of this target's uncertain sends (a dead run's intent, or a lost reply)
    /// from what the server can tell: sent, not sent, or still undecided and why.
    fn settle<'a>(&'a self, _ctx: &'a SettleCtx, _record: &'a SendRecord) -> VerdictFuture<'a> {
        let why = format!(
            "{} keeps no history to look the send up in; resend with --resend-uncertain if it must arrive (it may then arrive twice)",
            self.endpoint()
        );
        Box::pin(async move { Verdict::Undecided { why } })
    }
}

/// The identity of a batch: its recipients, sorted, hashed.
pub(crate) fn batch_call_key(to: &[String]) -> String {
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
pub(crate) fn error_text(err: &ClientError) -> String {
    match err {
        ClientError::Api { info, .. } => info.clone(),
        other => other.to_string(),
    }
}

/// Everything a send task needs, shared.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) campaign: String,
    pub(crate) settings: RequestSettings,
    pub(crate) client: ImClient,
    pub(crate) limits: Arc<Limits>,
    pub(crate) stop: Stop,
    pub(crate) writer: JournalWriter,
    pub(crate) counters: Arc<Counters>,
    pub(crate) retry: RetryPolicy,
    pub(crate) stream: Option<(u32, u64)>,
    pub(crate) sender: String,
    /// Which rows this run has settled, for the journal's checkpoint.
    pub(crate) watermark: Arc<super::watermark::Watermark>,
}

/// One send to make: a target, its recipients and message.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) target: Arc<dyn SendTarget>,
    pub(crate) to: Vec<String>,
    /// The audience row of each recipient in `to` (none for an official account).
    pub(crate) rows: Vec<u64>,
    pub(crate) message: RenderedMessage,
    pub(crate) hash: ContentHash,
    /// The first intent's time when this resends an interrupted send.
    pub(crate) resend_of: Option<i64>,
    /// The recipients' variant and translation, for the journal (one job has one of each).
    pub(crate) flavor: Flavor,
}

/// A recipient's variant and translation, as the journal records them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Flavor {
    pub(crate) variant: Option<String>,
    pub(crate) locale: Option<String>,
}

impl Job {
    pub(crate) fn endpoint(&self) -> Endpoint {
        self.target.endpoint()
    }

    /// Whether this resends a send that was in flight when a run died.
    pub(crate) fn resends_interrupted(&self) -> bool {
        self.resend_of.is_some()
    }

    /// After the cap kept some of `before` back: their rows stay open for the rest of the run.
    pub(crate) fn rows_kept_of(
        &mut self,
        before: &[String],
        watermark: &super::watermark::Watermark,
    ) {
        let mut kept = Vec::with_capacity(self.rows.len());
        let mut to = self.to.iter().peekable();
        for (user_id, row) in before.iter().zip(&self.rows) {
            if to.peek() == Some(&user_id) {
                to.next();
                kept.push(*row);
            } else {
                watermark.stuck(*row);
            }
        }
        self.rows = kept;
    }

    pub(crate) fn recipients(&self) -> u32 {
        u32::try_from(self.to.len()).unwrap_or(u32::MAX)
    }
}

impl Ctx {
    /// The intent records of a job, one per recipient.
    pub(crate) fn intents(&self, job: &Job, now: i64) -> Vec<SendRecord> {
        let call_id = job.target.call_id(&job.to);
        let identity = Identity::derive(&self.campaign, &call_id, &job.hash);
        let intent_at_ms = job.resend_of.unwrap_or(now);
        job.to
            .iter()
            .map(|recipient| {
                let mut intent = SendRecord::intent(
                    &self.campaign,
                    recipient,
                    request::hex(&job.hash),
                    job.endpoint(),
                    &call_id,
                    (identity.random, identity.seq),
                    intent_at_ms,
                );
                intent.variant = job.flavor.variant.clone();
                intent.locale = job.flavor.locale.clone();
                intent
            })
            .collect()
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
                if *class == ErrorClass::Unknown
                    && let Some(code) = code
                    && let Ok(mut codes) = self.counters.unknown_codes.lock()
                {
                    *codes.entry(*code).or_default() += 1;
                }
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

    /// Sends a job whose intents are committed, and hands the outcomes to the writer.
    pub(crate) async fn run(self: Arc<Self>, job: Job, intents: Vec<SendRecord>) {
        let Some(first) = intents.first() else {
            return;
        };
        let call = Call {
            identity: Identity {
                random: first.msg_random,
                seq: first.msg_seq,
            },
            intent_at_ms: first.intent_at_ms,
            to: job.to,
            message: job.message,
        };
        let (outcomes, attempts) = job.target.send(&self, &call).await;
        let records = intents
            .into_iter()
            .zip(&outcomes)
            .map(|(intent, outcome)| self.with_outcome(intent, outcome, attempts))
            .collect();
        self.writer.write(records);
        // Queued to the writer first: a checkpoint never runs ahead of the records.
        self.watermark.settled(&job.rows, &outcomes);
    }

    /// Calls `call` until it succeeds, fails for good, runs out of attempts, or (after a lost
    /// reply) leaves the duplicate window counted from `window_from_ms`. Returns the reply or
    /// the outcome to record, and the attempts made.
    pub(crate) async fn with_retries<T, F, Fut>(
        &self,
        endpoint: Endpoint,
        recipients: u32,
        window_from_ms: Option<i64>,
        mut call: F,
    ) -> (Result<T, Outcome>, u32)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ClientError>>,
    {
        let mut attempts = 0u32;
        let mut maybe_took_effect = false;
        loop {
            attempts += 1;
            let sent_at = std::time::Instant::now();
            let result = call().await;
            // Every answer tells the pace the network's spread; a lost reply tells nothing.
            if matches!(
                result,
                Ok(_) | Err(ClientError::Api { .. } | ClientError::HttpStatus { .. })
            ) {
                self.limits.answered(endpoint, sent_at.elapsed());
            }
            let err = match result {
                Ok(reply) => return (Ok(reply), attempts),
                Err(err) => err,
            };
            maybe_took_effect |= err.is_uncertain();
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
                        class: err.class(),
                    }
                }
            };
            let inside =
                window_from_ms.is_some_and(|from| inside_dedup_window(endpoint, from, now_ms()));
            let next = self
                .retry
                .decide(&err, attempts, inside, rand::random::<f64>());
            let (delay, rate_limited) = match next {
                Next::StopRun if maybe_took_effect => {
                    self.stop_for(&err);
                    return (Err(give_up(error_text(&err))), attempts);
                }
                // The server refused before acting on it: retryable once the setting is fixed.
                Next::StopRun => {
                    self.stop_for(&err);
                    let outcome = Outcome::Failed {
                        code: err.code(),
                        text: format!("not sent, the run stopped: {}", error_text(&err)),
                        class: ErrorClass::Retry,
                    };
                    return (Err(outcome), attempts);
                }
                Next::Fail => {
                    let outcome = Outcome::Failed {
                        code: err.code(),
                        text: error_text(&err),
                        class: err.class(),
                    };
                    return (Err(outcome), attempts);
                }
                Next::Uncertain => {
                    let outcome = Outcome::Uncertain {
                        msg_key: None,
                        text: error_text(&err),
                    };
                    return (Err(outcome), attempts);
                }
                Next::OutOfAttempts => {
                    let text = format!("{} (after {attempts} attempts)", error_text(&err));
                    return (Err(give_up(text)), attempts);
                }
                Next::Retry {
                    delay,
                    rate_limited,
                } => (delay, rate_limited),
            };
            if rate_limited {
                self.limits.rate_limited(endpoint);
            }
            if !self.stop.sleep(delay).await
                || !self.limits.acquire(endpoint, recipients, &self.stop).await
            {
                let text = format!("{} (not retried: the run stopped)", error_text(&err));
                return (Err(give_up(text)), attempts);
            }
        }
    }

    /// Stops the campaign, or the whole run when the error concerns every campaign of the app.
    fn stop_for(&self, err: &ClientError) {
        match err.code() {
            Some(code) if crate::im::codes::CAMPAIGN_FATAL_CODES.contains(&code) => {
                self.stop.fatal(err.to_string());
            }
            _ => self.stop.fatal_for_app(err.to_string()),
        }
    }

    /// [`Ctx::with_retries`] for a call to one recipient whose reply carries a MsgKey.
    pub(crate) async fn single<T, F, Fut>(
        &self,
        target: &dyn SendTarget,
        call: &Call,
        send: F,
        key: impl FnOnce(T) -> Outcome,
    ) -> Sent
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ClientError>>,
    {
        let window_from = target.dedup_window().map(|_| call.intent_at_ms);
        let (result, attempts) = self
            .with_retries(target.endpoint(), 1, window_from, send)
            .await;
        (vec![result.map_or_else(|o| o, key)], attempts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
