//! Settling uncertain sends from the server's one-to-one message history.
//!
//! An uncertain send is one whose call may or may not have taken effect: in flight when a run
//! died (an intent without outcome), or answered with a lost or unreadable reply. timcast
//! derives each send's `MsgSeq` and `MsgRandom` from the campaign, the call and the content,
//! and the server's history (`admin_getroammsg`) lists every message with the `MsgSeq` and
//! `MsgRandom` it was sent with. So each [`SendTarget`] settles its own uncertain sends: the
//! one-to-one ones (sendmsg, batchsendmsg) look the recipient's conversation with the sender
//! up, from the send's intent (less a margin for clock skew) to now, and the send is
//!
//! - **sent** when the history has it: journaled as sent with the server's MsgKey and time,
//!   so `recall` can withdraw it;
//! - **not sent** when the complete history of that window lacks it: journaled as a retryable
//!   failure, which the plan sends again;
//! - still **uncertain** when the history cannot tell: older than the server keeps history
//!   (roaming retention, 7 days by default), the lookup refused, or an API with no such
//!   history (official accounts, chatbot streams). The reason is journaled and shown.
//!
//! A "not sent" verdict must come from a history read after the call could no longer land,
//! so a send is only declared not sent from a lookup that started [`SETTLE_GRACE`] after its
//! last journal write, and — for an intent left by a process that died — after this process
//! took the campaign's lock (the other one had died by then). Settling only ever reads from
//! the server and writes verdicts that are each true on their own, so a settle that is
//! killed half-way loses nothing: the next one does the rest.
//!
//! Here: the options, the verdicts, and the settle itself (which sends, when, and the journal
//! writes); `history` looks one send up, `summary` counts what a settle did.

mod history;
mod summary;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{Quota, RateLimiter};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::targets;
use super::{ApplyError, Stop, inside_dedup_window, now_ms};
use crate::campaign::LoadedCampaign;
use crate::im::{ErrorClass, ImClient};
use crate::journal::{JournalError, JournalStore, SendRecord, SendState, State};

/// How long the server keeps one-to-one history unless told otherwise (roaming retention;
/// paid editions keep it longer).
pub const HISTORY_RETENTION: Duration = Duration::from_secs(7 * 86_400);
/// Added to both ends of the window looked up: the server's clock and this machine's differ.
pub const CLOCK_SKEW: Duration = Duration::from_secs(300);
/// How long after a send's last journal write (or after the campaign's lock was taken, for a
/// dead run's intent) its absence from the history proves it was not sent: a call the server
/// had received is in its history by then.
pub const SETTLE_GRACE: Duration = Duration::from_secs(3);
/// Most pages read of one conversation: a server that never completes cannot hold a run.
const MAX_PAGES: usize = 1_000;
/// Fewest attempts a lookup gets before its send stays uncertain.
const LOOKUP_ATTEMPTS: u32 = 10;
/// Verdicts written to the journal per transaction.
const WRITE_CHUNK: usize = 500;

/// Which uncertain sends to look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every uncertain send of the campaign (`timcast reconcile`).
    All,
    /// Those an identical resend cannot settle: past the server's duplicate window, and every
    /// batch's (batchsendmsg has none); `apply` does this before it sends.
    PastDedupWindow,
}

/// How to settle.
#[derive(Debug, Clone)]
pub struct SettleOptions {
    pub scope: Scope,
    /// How long the server keeps one-to-one history ([`HISTORY_RETENTION`] by default).
    pub retention: Duration,
    /// See [`SETTLE_GRACE`].
    pub grace: Duration,
    /// First retry delay of a lookup; doubled per attempt.
    pub backoff_base: Duration,
    /// Longest retry delay.
    pub backoff_cap: Duration,
}

impl SettleOptions {
    pub fn new(scope: Scope) -> Self {
        SettleOptions {
            scope,
            retention: HISTORY_RETENTION,
            grace: SETTLE_GRACE,
            backoff_base: Duration::from_millis(200),
            backoff_cap: Duration::from_secs(10),
        }
    }
}

/// What the history says about one uncertain send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The server has it: its MsgKey (when well formed) and time, Unix seconds.
    Sent {
        msg_key: Option<String>,
        msg_time: i64,
    },
    /// The history of the whole window lacks it: safe to send.
    NotSent { why: String },
    /// The history cannot tell.
    Undecided { why: String },
}

pub(crate) use history::{SettleCtx, VerdictFuture};
pub use summary::{SettleSummary, Settled};

/// The states of a send whose outcome is unknown: the only records settling reads.
const UNCERTAIN: &[SendState] = &[SendState::Intent, SendState::Uncertain];

/// Whether settling would look `record` up (or mark it): an uncertain send in `scope` whose
/// target reads the history and that is recent enough for the history to tell.
fn in_scope(record: &SendRecord, scope: Scope, retention_ms: i64, now: i64) -> bool {
    if !matches!(record.state, SendState::Intent | SendState::Uncertain) {
        return false;
    }
    match scope {
        Scope::All => true,
        Scope::PastDedupWindow => {
            let readable = targets::for_endpoint(record.endpoint)
                .is_some_and(|t| t.settles_from_history())
                && now.saturating_sub(record.intent_at_ms) <= retention_ms;
            !inside_dedup_window(record.endpoint, record.intent_at_ms, now)
                // A dead run's intent that the history cannot settle still gets its reason.
                && (readable || record.state == SendState::Intent)
        }
    }
}

/// The uncertain sends of `campaign` that settling in `scope` would look at.
pub fn count(
    journal: &dyn JournalStore,
    campaign: &str,
    options: &SettleOptions,
) -> Result<u64, JournalError> {
    let now = now_ms();
    let retention_ms = duration_ms(options.retention);
    let mut n = 0;
    journal.for_each_record_in(campaign, UNCERTAIN, &mut |r| {
        if in_scope(&r, options.scope, retention_ms, now) {
            n += 1;
        }
    })?;
    Ok(n)
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The record as the verdict leaves it.
fn settled_record(mut record: SendRecord, verdict: &Verdict, now: i64) -> SendRecord {
    record.updated_at_ms = now;
    match verdict {
        Verdict::Sent { msg_key, msg_time } => {
            record.state = SendState::Sent;
            record.msg_key = msg_key.clone();
            record.msg_time = Some(*msg_time);
            record.error_code = None;
            record.error_text = None;
            record.error_class = None;
        }
        Verdict::NotSent { why } => {
            record.state = SendState::Failed;
            record.msg_key = None;
            record.msg_time = None;
            record.error_code = None;
            record.error_text = Some(why.clone());
            record.error_class = Some(ErrorClass::Retry);
        }
        Verdict::Undecided { why } => {
            record.state = SendState::Uncertain;
            record.error_text = Some(why.clone());
        }
    }
    record
}

/// Settles the uncertain sends of a campaign in `options.scope` from the server's history,
/// and journals every verdict in `state`. The caller holds the campaign's lock.
pub async fn settle(
    loaded: &LoadedCampaign,
    state: &State,
    client: &ImClient,
    options: &SettleOptions,
    stop: &Stop,
) -> Result<SettleSummary, ApplyError> {
    let campaign = &loaded.campaign;
    let started = now_ms();
    let retention_ms = duration_ms(options.retention);
    let mut records = Vec::new();
    if let Some(journal) = state.open_existing()? {
        journal.for_each_record_in(&campaign.name, UNCERTAIN, &mut |r| {
            if in_scope(&r, options.scope, retention_ms, started) {
                records.push(r);
            }
        })?;
    }
    let mut summary = SettleSummary::default();
    if records.is_empty() {
        return Ok(summary);
    }
    let delivery = &campaign.delivery;
    let rate = if delivery.rate.is_finite() && delivery.rate > 0.0 {
        delivery.rate
    } else {
        1.0
    };
    let period = Duration::from_secs_f64(1.0 / rate).max(Duration::from_nanos(1));
    let quota = Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::MIN);
    let ctx = Arc::new(SettleCtx {
        client: client.clone(),
        sender: campaign
            .sender
            .clone()
            .unwrap_or_else(|| client.admin().to_owned()),
        sender_history: campaign.controls.sync_to_sender,
        retention_ms,
        pacer: RateLimiter::direct(quota),
        stop: stop.child(),
        // A read changes nothing: retrying it is always safe, so it is retried harder.
        max_attempts: delivery.max_attempts.max(LOOKUP_ATTEMPTS),
        backoff_base: options.backoff_base,
        backoff_cap: options.backoff_cap,
    });
    let concurrency = usize::try_from(delivery.concurrency.max(1)).unwrap_or(1);
    let grace = duration_ms(options.grace);
    // A verdict of "not sent" counts only from a lookup that started once the call could no
    // longer land: `grace` after the send's last journal write and, for a dead run's intent,
    // after the lock was taken (before `started`).
    let ready_at = |r: &SendRecord| {
        let last = if r.state == SendState::Intent {
            r.updated_at_ms.max(started)
        } else {
            r.updated_at_ms
        };
        last.saturating_add(grace)
    };
    let mut verdicts = look_up(&ctx, records, concurrency).await;
    // Those found missing too soon are looked up again once they are ready.
    let (early, mut done): (Vec<_>, Vec<_>) = verdicts.drain(..).partition(|(r, v, looked_at)| {
        matches!(v, Verdict::NotSent { .. }) && *looked_at < ready_at(r)
    });
    if !early.is_empty() {
        let until = early.iter().map(|(r, _, _)| ready_at(r)).max().unwrap_or(0);
        let wait = Duration::from_millis(u64::try_from(until - now_ms()).unwrap_or(0));
        let records: Vec<SendRecord> = early.into_iter().map(|(r, _, _)| r).collect();
        if ctx.stop.sleep(wait).await {
            done.extend(look_up(&ctx, records, concurrency).await);
        } else {
            let why = ctx.not_looked_up();
            done.extend(records.into_iter().map(|r| {
                let v = Verdict::Undecided { why: why.clone() };
                (r, v, 0)
            }));
        }
    }
    // The journal's order, so the summary reads like the report.
    done.sort_by(|a, b| {
        (a.0.intent_at_ms, &a.0.recipient).cmp(&(b.0.intent_at_ms, &b.0.recipient))
    });
    let mut journal = state.open()?;
    let now = now_ms();
    let mut writes = Vec::with_capacity(WRITE_CHUNK);
    for (record, verdict, _) in done {
        summary.settled.push(Settled {
            recipient: record.recipient.clone(),
            endpoint: record.endpoint,
            verdict: verdict.clone(),
        });
        let unchanged = matches!(&verdict, Verdict::Undecided { why }
            if record.state == SendState::Uncertain && record.error_text.as_deref() == Some(why));
        if !unchanged {
            writes.push(settled_record(record, &verdict, now));
        }
        if writes.len() >= WRITE_CHUNK {
            journal.upsert(&writes)?;
            writes.clear();
        }
    }
    if !writes.is_empty() {
        journal.upsert(&writes)?;
    }
    summary.stopped = ctx
        .stop
        .fatal_reason()
        .or_else(|| stop.is_stopped().then(|| "the run stopped".to_owned()));
    Ok(summary)
}

/// Looks every record up, `concurrency` at a time: (record, verdict, when its lookup started).
async fn look_up(
    ctx: &Arc<SettleCtx>,
    records: Vec<SendRecord>,
    concurrency: usize,
) -> Vec<(SendRecord, Verdict, i64)> {
    let semaphore = Arc::new(Semaphore::new(concurrency));
    let mut tasks = JoinSet::new();
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        let Ok(permit) = semaphore.clone().acquire_owned().await else {
            break;
        };
        let ctx = ctx.clone();
        tasks.spawn(async move {
            let _permit = permit;
            let looked_at = now_ms();
            let verdict = match targets::for_endpoint(record.endpoint) {
                Some(target) => target.settle(&ctx, &record).await,
                None => Verdict::Undecided {
                    why: format!("{} is not a send", record.endpoint),
                },
            };
            (record, verdict, looked_at)
        });
        while let Some(Ok(done)) = tasks.try_join_next() {
            out.push(done);
        }
    }
    while let Some(joined) = tasks.join_next().await {
        if let Ok(done) = joined {
            out.push(done);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::im::Endpoint;
    use crate::journal::test_record;

    #[test]
    fn apply_looks_up_what_a_resend_cannot_settle_and_reconcile_everything() {
        let now = 1_800_000_000_000;
        let week = duration_ms(HISTORY_RETENTION);
        let mut fresh = test_record("u1", SendState::Intent);
        fresh.intent_at_ms = now - 5_000;
        let mut old = fresh.clone();
        old.intent_at_ms = now - 600_000;
        let mut batch = fresh.clone();
        batch.endpoint = Endpoint::BatchSendMsg;
        let mut ancient = old.clone();
        ancient.intent_at_ms = now - week - 1;
        ancient.state = SendState::Uncertain;
        let sent = test_record("u2", SendState::Sent);
        let past = Scope::PastDedupWindow;
        // Inside sendmsg's window an identical resend settles it; past it, or in a batch, the
        // history does.
        assert!(!in_scope(&fresh, past, week, now));
        assert!(in_scope(&old, past, week, now));
        assert!(in_scope(&batch, past, week, now));
        // Beyond the retention an uncertain send is left as it is (nothing to read) ...
        assert!(!in_scope(&ancient, past, week, now));
        // ... but a dead run's intent gets its reason written once.
        ancient.state = SendState::Intent;
        assert!(in_scope(&ancient, past, week, now));
        assert!(!in_scope(&sent, past, week, now));
        for r in [&fresh, &old, &batch, &ancient] {
            assert!(in_scope(r, Scope::All, week, now));
        }
        assert!(!in_scope(&sent, Scope::All, week, now));
    }

    #[test]
    fn verdicts_become_journal_states_the_plan_acts_on() {
        let mut record = test_record("u1", SendState::Intent);
        record.error_text = Some("HTTP 502".into());
        let sent = settled_record(
            record.clone(),
            &Verdict::Sent {
                msg_key: Some("1_2_3".into()),
                msg_time: 3,
            },
            9,
        );
        assert_eq!(sent.state, SendState::Sent);
        assert_eq!(sent.msg_key.as_deref(), Some("1_2_3"));
        assert_eq!(
            (sent.msg_time, sent.error_text, sent.updated_at_ms),
            (Some(3), None, 9)
        );
        let not = settled_record(record.clone(), &Verdict::NotSent { why: "gone".into() }, 9);
        assert_eq!(not.state, SendState::Failed);
        assert!(
            not.error_class.is_some_and(|c| c.is_retryable()),
            "the plan resends it"
        );
        let open = settled_record(record, &Verdict::Undecided { why: "old".into() }, 9);
        assert_eq!(open.state, SendState::Uncertain);
        assert_eq!(open.error_text.as_deref(), Some("old"));
        assert_eq!(
            open.intent_at_ms, 1,
            "the duplicate window still counts from the intent"
        );
    }
}
