//! `timcast apply`, `timcast report` and `timcast recall`: the command-line side of the
//! executor — confirmation, connection settings, signals, progress and the final summary.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::progress::{Counters, Display};
use super::{ApplyOptions, RunSummary, Stop};
use crate::campaign::LoadedCampaign;
use crate::exit;
use crate::im::settings::{DEFAULT_ADMIN, DEMO_SDKAPPID, DEMO_SECRET_KEY};
use crate::im::{BaseUrl, Connection, ConnectionArgs, Credentials, ImClient, SecretKey};
use crate::journal::{JournalError, State};
use crate::plan::command::load_campaign;
use crate::plan::{self, output};
use crate::report::{self, ReportFormat};
use crate::sandbox::{Directory, Sandbox, SandboxConfig};
use crate::schedule::{Clock, FixedClock, Gate, SystemClock, WaitReason};

/// Subscribers the sandbox gives a campaign's official account in `apply --sandbox`.
const SANDBOX_SUBSCRIBERS: u64 = 1000;

#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    /// The campaign file, or a plan saved with `timcast plan CAMPAIGN --out PLAN` (applied from
    /// the same directory; refused if anything it was made from changed, or if it was applied).
    #[arg(value_name = "CAMPAIGN")]
    pub campaign: PathBuf,
    /// Send without asking for confirmation (needed when not on a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Send to an emulator of the API started in-process on 127.0.0.1: no credentials, nothing
    /// leaves the machine, no confirmation asked. Its journal is `sandbox.db` beside the state
    /// file, so a demo never touches the real journal.
    #[arg(long)]
    pub sandbox: bool,
    /// Resend sends whose outcome is unknown (`?`) even outside the server's duplicate window:
    /// they may then arrive twice.
    #[arg(long)]
    pub resend_uncertain: bool,
    /// Resend to recipients whose message changed since it was sent (`~`).
    #[arg(long)]
    pub resend_changed: bool,
    /// A canary: send to the first N pending recipients only; the rest stay pending.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Do not wait for the schedule: before `schedule.at`, or outside the sending window, exit
    /// at once (status 0, "not due until …"); a window that closes during the run ends it,
    /// leaving the rest pending for the next run.
    #[arg(long)]
    pub no_wait: bool,
    /// The journal (SQLite) that records what was sent [default: .timcast/state.db].
    #[arg(long = "state", env = "TIMCAST_STATE", value_name = "PATH")]
    pub state: Option<PathBuf>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// The campaign file, or the campaign's name as recorded in the journal.
    #[arg(value_name = "CAMPAIGN")]
    pub campaign: String,
    /// text for a terminal, csv for a spreadsheet, json for scripts, markdown for a pull
    /// request, html for a self-contained page with charts.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReportFormat,
    /// Read the journal of `apply --sandbox` runs instead.
    #[arg(long)]
    pub sandbox: bool,
    /// The journal (SQLite) that records what was sent [default: .timcast/state.db].
    #[arg(long = "state", env = "TIMCAST_STATE", value_name = "PATH")]
    pub state: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct RecallArgs {
    /// The campaign file.
    #[arg(value_name = "CAMPAIGN")]
    pub campaign: PathBuf,
    /// Recall without asking for confirmation (needed when not on a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// The journal (SQLite) that records what was sent [default: .timcast/state.db].
    #[arg(long = "state", env = "TIMCAST_STATE", value_name = "PATH")]
    pub state: Option<PathBuf>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// The journal a command uses: `--state`, else the default; `apply --sandbox` writes
/// `sandbox.db` in the same directory.
pub fn journal_path(state: Option<&Path>, sandbox: bool) -> State {
    let state = State::from_arg(state);
    if sandbox { state.sandbox() } else { state }
}

fn demo_connection(base_url: &str) -> miette::Result<Connection> {
    Ok(Connection {
        base_url: BaseUrl::parse(base_url).map_err(|e| miette::miette!("{e}"))?,
        credentials: Credentials {
            sdkappid: DEMO_SDKAPPID,
            admin: DEFAULT_ADMIN.to_owned(),
            secret: SecretKey::new(DEMO_SECRET_KEY),
        },
    })
}

/// Asks on the terminal; refuses off a terminal. True to go ahead.
fn confirm(question: &str, err: &mut dyn Write) -> Result<bool, String> {
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(
            "refusing to send without confirmation: not on a terminal; pass --yes to send".into(),
        );
    }
    let _ = write!(err, "{question} [y/N] ");
    let _ = err.flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

/// Where a command reads "now" from for the schedule: the system clock, or `TIMCAST_NOW`.
///
/// `TIMCAST_NOW=RFC3339` is a testing aid, hidden from `--help`: process-level tests of
/// schedules pin "now" with it, and waits then pass at once (a virtual clock).
pub(crate) fn clock() -> Result<Arc<dyn Clock>, String> {
    match std::env::var("TIMCAST_NOW") {
        Ok(text) if !text.trim().is_empty() => text
            .trim()
            .parse::<jiff::Timestamp>()
            .map(|t| Arc::new(FixedClock::new(t)) as Arc<dyn Clock>)
            .map_err(|e| format!("TIMCAST_NOW `{text}` is not an RFC 3339 time: {e}")),
        _ => Ok(Arc::new(SystemClock)),
    }
}

pub(crate) fn runtime() -> miette::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| miette::miette!("cannot start the async runtime: {e}"))
}

/// Stops `stop` on Ctrl-C or SIGTERM; a second signal exits at once (the journal is safe).
pub(crate) fn watch_signals(stop: &Stop) {
    let stop = stop.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        eprintln!(
            "\nstopping: no new sends; waiting for the calls in flight (Ctrl-C again to quit now)"
        );
        stop.trigger();
        wait_for_signal().await;
        std::process::exit(i32::from(exit::INTERRUPTED));
    });
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The command line that resumes this run (the secret is never on a command line).
fn resume_command() -> String {
    let mut words: Vec<String> = std::env::args().skip(1).collect();
    words.retain(|w| !w.is_empty());
    format!("timcast {}", words.join(" "))
}

/// The schedule as it stands for the whole campaign before any recipient is read: with
/// per-recipient windows, only `at` and `not_after` (each recipient's window is judged as
/// they are sent).
pub(crate) fn campaign_wide(
    schedule: &crate::campaign::model::Schedule,
) -> crate::campaign::model::Schedule {
    let mut schedule = schedule.clone();
    if schedule
        .window
        .as_ref()
        .is_some_and(|w| w.recipient_timezone_column.is_some())
    {
        schedule.window = None;
    }
    schedule
}

/// `timcast apply`.
pub fn apply_command(
    args: &ApplyArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> miette::Result<u8> {
    // A saved plan (`timcast plan --out PLAN`) names its campaign, journal and options, and is
    // applied only if nothing it was made from changed and it was not applied before.
    let saved = if args.campaign.extension().is_some_and(|e| e == "plan")
        || plan::saved::is_saved_plan(&args.campaign)
    {
        match plan::saved::check(&args.campaign) {
            Ok(header) => Some(header),
            Err(e) => {
                let _ = writeln!(err, "error: {e}");
                return Ok(exit::USER_ERROR);
            }
        }
    } else {
        None
    };
    let campaign_path = saved
        .as_ref()
        .map_or_else(|| args.campaign.clone(), |h| h.campaign_file.clone());
    let Some(loaded) = load_campaign(&campaign_path, err) else {
        return Ok(exit::USER_ERROR);
    };
    let loaded = Arc::new(loaded);
    let campaign = &loaded.campaign;
    let clock = match clock() {
        Ok(clock) => clock,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return Ok(exit::USER_ERROR);
        }
    };
    // `--sandbox` is a demo: it sends at once whatever the schedule says.
    if !args.sandbox
        && let Some(not_after) = campaign
            .schedule
            .as_ref()
            .and_then(|s| s.not_after.as_ref())
        && clock.now() > not_after.0
    {
        let _ = writeln!(
            err,
            "error: {}: the campaign's schedule ended at {} (schedule.not_after); nothing sent",
            args.campaign.display(),
            not_after.0
        );
        return Ok(exit::USER_ERROR);
    }
    if !args.sandbox
        && let Some(schedule) = &campaign.schedule
    {
        match crate::schedule::gate(Some(&campaign_wide(schedule)), clock.now(), None) {
            Gate::Wait { until, reason } if args.no_wait => {
                let why = match reason {
                    WaitReason::Start => "not due until",
                    WaitReason::Window => "outside the sending window until",
                };
                let _ = writeln!(
                    out,
                    "{}: {why} {until}; nothing sent (--no-wait)",
                    campaign.name
                );
                return Ok(exit::OK);
            }
            Gate::Wait {
                until,
                reason: WaitReason::Start,
            } => {
                let _ = writeln!(
                    err,
                    "note: scheduled for {until} (schedule.at): once confirmed, apply waits until \
                     then (Ctrl-C to cancel; --no-wait to exit instead)"
                );
            }
            Gate::Wait {
                until,
                reason: WaitReason::Window,
            } => {
                let _ = writeln!(
                    err,
                    "note: outside the sending window until {until}: once confirmed, apply waits \
                     for it (Ctrl-C to cancel; --no-wait to exit instead)"
                );
            }
            Gate::Closed { reason } => {
                let _ = writeln!(
                    err,
                    "error: {}: {reason}; nothing sent",
                    args.campaign.display()
                );
                return Ok(exit::USER_ERROR);
            }
            Gate::Open { .. } => {}
        }
    }
    let journal_path = match &saved {
        Some(header) => header.journal.clone(),
        None => journal_path(args.state.as_deref(), args.sandbox),
    };
    let mut options = ApplyOptions::new(journal_path.clone());
    options.resend_changed =
        args.resend_changed || saved.as_ref().is_some_and(|h| h.resend_changed);
    options.resend_uncertain =
        args.resend_uncertain || saved.as_ref().is_some_and(|h| h.resend_uncertain);
    options.limit = args.limit;
    options.enforce_schedule = !args.sandbox;
    options.wait_for_schedule = !args.no_wait;
    options.clock = clock;

    // Resolve the connection before anything else, so a missing key fails fast.
    let connection = if args.sandbox {
        None
    } else {
        match args
            .connection
            .resolve(&crate::campaign::connection_defaults(&loaded.campaign))
        {
            Ok(c) => Some(c),
            Err(e) => {
                let _ = writeln!(err, "error: {e}");
                return Ok(exit::USER_ERROR);
            }
        }
    };

    let journal = journal_path.open().map_err(|e| miette::miette!("{e}"))?;
    let _lock = match journal.lock(&campaign.name) {
        Ok(lock) => lock,
        Err(e @ JournalError::Locked { .. }) => {
            let _ = writeln!(err, "error: {e}");
            return Ok(exit::USER_ERROR);
        }
        Err(e) => return Err(miette::miette!("{e}")),
    };
    drop(journal);

    // Checked again under the lock: another run may have written the journal meanwhile.
    if saved.is_some()
        && let Err(e) = plan::saved::check(&args.campaign)
    {
        let _ = writeln!(err, "error: {e}");
        return Ok(exit::USER_ERROR);
    }
    let plan =
        plan::build(&loaded, &options.plan_options(&loaded)).map_err(|e| miette::miette!("{e}"))?;
    if let Some(header) = &saved
        && plan.pending != header.pending
    {
        let _ = writeln!(
            err,
            "error: the plan {} listed {} sends but the campaign now has {}; run `timcast plan` again",
            args.campaign.display(),
            header.pending,
            plan.pending
        );
        return Ok(exit::USER_ERROR);
    }
    if plan.blocked {
        let _ = write!(err, "{}", output::text(&plan, false));
        return Ok(exit::USER_ERROR);
    }
    let in_window =
        super::count_resendable_in_window(&loaded, &options).map_err(|e| miette::miette!("{e}"))?;
    let _ = writeln!(err, "{}", output::summary_line(&plan));
    for warning in &plan.warnings {
        let _ = writeln!(err, "warning: {warning}");
    }
    if in_window > 0 {
        let _ = writeln!(
            err,
            "{in_window} sends were in flight when a run stopped; they are resent identically \
             inside the server's duplicate window, which drops them if they arrived"
        );
    }
    let to_send = options.limit.map_or(plan.pending, |l| l.min(plan.pending));
    if let Some(limit) = options.limit {
        let _ = writeln!(
            err,
            "canary: sending to the first {to_send} of {} pending recipients (--limit {limit})",
            plan.pending
        );
    }
    if to_send == 0 && in_window == 0 {
        let _ = writeln!(out, "{}: nothing to send", campaign.name);
        return Ok(exit::OK);
    }
    if args.sandbox {
        let _ = writeln!(
            err,
            "sandbox: sending to an emulator on 127.0.0.1 (demo credentials; nothing leaves this machine); journal {}",
            journal_path
        );
    } else if !args.yes {
        match confirm(&format!("Send {to_send} messages now?"), err) {
            Ok(true) => {}
            Ok(false) => {
                let _ = writeln!(err, "nothing sent");
                return Ok(exit::USER_ERROR);
            }
            Err(refusal) => {
                let _ = writeln!(err, "error: {refusal}");
                return Ok(exit::USER_ERROR);
            }
        }
    }

    if let Some(header) = &saved {
        plan::saved::mark_applied(header).map_err(|e| miette::miette!("{e}"))?;
    }
    let runtime = runtime()?;
    let terminal = std::io::stderr().is_terminal();
    let result = runtime.block_on(async {
        let sandbox = if args.sandbox {
            let mut config = SandboxConfig::demo();
            let mut directory = Directory::accept_any();
            if let Some(account) = &campaign.audience.official_account {
                directory
                    .official_accounts
                    .insert(account.clone(), SANDBOX_SUBSCRIBERS);
            }
            if let Some(sender) = &campaign.sender {
                directory.add(sender);
            }
            config.directory = directory;
            Some(
                Sandbox::start(config)
                    .await
                    .map_err(|e| miette::miette!("{e}"))?,
            )
        } else {
            None
        };
        let connection = match (&sandbox, connection) {
            (Some(s), _) => demo_connection(&s.base_url())?,
            (None, Some(c)) => c,
            (None, None) => return Err(miette::miette!("no connection settings")),
        };
        let client = ImClient::from_connection(connection).map_err(|e| miette::miette!("{e}"))?;
        let stop = Stop::new();
        watch_signals(&stop);
        let counters = Counters::new();
        let display = Display::start(counters.clone(), terminal, Duration::from_secs(5));
        let summary = super::execute(
            loaded.clone(),
            &plan,
            &options,
            client,
            stop,
            counters.clone(),
        )
        .await;
        display.finish();
        let deliveries = sandbox.as_ref().map(|s| s.stats().deliveries);
        if let Some(s) = sandbox {
            s.shutdown().await;
        }
        Ok::<_, miette::Report>((summary, deliveries))
    });
    let (summary, deliveries) = result?;
    let summary = summary.map_err(|e| miette::miette!("{e}"))?;
    print_summary(&loaded, &journal_path, &summary, deliveries, args, out, err)
}

fn print_summary(
    loaded: &LoadedCampaign,
    journal_path: &State,
    summary: &RunSummary,
    sandbox_deliveries: Option<u64>,
    args: &ApplyArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> miette::Result<u8> {
    let name = &loaded.campaign.name;
    let _ = writeln!(out, "{}", summary.line(name));
    if let Some(n) = sandbox_deliveries {
        let _ = writeln!(out, "sandbox: {n} deliveries recorded by the emulator");
    }
    if summary.resent_in_window > 0 {
        let _ = writeln!(
            out,
            "{} interrupted sends resent inside the server's duplicate window",
            summary.resent_in_window
        );
    }
    if summary.skipped_uncertain > 0 {
        let _ = writeln!(
            out,
            "{} sends from an interrupted run have an unknown outcome and were skipped (resend with --resend-uncertain; they may then arrive twice)",
            summary.skipped_uncertain
        );
    }
    if let Ok(Some(journal)) = journal_path.open_existing()
        && let Ok(report) = report::Report::from_journal(journal.as_ref(), name)
    {
        let _ = write!(out, "{}", report::problems_text(&report, 10));
    }
    let state_flag = if args.sandbox { " --sandbox" } else { "" };
    let _ = writeln!(
        out,
        "report: timcast report {}{state_flag} --format html > report.html",
        args.campaign.display()
    );
    if summary.deferred > 0 {
        let _ = writeln!(
            out,
            "{} recipients are not due yet (schedule); they stay pending{}",
            summary.deferred,
            summary
                .deferred_until
                .map(|t| format!(": run again from {t}"))
                .unwrap_or_default()
        );
    }
    if let Some(fatal) = &summary.fatal {
        let _ = writeln!(
            err,
            "error: the run stopped on an error that would fail every send: {fatal}\n\
             fix it, then run the same command again; unsent recipients are still pending"
        );
        return Ok(exit::USER_ERROR);
    }
    if let Some(why) = &summary.held_back {
        let _ = writeln!(err, "held back: {why}");
        return Ok(exit::FAILED_SENDS);
    }
    if summary.interrupted {
        let _ = writeln!(
            err,
            "interrupted: {} sends not started. Resume with the same command:\n  {}",
            summary.not_started,
            resume_command()
        );
        return Ok(exit::INTERRUPTED);
    }
    if args.limit.is_some() && summary.not_started > 0 {
        let _ = writeln!(
            err,
            "canary done: {} recipients still pending; run without --limit to send to them",
            summary.not_started
        );
    }
    Ok(if summary.failed > 0 || summary.uncertain > 0 {
        exit::FAILED_SENDS
    } else {
        exit::OK
    })
}

/// `timcast report`.
pub fn report_command(
    args: &ReportArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> miette::Result<u8> {
    let as_path = Path::new(&args.campaign);
    let name = if as_path.is_file() {
        let Some(loaded) = load_campaign(as_path, err) else {
            return Ok(exit::USER_ERROR);
        };
        loaded.campaign.name
    } else {
        args.campaign.clone()
    };
    let path = journal_path(args.state.as_deref(), args.sandbox);
    let Some(journal) = path.open_existing().map_err(|e| miette::miette!("{e}"))? else {
        let _ = writeln!(
            err,
            "error: no journal at {}: nothing was applied yet",
            path
        );
        return Ok(exit::USER_ERROR);
    };
    let report = report::Report::from_journal(journal.as_ref(), &name)
        .map_err(|e| miette::miette!("{e}"))?;
    if report.rows.is_empty() {
        let _ = writeln!(
            err,
            "note: the journal {} has no sends of campaign `{name}`",
            path
        );
    }
    let text = report::render(&report, args.format);
    out.write_all(text.as_bytes())
        .map_err(|e| miette::miette!("cannot write the report: {e}"))?;
    Ok(exit::OK)
}

/// `timcast recall`.
pub fn recall_command(
    args: &RecallArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> miette::Result<u8> {
    let Some(loaded) = load_campaign(&args.campaign, err) else {
        return Ok(exit::USER_ERROR);
    };
    let connection = match args
        .connection
        .resolve(&crate::campaign::connection_defaults(&loaded.campaign))
    {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return Ok(exit::USER_ERROR);
        }
    };
    let path = journal_path(args.state.as_deref(), false);
    let journal = path.open().map_err(|e| miette::miette!("{e}"))?;
    let _lock = match journal.lock(&loaded.campaign.name) {
        Ok(lock) => lock,
        Err(e @ JournalError::Locked { .. }) => {
            let _ = writeln!(err, "error: {e}");
            return Ok(exit::USER_ERROR);
        }
        Err(e) => return Err(miette::miette!("{e}")),
    };
    let targets = super::recall::targets(journal.as_ref(), &loaded.campaign.name)
        .map_err(|e| miette::miette!("{e}"))?;
    drop(journal);
    if targets.is_empty() {
        let _ = writeln!(out, "{}: nothing to recall", loaded.campaign.name);
        return Ok(exit::OK);
    }
    let _ = writeln!(
        err,
        "{}: {} sent messages to withdraw",
        loaded.campaign.name,
        targets.len()
    );
    if !args.yes {
        match confirm(&format!("Recall {} messages now?", targets.len()), err) {
            Ok(true) => {}
            Ok(false) => {
                let _ = writeln!(err, "nothing recalled");
                return Ok(exit::USER_ERROR);
            }
            Err(refusal) => {
                let _ = writeln!(err, "error: {}", refusal.replace("send", "recall"));
                return Ok(exit::USER_ERROR);
            }
        }
    }
    let admin = connection.credentials.admin.clone();
    let client = ImClient::from_connection(connection).map_err(|e| miette::miette!("{e}"))?;
    let runtime = runtime()?;
    let summary = runtime
        .block_on(super::recall::recall(
            &loaded, &path, targets, client, &admin,
        ))
        .map_err(|e| miette::miette!("{e}"))?;
    let _ = writeln!(
        out,
        "{}: recalled {}, failed {}",
        loaded.campaign.name, summary.recalled, summary.failed
    );
    for (recipient, text) in summary.failures.iter().take(10) {
        let _ = writeln!(out, "  ! {recipient}: {text}");
    }
    if let Some(fatal) = summary.fatal {
        let _ = writeln!(err, "error: the recall stopped: {fatal}");
        return Ok(exit::USER_ERROR);
    }
    Ok(if summary.failed > 0 {
        exit::FAILED_SENDS
    } else {
        exit::OK
    })
}
