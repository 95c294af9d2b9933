//! `timcast run DIR --due`: the scheduler's side of GitOps. Cron or CI calls it every few
//! minutes; it applies every campaign in DIR whose schedule allows sending now and that has
//! something left to send, and skips the rest with one line each.
//!
//! It never waits for a schedule (a cron job must not block for hours): a campaign before its
//! `at` or outside its window is skipped, and a window that closes mid-run ends that campaign's
//! run with the rest pending for the next call. It never asks for confirmation, and the
//! journal's per-campaign lock keeps two overlapping calls from running one campaign twice.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::apply::command::{campaign_wide, clock, journal_path, runtime, watch_signals};
use crate::apply::progress::{Counters, Display};
use crate::apply::{self, ApplyOptions, RunSummary, Stop};
use crate::campaign::{self, LoadedCampaign};
use crate::exit;
use crate::im::{ConnectionArgs, ImClient};
use crate::journal::{JournalError, State};
use crate::plan::{self, output};
use crate::schedule::{Clock, Gate, WaitReason, gate};

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The directory of campaign files: every `*.yaml` and `*.yml` directly in it (not in its
    /// subdirectories, which usually hold data and templates).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Apply only what is due: no schedule, or `schedule.at` reached, `not_after` not passed
    /// and the window open. Required: it is the only mode, and it says so on the cron line.
    #[arg(long, required = true)]
    pub due: bool,
    /// Print what would be applied and skipped, without sending.
    #[arg(long)]
    pub dry_run: bool,
    /// The journal (SQLite) that records what was sent [default: .timcast/state.db].
    #[arg(long = "state", env = "TIMCAST_STATE", value_name = "PATH")]
    pub state: Option<PathBuf>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// The campaign files directly in `dir`, sorted by name (so runs are repeatable).
pub fn campaign_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let is_yaml = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
        if is_yaml && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Why a campaign is not applied now, from its schedule alone; `None` when it is due.
pub fn not_due(loaded: &LoadedCampaign, now: jiff::Timestamp) -> Option<String> {
    let schedule = campaign_wide(loaded.campaign.schedule.as_ref()?);
    match gate(Some(&schedule), now, None) {
        Gate::Open { .. } => None,
        Gate::Wait {
            until,
            reason: WaitReason::Start,
        } => Some(format!("not due until {until}")),
        Gate::Wait {
            until,
            reason: WaitReason::Window,
        } => Some(format!("outside the sending window until {until}")),
        Gate::Closed { reason } => Some(match schedule.not_after {
            Some(end) if now > end.0 => format!("past not_after ({})", end.0),
            _ => reason,
        }),
    }
}

/// How the campaigns of one call went; the exit code follows from it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub applied: u32,
    pub skipped: u32,
    /// An invalid campaign, or one that could not run (plan, journal, connection, fatal error).
    pub errors: u32,
    /// Campaigns that finished with failed or uncertain sends, or held back past `not_after`.
    pub failed: u32,
    pub interrupted: bool,
}

impl Tally {
    /// Interrupted (4) over an error (1) over failed sends (3) over success (0): an interrupted
    /// call left campaigns unvisited; an error needs a person to fix a file or a setting, and
    /// may hide sends that never started; failed sends are in the report.
    pub fn exit_code(&self) -> u8 {
        if self.interrupted {
            exit::INTERRUPTED
        } else if self.errors > 0 {
            exit::USER_ERROR
        } else if self.failed > 0 {
            exit::FAILED_SENDS
        } else {
            exit::OK
        }
    }
}

/// `timcast run DIR --due`.
pub fn run_command(args: &RunArgs, out: &mut dyn Write, err: &mut dyn Write) -> miette::Result<u8> {
    let clock = match clock() {
        Ok(clock) => clock,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return Ok(exit::USER_ERROR);
        }
    };
    let files = match campaign_files(&args.dir) {
        Ok(files) => files,
        Err(e) => {
            let _ = writeln!(
                err,
                "error: cannot read the campaign directory {}: {e}",
                args.dir.display()
            );
            return Ok(exit::USER_ERROR);
        }
    };
    if files.is_empty() {
        let _ = writeln!(
            out,
            "no campaign files (*.yaml, *.yml) in {}",
            args.dir.display()
        );
        return Ok(exit::OK);
    }
    let journal = journal_path(args.state.as_deref(), false);
    let runtime = runtime()?;
    let stop = Stop::new();
    {
        let _context = runtime.enter();
        watch_signals(&stop);
    }
    let mut tally = Tally::default();
    for file in &files {
        if stop.is_stopped() {
            tally.interrupted = true;
            break;
        }
        run_one(
            args, file, &journal, &clock, &runtime, &stop, &mut tally, out, err,
        );
    }
    let _ = writeln!(
        out,
        "run: {} applied, {} skipped, {} with errors, {} with failed sends{}",
        tally.applied,
        tally.skipped,
        tally.errors,
        tally.failed,
        if tally.interrupted {
            " (interrupted: run again to resume)"
        } else {
            ""
        }
    );
    Ok(tally.exit_code())
}

#[allow(clippy::too_many_arguments)]
fn run_one(
    args: &RunArgs,
    file: &Path,
    journal_path: &State,
    clock: &Arc<dyn Clock>,
    runtime: &tokio::runtime::Runtime,
    stop: &Stop,
    tally: &mut Tally,
    out: &mut dyn Write,
    err: &mut dyn Write,
) {
    let label = file.display();
    let mut skip = |why: &str, out: &mut dyn Write| {
        tally.skipped += 1;
        let _ = writeln!(out, "skip {label}: {why}");
    };
    let validation = campaign::validate(file);
    if validation.has_errors() {
        let _ = write!(err, "{}", validation.render());
        let _ = writeln!(err, "error {label}: {}", validation.summary(file));
        tally.errors += 1;
        return;
    }
    // Warnings do not stop a campaign, but a cron log is where someone will look for them.
    if !validation.diagnostics.is_empty() {
        let _ = write!(err, "{}", validation.render());
    }
    let Ok(loaded) = validation.into_result() else {
        let _ = writeln!(err, "error {label}: the campaign is not valid");
        tally.errors += 1;
        return;
    };
    if let Some(why) = not_due(&loaded, clock.now()) {
        skip(&why, out);
        return;
    }
    let fail = |what: String, err: &mut dyn Write| {
        let _ = writeln!(err, "error {label}: {what}");
    };
    let journal = match journal_path.open() {
        Ok(j) => j,
        Err(e) => {
            fail(e.to_string(), err);
            tally.errors += 1;
            return;
        }
    };
    let _lock = match journal.lock(&loaded.campaign.name) {
        Ok(lock) => lock,
        Err(JournalError::Locked { .. }) => {
            skip("already running (locked)", out);
            return;
        }
        Err(e) => {
            fail(e.to_string(), err);
            tally.errors += 1;
            return;
        }
    };
    drop(journal);
    let loaded = Arc::new(loaded);
    let mut options = ApplyOptions::new(journal_path.clone());
    options.clock = clock.clone();
    // A cron job must not block for hours: what is not due now waits for the next call.
    options.wait_for_schedule = false;
    let plan = match plan::build(&loaded, &options.plan_options(&loaded)) {
        Ok(plan) => plan,
        Err(e) => {
            fail(e.to_string(), err);
            tally.errors += 1;
            return;
        }
    };
    if plan.blocked {
        let _ = write!(err, "{}", output::text(&plan, false));
        fail("rows that cannot be sent block the campaign".into(), err);
        tally.errors += 1;
        return;
    }
    let in_window = apply::count_resendable_in_window(&loaded, &options).unwrap_or(0);
    if plan.pending == 0 && in_window == 0 {
        skip("nothing to send", out);
        return;
    }
    if args.dry_run {
        tally.applied += 1;
        let _ = writeln!(out, "would apply {label}: {}", output::summary_line(&plan));
        return;
    }
    let connection = match args
        .connection
        .resolve(&campaign::connection_defaults(&loaded.campaign))
    {
        Ok(c) => c,
        Err(e) => {
            fail(e.to_string(), err);
            tally.errors += 1;
            return;
        }
    };
    let client = match ImClient::from_connection(connection) {
        Ok(c) => c,
        Err(e) => {
            fail(e.to_string(), err);
            tally.errors += 1;
            return;
        }
    };
    tally.applied += 1;
    let _ = writeln!(out, "apply {label}: {}", output::summary_line(&plan));
    for warning in &plan.warnings {
        let _ = writeln!(err, "warning {label}: {warning}");
    }
    let counters = Counters::new();
    let display = Display::start(
        counters.clone(),
        std::io::stderr().is_terminal(),
        Duration::from_secs(5),
    );
    let result = runtime.block_on(apply::execute(
        loaded.clone(),
        &plan,
        &options,
        client,
        stop.clone(),
        counters,
    ));
    display.finish();
    let summary = match result {
        Ok(summary) => summary,
        Err(e) => {
            fail(e.to_string(), err);
            tally.errors += 1;
            return;
        }
    };
    report_one(&loaded.campaign.name, &summary, tally, out, err);
}

/// One campaign's outcome, and its share of the exit code.
fn report_one(
    name: &str,
    summary: &RunSummary,
    tally: &mut Tally,
    out: &mut dyn Write,
    err: &mut dyn Write,
) {
    let _ = writeln!(out, "{}", summary.line(name));
    if summary.deferred > 0 {
        let _ = writeln!(
            out,
            "{name}: {} recipients outside their sending window stay pending{}",
            summary.deferred,
            summary
                .deferred_until
                .map(|t| format!(" (the next opens at {t})"))
                .unwrap_or_default()
        );
    }
    if summary.skipped_uncertain > 0 {
        let _ = writeln!(
            out,
            "{name}: {} sends of an interrupted run have an unknown outcome and were skipped \
             (`timcast apply --resend-uncertain` resends them; they may then arrive twice)",
            summary.skipped_uncertain
        );
    }
    if let Some(fatal) = &summary.fatal {
        let _ = writeln!(err, "error {name}: the run stopped: {fatal}");
        tally.errors += 1;
    } else if summary.interrupted {
        let _ = writeln!(
            err,
            "interrupted {name}: {} sends not started; the next run resumes",
            summary.not_started
        );
        tally.interrupted = true;
    } else if let Some(why) = &summary.held_back {
        let _ = writeln!(err, "held back {name}: {why}");
        tally.failed += 1;
    } else if summary.failed > 0 || summary.uncertain > 0 {
        let _ = writeln!(
            err,
            "{name}: {} sends failed, {} uncertain (`timcast report` shows which)",
            summary.failed, summary.uncertain
        );
        tally.failed += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exit_code_puts_interruptions_first_then_errors_then_failures() {
        let mut t = Tally::default();
        assert_eq!(t.exit_code(), exit::OK);
        t.failed = 1;
        assert_eq!(t.exit_code(), exit::FAILED_SENDS);
        t.errors = 1;
        assert_eq!(t.exit_code(), exit::USER_ERROR);
        t.interrupted = true;
        assert_eq!(t.exit_code(), exit::INTERRUPTED);
    }
}
