//! Starting sends: a job is admitted by the schedule (now, later in its own window, or left
//! for a later run), then takes a concurrency permit and its slot from the rate limiters, is
//! checked against the frequency cap once more, and has its intents committed before the call
//! task goes out.

use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::journal_writer::JournalWriter;
use super::limiter::Limits;
use super::progress::Counters;
use super::send::{Ctx, Job};
use super::timing::{Admit, Timing};
use super::unsent::SendTimeCap;
use super::{RunSummary, Stop, now_ms};
use crate::schedule::WaitReason;

/// Starts sends: a concurrency permit, the limiters, the intent, then the call task.
pub(super) struct Dispatcher {
    pub(super) ctx: Arc<Ctx>,
    pub(super) semaphore: Arc<Semaphore>,
    pub(super) limits: Arc<Limits>,
    pub(super) stop: Stop,
    pub(super) writer: JournalWriter,
    pub(super) cap: Option<Arc<SendTimeCap>>,
    pub(super) counters: Arc<Counters>,
}

impl Dispatcher {
    /// Starts `job`; false when the run stopped before it could start.
    pub(super) async fn dispatch(&self, job: Job, tasks: &mut JoinSet<()>) -> bool {
        let permit = tokio::select! {
            p = self.semaphore.clone().acquire_owned() => p.ok(),
            _ = self.stop.stopped() => None,
        };
        let Some(permit) = permit else {
            return false;
        };
        // Every long wait comes before the intent, so a stop while waiting leaves no trace.
        let Some(slot) = self
            .limits
            .reserve(job.endpoint(), job.recipients(), &self.stop)
            .await
        else {
            return false;
        };
        let mut job = job;
        if let Some(cap) = self.cap.as_ref().filter(|_| !job.resends_interrupted()) {
            let before = job.to.clone();
            match cap.keep_back(&mut job.to, &self.writer) {
                Ok(0) => {}
                Ok(n) => {
                    job.rows_kept_of(&before, &self.ctx.watermark);
                    self.counters.not_sending(n);
                    if job.to.is_empty() {
                        drop(slot);
                        return true;
                    }
                }
                Err(e) => {
                    self.stop
                        .fatal_for_app(format!("the journal cannot be read: {e}"));
                    return false;
                }
            }
        }
        let intents = self.ctx.intents(&job, now_ms());
        // The call waits for this commit: an intent is durable before its call goes out. It is
        // committed during the last moments before the call's slot, so that it does not make
        // the call late: a late call bunches with the next, which a strict server refuses.
        let committed = self.writer.write_durable(intents.clone());
        slot.wait().await;
        let ctx = self.ctx.clone();
        // In the run's span, so that a call's log lines name the campaign.
        tasks.spawn(tracing::Instrument::in_current_span(async move {
            let _permit = permit;
            match committed.await {
                Ok(()) => ctx.run(job, intents).await,
                Err(e) => ctx
                    .stop
                    .fatal_for_app(format!("the journal cannot be written: {e}")),
            }
        }));
        true
    }
}

/// A send whose window is closed, kept until it opens.
pub(super) struct Held {
    pub(super) until: jiff::Timestamp,
    pub(super) zone: jiff::tz::TimeZone,
    pub(super) job: Job,
}

/// Puts a job past the schedule: `Some(job)` to start it now; `None` when it waits in `held`
/// (per-recipient windows), was left for a later run, may not be sent any more, or the run
/// stopped while waiting.
pub(super) async fn admit(
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

pub(super) fn defer(summary: &mut RunSummary, n: u64, until: jiff::Timestamp) {
    summary.not_started += n;
    summary.deferred += n;
    summary.deferred_until = Some(summary.deferred_until.map_or(until, |u| u.min(until)));
}
