//! The session pipeline every sending path runs — `apply`, `run --due`, saved plans and the
//! benches: load → lock → plan → execute (journaling as it goes) → summary.
//!
//! What differs between the commands (confirmation, schedule notes, how a result is printed)
//! stays in the commands; the order of the steps and what each guards lives only here.

use std::path::Path;
use std::sync::Arc;

use crate::apply::progress::Counters;
use crate::apply::settle::{self, Scope, SettleSummary};
use crate::apply::{self, ApplyError, ApplyOptions, RunSummary, Stop};
use crate::campaign::LoadedCampaign;
use crate::im::ImClient;
use crate::journal::{CampaignLock, Checkpoint};
use crate::plan::{self, Plan};

/// A campaign locked in its journal and planned, ready to execute.
#[derive(Debug)]
pub(crate) struct Session {
    pub loaded: Arc<LoadedCampaign>,
    pub options: ApplyOptions,
    pub plan: Plan,
    /// Sends of an interrupted run that will be resent inside the duplicate window.
    pub resendable_in_window: u64,
    /// Uncertain sends the server's history may settle before anything is sent.
    pub settleable: u64,
    /// What settling them did, once it ran.
    pub settled: Option<SettleSummary>,
    /// When the run sends from the journal's checkpoint without counting first: the
    /// checkpoint, whose inputs are the campaign's now.
    pub resumed: Option<Checkpoint>,
    // Held until the session ends: no second apply of the campaign meanwhile.
    _lock: CampaignLock,
}

impl Session {
    /// Takes the campaign's lock, then plans under it (another run may have written the
    /// journal until the lock was ours).
    pub(crate) fn open(
        loaded: Arc<LoadedCampaign>,
        mut options: ApplyOptions,
    ) -> Result<Session, ApplyError> {
        let name = &loaded.campaign.name;
        // Rows number the recipients of a CSV audience only; an unreadable input is the
        // plan's to report. Read while the journal opens (a server may take a while).
        let settling = options.settling();
        let (opened, digest) = std::thread::scope(|scope| {
            let digest = scope.spawn(|| {
                loaded
                    .campaign
                    .audience
                    .csv
                    .as_ref()
                    .and_then(|_| plan::saved::inputs_digest(&loaded, &settling).ok())
            });
            let opened = options
                .state
                .open()
                .and_then(|journal| Ok((journal.lock(name)?, journal)));
            (opened, digest.join().ok().flatten())
        });
        let (lock, journal) = opened?;
        options.inputs_digest = digest;
        // A cap is judged again on every run, and its verdicts are what the counts show.
        let resumable = options.resume_at_checkpoint && loaded.campaign.frequency_cap.is_none();
        let checkpoint = match &options.inputs_digest {
            Some(digest) if resumable => journal
                .checkpoint(name)?
                .filter(|checkpoint| &checkpoint.digest == digest),
            _ => None,
        };
        // With nothing left past the checkpoint, the counts say what was sent.
        let fast = checkpoint
            .as_ref()
            .map(|checkpoint| resumed_plan(&loaded, &options, journal.as_ref(), checkpoint))
            .transpose()?
            .filter(|plan| plan.pending > 0);
        let resumed = checkpoint.filter(|_| fast.is_some());
        let plan = match fast {
            Some(plan) => {
                tracing::debug!(
                    "took the lock of campaign {name}; its inputs are unchanged since they were checked: sending from row {}",
                    plan.first_unsettled_row.unwrap_or(0)
                );
                plan
            }
            None => {
                tracing::debug!("took the lock of campaign {name}; counting");
                let plan = plan::build_counts(&loaded, &options.plan_options(&loaded))?;
                if let Some(digest) = options.inputs_digest.clone().filter(|_| !plan.blocked) {
                    journal.save_checkpoint(
                        name,
                        &Checkpoint {
                            digest,
                            settled_before_row: plan.first_unsettled_row.unwrap_or(u64::MAX),
                            shared: plan.shared.to_bytes(),
                            checked_at_ms: jiff::Timestamp::now().as_millisecond(),
                        },
                    )?;
                }
                plan
            }
        };
        let resendable_in_window = apply::count_resendable_in_window(&loaded, &options)?;
        let settleable = match options.state.open_existing()? {
            Some(journal) if options.settle_uncertain => settle::count(
                journal.as_ref(),
                &loaded.campaign.name,
                &options.settle_options(Scope::PastDedupWindow),
            )?,
            _ => 0,
        };
        if resumed.is_none() {
            tracing::debug!("counted: {} pending", plan.pending);
        }
        Ok(Session {
            loaded,
            options,
            plan,
            resendable_in_window,
            settleable,
            settled: None,
            resumed,
            _lock: lock,
        })
    }

    /// Settles the uncertain sends a resend cannot (past the duplicate window, and every
    /// batch's) from the server's message history, under the session's lock, and plans again
    /// when that changed anything: sent ones are `=` now, not-sent ones pending. Runs once;
    /// `execute` calls it when the command did not.
    pub(crate) async fn settle(
        &mut self,
        client: &ImClient,
        stop: &Stop,
    ) -> Result<Option<&SettleSummary>, ApplyError> {
        if self.settled.is_none() && self.settleable > 0 {
            let summary = settle::settle(
                &self.loaded,
                &self.options.state,
                client,
                &self.options.settle_options(Scope::PastDedupWindow),
                stop,
            )
            .await?;
            if summary.changed() && self.resumed.is_none() {
                self.recount()?;
            } else if summary.changed() {
                // Those settled as not sent are pending past the checkpoint's row: the sending
                // pass finds them.
                self.resendable_in_window =
                    apply::count_resendable_in_window(&self.loaded, &self.options)?;
            }
            self.settleable = 0;
            self.settled = Some(summary);
        }
        Ok(self.settled.as_ref())
    }

    /// Counts again after settling changed the journal.
    fn recount(&mut self) -> Result<(), ApplyError> {
        self.plan = plan::build_counts(&self.loaded, &self.options.plan_options(&self.loaded))?;
        self.resendable_in_window = apply::count_resendable_in_window(&self.loaded, &self.options)?;
        Ok(())
    }

    /// Validates the campaign file and opens a session on it (the library's one-call path).
    pub(crate) fn open_file(path: &Path, options: ApplyOptions) -> Result<Session, ApplyError> {
        let loaded = crate::campaign::validate(path)
            .into_result()
            .map_err(|v| ApplyError::Invalid(v.render()))?;
        Session::open(Arc::new(loaded), options)
    }

    /// Whether there is anything to send (a canary's limit counts).
    pub(crate) fn to_send(&self) -> u64 {
        self.options
            .limit
            .map_or(self.plan.pending, |l| l.min(self.plan.pending))
    }

    pub(crate) fn has_work(&self) -> bool {
        self.to_send() > 0 || self.resendable_in_window > 0 || self.settleable > 0
    }

    /// Settles what is uncertain (unless done already), then sends the plan; then settles
    /// the run's own uncertain sends (lost replies) the same way and sends what did not
    /// arrive, for a few rounds. The lock is released when this returns.
    pub(crate) async fn execute(
        mut self,
        client: ImClient,
        stop: Stop,
        counters: Arc<Counters>,
    ) -> Result<RunSummary, ApplyError> {
        self.settle(&client, &stop).await?;
        let mut summary = apply::execute(
            self.loaded.clone(),
            &self.plan,
            &self.options,
            client.clone(),
            stop.clone(),
            counters.clone(),
        )
        .await?;
        if let Some(settled) = &self.settled {
            summary.settled_sent = settled.sent();
            summary.settled_not_sent = settled.not_sent();
        }
        for _ in 0..MAX_SETTLE_ROUNDS {
            let finished = summary.interrupted
                || summary.fatal.is_some()
                || summary.held_back.is_some()
                || stop.is_stopped();
            if finished || summary.uncertain == 0 || !self.options.settle_uncertain {
                break;
            }
            let Some(next) = self.next_round(&client, &stop, &counters).await? else {
                break;
            };
            summary = next.merged_into(summary);
        }
        Ok(summary)
    }

    /// One more round after a run left sends uncertain: settle them from the history, plan
    /// again, and send the plan; `None` when that leaves nothing to send.
    async fn next_round(
        &mut self,
        client: &ImClient,
        stop: &Stop,
        counters: &Arc<Counters>,
    ) -> Result<Option<Round>, ApplyError> {
        let options = self.options.settle_options(Scope::PastDedupWindow);
        let settled =
            settle::settle(&self.loaded, &self.options.state, client, &options, stop).await?;
        if !settled.changed() {
            return Ok(None);
        }
        self.recount()?;
        // Only what did not arrive is worth another round (it also retries what failed with a
        // retryable error, as the next apply would).
        if settled.not_sent() == 0 && self.resendable_in_window == 0 {
            return Ok(Some(Round {
                settled,
                retried: 0,
                run: None,
            }));
        }
        // Sends this round makes again: counted once, in the state this round leaves them in.
        let retried = self.plan.count(plan::DiffState::Retry) + self.resendable_in_window;
        // The counters show this round (unknown codes keep adding up).
        for counter in [&counters.sent, &counters.failed, &counters.uncertain] {
            counter.store(0, std::sync::atomic::Ordering::Relaxed);
        }
        let run = apply::execute(
            self.loaded.clone(),
            &self.plan,
            &self.options,
            client.clone(),
            stop.clone(),
            counters.clone(),
        )
        .await?;
        Ok(Some(Round {
            settled,
            retried,
            run: Some(run),
        }))
    }
}

/// The plan a run resumed at `checkpoint` sends from: its row, the messages its check found
/// shared, and the audience's lines from that row as an estimate of the sends (the sending
/// pass counts them exactly).
fn resumed_plan(
    loaded: &LoadedCampaign,
    options: &ApplyOptions,
    journal: &dyn crate::journal::JournalStore,
    checkpoint: &Checkpoint,
) -> Result<Plan, ApplyError> {
    let read = plan::JournalRead {
        path: options.state.shown(),
        exists: true,
        records: journal.count(&loaded.campaign.name)?,
    };
    let mut plan = Plan::empty(loaded, read);
    let row = checkpoint.settled_before_row;
    plan.first_unsettled_row = Some(row);
    plan.shared = plan::SharedContent::from_bytes(&checkpoint.shared);
    let lines = loaded
        .campaign
        .audience
        .csv
        .as_ref()
        .and_then(|csv| loaded.resolve(csv).ok())
        .and_then(|path| crate::audience::count_lines(&path))
        .unwrap_or(0);
    // Row n is line n of the file (the header is line 1).
    plan.pending = (lines + 1).saturating_sub(row);
    plan.pending_is_estimate = true;
    Ok(plan)
}

/// Rounds of settling a run's own uncertain sends and sending what did not arrive.
const MAX_SETTLE_ROUNDS: usize = 10;

/// A round after the first: what settling found, and the run that sent what had not arrived.
struct Round {
    settled: SettleSummary,
    /// Failed (retryable) and still-uncertain sends of earlier rounds that this one resent.
    retried: u64,
    run: Option<RunSummary>,
}

impl Round {
    /// The run so far with this round added: sends counted once, in the state they ended in.
    fn merged_into(self, before: RunSummary) -> RunSummary {
        let (found, missing) = (self.settled.sent(), self.settled.not_sent());
        let mut merged = before;
        merged.sent += found;
        merged.uncertain = merged.uncertain.saturating_sub(found + missing);
        merged.settled_sent += found;
        merged.settled_not_sent += missing;
        if let Some(run) = self.run {
            // What this round resent leaves the failed and uncertain of earlier rounds: take it
            // out there first (failed first: a retryable failure is what a plan retries).
            let from_failed = self.retried.min(merged.failed);
            merged.failed -= from_failed;
            merged.uncertain = merged.uncertain.saturating_sub(self.retried - from_failed);
            merged.sent += run.sent;
            merged.failed += run.failed;
            merged.uncertain += run.uncertain;
            merged.resent_in_window += run.resent_in_window;
            merged.skipped_uncertain = run.skipped_uncertain;
            merged.not_started = run.not_started;
            merged.interrupted = run.interrupted;
            merged.fatal = run.fatal;
            merged.held_back = run.held_back;
            merged.deferred = run.deferred;
            merged.deferred_until = run.deferred_until;
            merged.unknown_codes = run.unknown_codes;
            merged.elapsed_ms += run.elapsed_ms;
        }
        merged
    }
}
