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

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::targets;
use super::{ApplyError, Stop, inside_dedup_window, now_ms};
use crate::campaign::LoadedCampaign;
use crate::im::types::{GetRoamMsgRequest, GetRoamMsgResponse, RoamMsg, sent_fields_problem};
use crate::im::{ClientError, Endpoint, ErrorClass, ImClient};
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

/// Everything a target needs to settle its sends from the history.
pub(crate) struct SettleCtx {
    client: ImClient,
    /// `From_Account` as the server recorded it: the campaign's sender, or the admin.
    sender: String,
    /// `SyncOtherMachine` 1: the sender's own history has the message, and is read (it is the
    /// campaign's own account, which recipients cannot clear); with 2 only the recipient's has it.
    sender_history: bool,
    retention_ms: i64,
    pacer: DefaultDirectRateLimiter,
    stop: Stop,
    max_attempts: u32,
    backoff_base: Duration,
    backoff_cap: Duration,
}

impl std::fmt::Debug for SettleCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SettleCtx")
            .field("sender", &self.sender)
            .field("sender_history", &self.sender_history)
            .finish_non_exhaustive()
    }
}

pub(crate) type VerdictFuture<'a> = Pin<Box<dyn std::future::Future<Output = Verdict> + Send + 'a>>;

/// A time for messages: RFC 3339 UTC to the second.
fn clock(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

fn days(d: Duration) -> String {
    crate::campaign::model::HumanDuration::from_secs(d.as_secs()).to_string()
}

impl SettleCtx {
    /// Looks a one-to-one send up in the conversation's history: the sendmsg and batchsendmsg
    /// targets settle their sends with this.
    pub(crate) async fn c2c_history(&self, record: &SendRecord) -> Verdict {
        let now = now_ms();
        if now.saturating_sub(record.intent_at_ms) > self.retention_ms {
            return Verdict::Undecided {
                why: format!(
                    "older than the server keeps one-to-one history ({} of roaming retention), so the history cannot tell whether it arrived; if your app keeps history longer, pass --history-retention (sent {})",
                    days(Duration::from_millis(
                        u64::try_from(self.retention_ms).unwrap_or(0)
                    )),
                    clock(record.intent_at_ms)
                ),
            };
        }
        let skew = i64::try_from(CLOCK_SKEW.as_secs()).unwrap_or(300);
        let min_time =
            u64::try_from((record.intent_at_ms / 1000).saturating_sub(skew)).unwrap_or(0);
        let max_time = u64::try_from((now / 1000).saturating_add(skew)).unwrap_or(u64::MAX);
        let (operator, peer) = if self.sender_history {
            (self.sender.as_str(), record.recipient.as_str())
        } else {
            (record.recipient.as_str(), self.sender.as_str())
        };
        let mut request = GetRoamMsgRequest::first_page(operator, peer, min_time, max_time);
        for _ in 0..MAX_PAGES {
            let reply = match self.page(&request).await {
                Ok(reply) => reply,
                Err(why) => return Verdict::Undecided { why },
            };
            if let Some(found) = reply.msg_list.iter().find(|m| self.is_the_send(m, record)) {
                let msg_time = i64::try_from(found.msg_time_stamp).unwrap_or(0);
                let key = (!found.msg_key.is_empty()
                    && sent_fields_problem(Some(&found.msg_key), Some(found.msg_time_stamp))
                        .is_none())
                .then(|| found.msg_key.clone());
                return Verdict::Sent {
                    msg_key: key,
                    msg_time,
                };
            }
            let complete = reply.is_complete();
            match request.next_page(&reply) {
                Some(next) => request = next,
                None if complete => {
                    return Verdict::NotSent {
                        why: format!(
                            "not sent: {operator}'s history with {peer} from {} to {} has no message with its MsgSeq {} and MsgRandom {} (admin_getroammsg); sent again by the next apply",
                            clock(i64::try_from(min_time).unwrap_or(0).saturating_mul(1000)),
                            clock(i64::try_from(max_time).unwrap_or(0).saturating_mul(1000)),
                            record.msg_seq,
                            record.msg_random
                        ),
                    };
                }
                None => {
                    return Verdict::Undecided {
                        why: "the history's pages did not advance (admin_getroammsg repeated its LastMsgKey)".to_owned(),
                    };
                }
            }
        }
        Verdict::Undecided {
            why: format!("the history had more than {MAX_PAGES} pages in the window"),
        }
    }

    fn is_the_send(&self, m: &RoamMsg, record: &SendRecord) -> bool {
        m.msg_seq == u64::from(record.msg_seq)
            && m.msg_random == u64::from(record.msg_random)
            && m.from_account == self.sender
            && m.to_account == record.recipient
    }

    /// One page, paced and retried: a read changes nothing, so any retryable failure (a lost
    /// reply included) is simply asked again.
    async fn page(&self, request: &GetRoamMsgRequest) -> Result<GetRoamMsgResponse, String> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            tokio::select! {
                _ = self.pacer.until_ready() => {}
                _ = self.stop.stopped() => return Err(self.not_looked_up()),
            }
            if self.stop.is_stopped() {
                return Err(self.not_looked_up());
            }
            let err = match self.client.admin_get_roam_msg(request).await {
                Ok(reply) => return Ok(reply),
                Err(err) => err,
            };
            let class = err.class();
            if class == ErrorClass::FatalRun {
                // Every lookup would fail the same way: stop looking (sending may still work).
                let why = format!("the history lookup was refused: {err}");
                self.stop.fatal(why.clone());
                return Err(why);
            }
            if !class.is_retryable() || attempt >= self.max_attempts {
                let tries = if attempt == 1 {
                    String::new()
                } else {
                    format!(" (after {attempt} attempts)")
                };
                return Err(format!(
                    "the history lookup failed{tries}: {}",
                    describe(&err)
                ));
            }
            let exp = self
                .backoff_base
                .saturating_mul(1u32 << (attempt - 1).min(16))
                .min(self.backoff_cap);
            let delay = if class == ErrorClass::RateLimited {
                exp.max(Duration::from_millis(500))
            } else {
                exp
            }
            .mul_f64(0.5 + rand::random::<f64>() / 2.0);
            if !self.stop.sleep(delay).await {
                return Err(self.not_looked_up());
            }
        }
    }

    fn not_looked_up(&self) -> String {
        match self.stop.fatal_reason() {
            Some(why) => format!("not looked up: {why}"),
            None => "not looked up: the run stopped".to_owned(),
        }
    }
}

fn describe(err: &ClientError) -> String {
    err.to_string().chars().take(300).collect()
}

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
    journal.for_each_record(campaign, &mut |r| {
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
        journal.for_each_record(&campaign.name, &mut |r| {
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
