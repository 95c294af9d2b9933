//! The run itself: the planner's recipients streamed in, grouped into calls, held to the
//! schedule, the concurrency limit and the rate limiters, and dispatched as send tasks whose
//! intents are committed before their calls go out.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use super::dispatch::{Dispatcher, Held, admit, defer};
use super::journal_writer::{Advance, JournalWriter};
use super::limiter::Limits;
use super::progress::Counters;
use super::retry::RetryPolicy;
use super::send::{Ctx, Flavor, Job, SendTarget};
use super::targets::{BatchSendMsg, OfficialAccount, SendMsg, Stream};
use super::timing::{Admit, Timing};
use super::unsent::{SendTimeCap, UnsentWriter};
use super::watermark::Watermark;
use super::{
    ApplyError, ApplyOptions, RunSummary, Stop, in_flight_sends, inside_dedup_window, now_ms,
};
use crate::campaign::LoadedCampaign;
use crate::campaign::model::BatchMode;
use crate::im::ImClient;
use crate::plan::quota::HourQuota;
use crate::plan::request::{self, ContentHash, RequestSettings};
use crate::plan::{self, DiffState, Plan, PlannedSend};
use crate::render::RenderedMessage;
use crate::schedule::WaitReason;

/// Pending sends grouped by identical content (and, with per-recipient windows, by time zone,
/// so that one batch opens and closes with one window), flushed as batches of up to 500.
struct Buckets {
    open: HashMap<BucketKey, Bucket>,
}

/// Sends received between two moves of the journal's checkpoint.
const ADVANCE_EVERY: u64 = 16;

/// A bucket's content, time zone (with per-recipient windows) and variant and translation.
type BucketKey = (ContentHash, Option<String>, Flavor);

struct Bucket {
    message: RenderedMessage,
    to: Vec<String>,
    rows: Vec<u64>,
    zone: jiff::tz::TimeZone,
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
    let mut journal = options.state.open()?;
    // Other campaigns' caps count this one by its tags from now on.
    journal.set_tags(&campaign.name, &campaign.tags)?;
    let capped = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let send_time_cap = match &campaign.frequency_cap {
        Some(cap) => options.state.open_existing()?.map(|reader| {
            Arc::new(SendTimeCap::new(
                crate::plan::caps::CapCheck::new(cap, &campaign.name, now_ms()),
                reader,
                capped.clone(),
            ))
        }),
        None => None,
    };
    let in_flight = in_flight_sends(journal.as_ref(), &campaign.name)?;
    // An official account takes 2 broadcasts an hour; the journal knows this machine's.
    // (A resend of the account's own interrupted broadcast is no new broadcast.)
    let official_hour_full = match &campaign.audience.official_account {
        Some(account) if !in_flight.contains_key(account) => {
            HourQuota::read(journal.as_ref(), account, now_ms())?.held_back()
        }
        _ => None,
    };
    // Runners applying other campaigns of this app now split its limits with this one.
    let budget = journal.join_rate_budget(client.sdkappid(), &campaign.name)?;
    let writer = JournalWriter::start(journal);
    // Nothing before it to send: the first pass found every earlier row settled.
    let from_row = plan.first_unsettled_row.unwrap_or(u64::MAX);
    let watermark = Arc::new(Watermark::new(from_row));
    let advance = |row: u64| {
        if let Some(digest) = &options.inputs_digest {
            writer.advance(Advance {
                campaign: campaign.name.clone(),
                digest: digest.clone(),
                row,
            });
        }
    };
    let delivery = &campaign.delivery;
    let limits = Limits::new(delivery.rate, delivery.recipients_per_minute);
    if let Some(budget) = &budget {
        limits.share_with(budget.cell());
        if budget.runners() > 1 {
            tracing::info!(
                runners = budget.runners(),
                "sharing the app's rate limits with {} other runner(s) of this app",
                budget.runners() - 1
            );
        }
        if !stop.sleep(budget.start_after()).await {
            drop(writer.close().await);
            return Ok(RunSummary {
                not_started: total,
                interrupted: true,
                ..RunSummary::default()
            });
        }
    }
    let ctx = Arc::new(Ctx {
        campaign: campaign.name.clone(),
        settings: RequestSettings::from_campaign(campaign),
        client,
        limits: limits.clone(),
        stop: stop.clone(),
        writer: writer.clone(),
        counters: counters.clone(),
        retry: RetryPolicy {
            max_attempts: delivery.max_attempts.max(1),
            base: options.backoff_base,
            cap: options.backoff_cap,
        },
        stream: campaign
            .stream
            .as_ref()
            .map(|s| (s.chunk_chars, s.interval_ms)),
        sender: campaign.sender.clone().unwrap_or_default(),
        watermark: watermark.clone(),
    });
    *counters.limits.lock().unwrap_or_else(|p| p.into_inner()) = Some(limits.clone());

    // The planner's second pass, streamed from its own thread.
    let (tx, mut rx) = mpsc::channel::<PlannedSend>(1024);
    let plan_options = crate::plan::PlanOptions {
        now: None,
        ..options.plan_options(&loaded)
    };
    let planner_loaded = loaded.clone();
    let planner_stop = stop.clone();
    let unsent = UnsentWriter::new(&campaign.name, writer.clone());
    let held_out = unsent.held_out.clone();
    // The first pass counted these as not pending already; any more are off the total.
    let capped_before = plan.states.get(&DiffState::Capped).copied().unwrap_or(0);
    if let Some(row) = plan.first_unsettled_row.filter(|row| *row > 2) {
        tracing::debug!(
            "the rows before {row} are all settled: the sending pass starts at row {row}"
        );
    }
    let (planner_capped, planner_counters) = (capped.clone(), counters.clone());
    let planner_watermark = watermark.clone();
    let estimate = plan.pending_is_estimate.then_some(plan.pending);
    let records = plan.journal.records;
    let planner = std::thread::spawn(move || {
        let (mut unsent, tx) = (unsent, tx);
        let mut capped_seen = 0u64;
        let result = {
            let mut sink = |send: PlannedSend| {
                if planner_stop.is_stopped() {
                    return;
                }
                if send.state == DiffState::HeldOut {
                    unsent.held_out(&send.user_id);
                } else if send.state == DiffState::Capped {
                    capped_seen += 1;
                    planner_capped.fetch_add(1, Ordering::Relaxed);
                    if capped_seen > capped_before {
                        planner_counters.not_sending(1);
                    }
                    if let Some(why) = send.capped {
                        unsent.capped(&send.user_id, why);
                    }
                    // The cap is judged again by every run: not settled.
                    if let Some(row) = send.row {
                        planner_watermark.stuck(row);
                    }
                } else if !send.held_out && (send.pending || send.state == DiffState::Uncertain) {
                    let _ = tx.blocking_send(send);
                }
            };
            plan::build_sends(&planner_loaded, &plan_options, from_row, records, &mut sink).map(
                |passed| {
                    // The pass counted what a resumed run only estimated.
                    if let Some(estimate) = estimate.filter(|_| !planner_stop.is_stopped()) {
                        let total = &planner_counters.total;
                        if passed.pending >= estimate {
                            total.fetch_add(passed.pending - estimate, Ordering::Relaxed);
                        } else {
                            total.fetch_sub(estimate - passed.pending, Ordering::Relaxed);
                        }
                    }
                },
            )
        };
        // Before `tx` goes: the executor closes the journal writer once the planner is done.
        unsent.flush();
        drop(tx);
        result
    });

    let official = campaign.audience.official_account.is_some();
    let streaming = campaign.stream.is_some();
    // Which call carries one recipient's message, and whether identical ones share a batch.
    let single: Arc<dyn SendTarget> = if official {
        Arc::new(OfficialAccount)
    } else if streaming {
        Arc::new(Stream)
    } else {
        Arc::new(SendMsg)
    };
    let batch: Option<Arc<dyn SendTarget>> =
        (campaign.delivery.batch == BatchMode::Auto && !official && !streaming)
            .then(|| Arc::new(BatchSendMsg) as Arc<dyn SendTarget>);
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
        cap: send_time_cap.clone(),
        counters: counters.clone(),
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
    let mut received = 0u64;
    while let Some(send) = rx.recv().await {
        if let Some(row) = send.row {
            watermark.handed(row);
        }
        received += 1;
        if received.is_multiple_of(ADVANCE_EVERY) {
            advance(watermark.row());
        }
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
                request::is_hex_of(&f.content_hash, &send.content_hash)
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
            // A canary tests now: it takes the first N recipients whose window is open, not
            // N that wait hours for theirs.
            if options.limit.is_some()
                && timing.per_recipient
                && let Admit::Later(until) = timing.admit(&timing.zone_of(send.timezone.as_deref()))
            {
                defer(&mut summary, 1, until);
                continue;
            }
            admitted += 1;
        }
        if send.state == DiffState::Changed
            && let Some(cap) = &send_time_cap
        {
            cap.was_sent_before(&send.user_id);
        }
        let PlannedSend {
            row,
            user_id,
            message,
            content_hash: hash,
            timezone,
            variant,
            locale,
            ..
        } = send;
        let flavor = Flavor { variant, locale };
        let zone = timing.zone_of(timezone.as_deref());
        if official && let Some(why) = &official_hour_full {
            summary.held_back = Some(why.clone());
            summary.not_started += 1;
            continue;
        }
        let job = match &batch {
            Some(batch) if intent_at_ms.is_none() && plan.shared.recipients_with(&hash) >= 2 => {
                let key = (
                    hash,
                    timing.per_recipient.then(|| crate::zone::name(&zone)),
                    flavor.clone(),
                );
                let entry = buckets.open.entry(key.clone()).or_insert_with(|| Bucket {
                    message,
                    to: Vec::new(),
                    rows: Vec::new(),
                    zone: zone.clone(),
                });
                entry.to.push(user_id);
                entry.rows.extend(row);
                if entry.to.len() < batch.max_recipients() {
                    continue;
                }
                let Some(Bucket {
                    message, to, rows, ..
                }) = buckets.open.remove(&key)
                else {
                    continue;
                };
                Job {
                    target: batch.clone(),
                    to,
                    rows,
                    message,
                    hash,
                    resend_of: None,
                    flavor,
                }
            }
            _ => Job {
                target: single.clone(),
                to: vec![user_id],
                rows: row.into_iter().collect(),
                message,
                hash,
                resend_of: intent_at_ms,
                flavor,
            },
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
    let mut rest: Vec<(BucketKey, Bucket)> = buckets.open.drain().collect();
    rest.sort_by(|a, b| a.0.cmp(&b.0));
    for (
        (hash, _, flavor),
        Bucket {
            message,
            to,
            rows,
            zone,
        },
    ) in rest
    {
        let n = to.len() as u64;
        if stop.is_stopped() || past_schedule(&mut summary).is_some() {
            summary.not_started += n;
            continue;
        }
        let target = match &batch {
            Some(batch) if to.len() > 1 => batch.clone(),
            _ => single.clone(),
        };
        let job = Job {
            target,
            to,
            rows,
            message,
            hash,
            resend_of: None,
            flavor,
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
    advance(watermark.row());
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
    summary.held_out = held_out.load(Ordering::Relaxed);
    summary.capped = capped.load(Ordering::Relaxed);
    summary.unknown_codes = counters
        .unknown_codes
        .lock()
        .map(|codes| codes.clone())
        .unwrap_or_default();
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
