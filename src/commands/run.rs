//! `timcast run DIR --due`: every campaign in a directory that is due now, applied through
//! the session pipeline, for cron and CI. It never waits and never asks; one campaign's
//! problem is reported with its name and the next campaign still runs.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::watch_signals;
use crate::apply::progress::{Counters, Display};
use crate::apply::{ApplyError, ApplyOptions, RunSummary, Stop};
use crate::campaign::{self, LoadedCampaign};
use crate::config::Config;
use crate::error::{Error, Exit, Result};
use crate::im::{ConnectionArgs, ImClient};
use crate::journal::JournalError;
use crate::plan::output;
use crate::schedule::{Gate, WaitReason, campaign_wide, gate};
use crate::session::Session;

#[derive(Debug, Clone, Args)]
pub(crate) struct RunArgs {
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
    /// The journal that records what was sent: a SQLite file, or a postgres://user@host/db URL
    /// for one a team and its CI runners share [default: .timcast/state.db in the
    /// project's root: the directory of timcast.toml, else the Git root, else the campaign's].
    #[arg(long = "state", env = "TIMCAST_STATE", value_name = "PATH|URL")]
    pub state: Option<PathBuf>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// The campaign files directly in `dir`, sorted by name (so runs are repeatable).
pub(crate) fn campaign_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
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
pub(crate) fn not_due(loaded: &LoadedCampaign, now: jiff::Timestamp) -> Option<String> {
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
pub(crate) struct Tally {
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
    pub(crate) fn exit(&self) -> Result {
        if self.interrupted {
            Ok(Exit::Interrupted)
        } else if self.errors > 0 {
            // Each campaign's error was printed with its name.
            Err(Error::Invalid {
                report: String::new(),
            })
        } else if self.failed > 0 {
            Ok(Exit::FailedSends)
        } else {
            Ok(Exit::Ok)
        }
    }
}

/// `timcast run DIR --due`.
pub(crate) async fn run(config: &Config, args: &RunArgs) -> Result {
    let mut out = std::io::stdout();
    let files = campaign_files(&args.dir).map_err(|e| {
        Error::user(format!(
            "cannot read the campaign directory {}: {e}",
            args.dir.display()
        ))
    })?;
    if files.is_empty() {
        let _ = writeln!(
            out,
            "no campaign files (*.yaml, *.yml) in {}",
            args.dir.display()
        );
        return Ok(Exit::Ok);
    }
    let stop = Stop::new();
    watch_signals(&stop);
    let mut tally = Tally::default();
    for (index, file) in files.iter().enumerate() {
        // An error that fails every campaign of the app (a bad key, region or admin) ends the
        // run; one campaign's own (an unknown official account, a muted sender) does not.
        if let Some(reason) = stop.fatal_reason() {
            for rest in &files[index..] {
                tracing::error!("error {}: not tried: {reason}", rest.display());
                tally.errors += 1;
            }
            break;
        }
        if stop.is_stopped() {
            tally.interrupted = true;
            break;
        }
        let label = file.display().to_string();
        match run_one(config, args, file, &stop, &mut out).await {
            Ok(Visit::Skipped(why)) => {
                tally.skipped += 1;
                let _ = writeln!(out, "skip {label}: {why}");
            }
            Ok(Visit::DryRun) => tally.applied += 1,
            Ok(Visit::Ran(name, summary)) => {
                // A run whose every send waits for a window sent nothing: not "applied".
                if summary.sent + summary.failed + summary.uncertain == 0 && summary.deferred > 0 {
                    tally.skipped += 1;
                } else {
                    tally.applied += 1;
                }
                report_one(&name, &summary, &mut tally, &mut out);
            }
            Err(Failure::Invalid { rendered, summary }) => {
                crate::logging::block(tracing::Level::ERROR, &rendered);
                // The summary names the file: "error PATH: N errors".
                tracing::error!("error {summary}");
                tally.errors += 1;
            }
            Err(Failure::Error(what)) => {
                tracing::error!("error {label}: {what}");
                tally.errors += 1;
            }
        }
    }
    let _ = writeln!(
        out,
        "run: {} {}, {} skipped, {} with errors, {} with failed sends{}",
        tally.applied,
        // A dry run applies nothing; it says what it would have done.
        if args.dry_run {
            "would be applied"
        } else {
            "applied"
        },
        tally.skipped,
        tally.errors,
        tally.failed,
        if tally.interrupted {
            " (interrupted: run again to resume)"
        } else {
            ""
        }
    );
    tally.exit()
}

/// What happened to one campaign file.
enum Visit {
    Skipped(String),
    DryRun,
    Ran(String, RunSummary),
}

/// Why one campaign could not run (the others still do).
enum Failure {
    /// The validation's diagnostics, rendered, and its one-line summary.
    Invalid {
        rendered: String,
        summary: String,
    },
    Error(String),
}

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Failure {
        Failure::Error(e.to_string())
    }
}

async fn run_one(
    config: &Config,
    args: &RunArgs,
    file: &Path,
    stop: &Stop,
    out: &mut dyn Write,
) -> std::result::Result<Visit, Failure> {
    let label = file.display();
    let validation = campaign::validate(file);
    if validation.has_errors() {
        return Err(Failure::Invalid {
            rendered: validation.render(),
            summary: validation.summary(file),
        });
    }
    // Warnings do not stop a campaign, but a cron log is where someone will look for them.
    if !validation.diagnostics.is_empty() {
        crate::logging::block(tracing::Level::WARN, &validation.render());
    }
    let loaded = validation
        .into_result()
        .map_err(|_| Failure::Error("the campaign is not valid".into()))?;
    if let Some(why) = not_due(&loaded, config.clock.now()) {
        return Ok(Visit::Skipped(why));
    }
    let state = super::journal_of(args.state.as_deref(), false, file, &loaded.campaign.name)
        .map_err(|e| Failure::Error(e.to_string()))?;
    let mut options = ApplyOptions::new(state);
    options.clock = config.clock.clone();
    // A cron job must not block for hours: what is not due now waits for the next call.
    options.wait_for_schedule = false;
    let session = match Session::open(Arc::new(loaded), options) {
        Ok(session) => session,
        Err(ApplyError::Journal(JournalError::Locked { .. })) => {
            return Ok(Visit::Skipped("already running (locked)".into()));
        }
        Err(e) => return Err(e.into()),
    };
    let plan = &session.plan;
    if plan.blocked {
        crate::logging::block(tracing::Level::WARN, &output::text(plan, false));
        return Err(Failure::Error(
            "rows that cannot be sent block the campaign".into(),
        ));
    }
    if !session.has_work() {
        return Ok(Visit::Skipped("nothing to send".into()));
    }
    if plan.inside_window_now == Some(0) && session.resendable_in_window == 0 {
        return Ok(Visit::Skipped(format!(
            "all {} pending recipients are outside their sending window now; a later run sends \
             them as their windows open",
            plan.pending
        )));
    }
    if args.dry_run {
        let _ = writeln!(out, "would apply {label}: {}", output::summary_line(plan));
        return Ok(Visit::DryRun);
    }
    let loaded = session.loaded.clone();
    let connection = args
        .connection
        .resolve(&campaign::connection_defaults(&loaded.campaign))?;
    let client = ImClient::from_connection(connection)?;
    let _ = writeln!(out, "apply {label}: {}", output::summary_line(plan));
    for warning in &plan.warnings {
        tracing::warn!("warning {label}: {warning}");
    }
    let counters = Counters::new();
    let display = Display::start(
        counters.clone(),
        config.progress_bar(),
        Duration::from_secs(5),
    );
    let state = session.options.state.clone();
    let to_send = session.to_send();
    let started = std::time::Instant::now();
    let result = session
        .execute(client, stop.child(), counters.clone())
        .await;
    display.finish();
    let report = super::apply::report_command(&loaded, &state);
    crate::notify::run_ended(&loaded, &result, &counters, to_send, started, report).await;
    Ok(Visit::Ran(loaded.campaign.name.clone(), result?))
}

/// One campaign's outcome, and its share of the exit code.
fn report_one(name: &str, summary: &RunSummary, tally: &mut Tally, out: &mut dyn Write) {
    let _ = writeln!(out, "{}", summary.line(name));
    if let Some(line) = summary.unknown_codes_line() {
        let _ = writeln!(out, "{name}: {line}");
    }
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
    if summary.settled_sent + summary.settled_not_sent > 0 {
        let _ = writeln!(
            out,
            "{name}: settled from the server's message history: {} uncertain sends had arrived, {} had not (sent in this run)",
            summary.settled_sent, summary.settled_not_sent
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
        tracing::error!("error {name}: the run stopped: {fatal}");
        tally.errors += 1;
    } else if summary.interrupted {
        tracing::warn!(
            "interrupted {name}: {} sends not started; the next run resumes",
            summary.not_started
        );
        tally.interrupted = true;
    } else if let Some(why) = &summary.held_back {
        tracing::warn!("held back {name}: {why}");
        tally.failed += 1;
    } else if summary.failed > 0 || summary.uncertain > 0 {
        tracing::info!(
            "{name}: {} sends failed, {} uncertain (`timcast report` shows which)",
            summary.failed,
            summary.uncertain
        );
        tally.failed += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exit_code_puts_interruptions_first_then_errors_then_failures() {
        let code = |t: &Tally| match t.exit() {
            Ok(exit) => exit.code(),
            Err(e) => e.code(),
        };
        let mut t = Tally::default();
        assert_eq!(code(&t), 0);
        t.failed = 1;
        assert_eq!(code(&t), 3);
        t.errors = 1;
        assert_eq!(code(&t), 1);
        t.interrupted = true;
        assert_eq!(code(&t), 4);
    }
}
