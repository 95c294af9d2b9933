//! `timcast apply`: the session pipeline from the command line — saved plans, the schedule,
//! confirmation, the sandbox demo, signals, progress and the final summary.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::{confirm, load_campaign, watch_signals};
use crate::apply::progress::{Counters, Display};
use crate::apply::{ApplyOptions, RunSummary, Stop};
use crate::campaign::LoadedCampaign;
use crate::config::Config;
use crate::error::{Error, Exit, Result};
use crate::im::settings::{DEFAULT_ADMIN, DEMO_SDKAPPID, DEMO_SECRET_KEY};
use crate::im::{BaseUrl, Connection, ConnectionArgs, Credentials, ImClient, SecretKey};
use crate::journal::State;
use crate::plan::{self, output};
use crate::report;
use crate::sandbox::{Directory, Sandbox, SandboxConfig, SandboxHandle};
use crate::schedule::{Gate, WaitReason, campaign_wide};
use crate::session::Session;

/// Subscribers the sandbox gives a campaign's official account in `apply --sandbox`.
const SANDBOX_SUBSCRIBERS: u64 = 1000;

#[derive(Debug, Clone, Args)]
pub(crate) struct ApplyArgs {
    /// The campaign file, or a plan saved with `timcast plan CAMPAIGN --out PLAN` (applied from
    /// the same directory; refused if anything it was made from changed, or if it was applied).
    #[arg(value_name = "CAMPAIGN")]
    pub campaign: PathBuf,
    /// Send without asking for confirmation (needed when not on a terminal). Resumed over the
    /// files an earlier run checked, it sends from the journal's checkpoint without counting.
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
    /// Resend to recipients that failed with an error code timcast does not know (journaled
    /// with class `unknown`); without it they count as failed for good.
    #[arg(long)]
    pub retry_unknown: bool,
    /// A canary: send to the first N pending recipients whose window is open now (recipients'
    /// own windows never make a canary wait); the rest stay pending.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Do not wait for the schedule: before `schedule.at`, or outside the sending window, exit
    /// at once (status 0, "not due until …"); a window that closes during the run ends it,
    /// leaving the rest pending for the next run.
    #[arg(long)]
    pub no_wait: bool,
    /// The journal that records what was sent: a SQLite file, or a postgres://user@host/db URL
    /// for one a team and its CI runners share [default: .timcast/state.db in the
    /// project's root: the directory of timcast.toml, else the Git root, else the campaign's].
    #[arg(long = "state", env = "TIMCAST_STATE", value_name = "PATH|URL")]
    pub state: Option<PathBuf>,
    /// How long the app's server keeps one-to-one history (roaming retention: 7 days by
    /// default, longer on paid editions): older uncertain sends cannot be settled from it.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "7d",
        value_parser = super::sandbox::parse_duration
    )]
    pub history_retention: Duration,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// What a run resumed at the journal's checkpoint says instead of the counts it did not make.
fn resumed_line(
    loaded: &LoadedCampaign,
    plan: &plan::Plan,
    checkpoint: &crate::journal::Checkpoint,
) -> String {
    let checked = jiff::Timestamp::from_millisecond(checkpoint.checked_at_ms).map_or_else(
        |_| checkpoint.checked_at_ms.to_string(),
        |t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
    );
    format!(
        "{}: resuming at row {} with about {} to send: the campaign's files are those a run checked at {checked}, so it sends without counting first (`timcast plan` counts)",
        loaded.campaign.name,
        plan.first_unsettled_row.unwrap_or(0),
        plan.pending
    )
}

/// `timcast apply`, in a `campaign` span that every log line of the run carries.
pub(crate) async fn run(config: &Config, args: &ApplyArgs) -> Result {
    let span = tracing::info_span!("campaign", campaign = tracing::field::Empty);
    tracing::Instrument::instrument(apply(config, args, &span), span.clone()).await
}

async fn apply(config: &Config, args: &ApplyArgs, span: &tracing::Span) -> Result {
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    // A saved plan (`timcast plan --out PLAN`) names its campaign, journal and options, and is
    // applied only if nothing it was made from changed and it was not applied before.
    let saved = if args.campaign.extension().is_some_and(|e| e == "plan")
        || plan::saved::is_saved_plan(&args.campaign)
    {
        Some(plan::saved::check(&args.campaign)?)
    } else {
        None
    };
    let campaign_path = saved
        .as_ref()
        .map_or_else(|| args.campaign.clone(), |h| h.campaign_file.clone());
    let loaded = Arc::new(load_campaign(&campaign_path)?);
    span.record("campaign", loaded.campaign.name.as_str());
    // `--sandbox` is a demo: it sends at once whatever the schedule says.
    if !args.sandbox
        && let Some(nothing) = schedule_notes(config, args, &loaded)?
    {
        let _ = writeln!(out, "{nothing}");
        return Ok(Exit::Ok);
    }
    let mut options = ApplyOptions::new(match &saved {
        Some(header) => header.journal.clone(),
        None => super::journal_of(
            args.state.as_deref(),
            args.sandbox,
            &campaign_path,
            &loaded.campaign.name,
        )?,
    });
    options.resend_changed =
        args.resend_changed || saved.as_ref().is_some_and(|h| h.resend_changed);
    options.resend_uncertain =
        args.resend_uncertain || saved.as_ref().is_some_and(|h| h.resend_uncertain);
    options.retry_unknown = args.retry_unknown || saved.as_ref().is_some_and(|h| h.retry_unknown);
    options.limit = args.limit;
    options.enforce_schedule = !args.sandbox;
    options.wait_for_schedule = !args.no_wait;
    options.clock = config.clock.clone();
    options.history_retention = args.history_retention;
    // Nobody reads the counts before a confirmed run's first send, nor needs them for a canary.
    options.resume_at_checkpoint =
        (args.yes || args.sandbox) && saved.is_none() && args.limit.is_none();

    // Resolve the connection before anything else, so a missing key fails fast.
    let connection = if args.sandbox {
        None
    } else {
        Some(
            args.connection
                .resolve(&crate::campaign::connection_defaults(&loaded.campaign))?,
        )
    };
    // A saved plan is applied exactly as planned: settling would change the journal under it.
    options.settle_uncertain = saved.is_none();
    let mut session = Session::open(loaded.clone(), options)?;
    if let Some(header) = &saved {
        // Checked again under the lock: another run may have written the journal meanwhile.
        plan::saved::check(&args.campaign)?;
        if session.plan.pending != header.pending {
            return Err(Error::user(format!(
                "the plan {} listed {} sends but the campaign now has {}; run `timcast plan` again",
                args.campaign.display(),
                header.pending,
                session.plan.pending
            )));
        }
    }
    if session.plan.blocked {
        crate::logging::block(tracing::Level::WARN, &output::text(&session.plan, false));
        return Err(Error::Invalid {
            report: String::new(),
        });
    }
    let stop = Stop::new();
    let mut sandbox: Option<SandboxHandle> = None;
    let mut client: Option<ImClient> = None;
    if session.settleable > 0 {
        // Before anything is shown or sent: what the server's history says of uncertain sends.
        watch_signals(&stop);
        let c = connect(&loaded, &mut sandbox, connection.clone()).await?;
        tracing::info!(
            "{}: looking up {} uncertain sends in the server's message history (admin_getroammsg)",
            loaded.campaign.name,
            session.settleable
        );
        if let Some(settled) = session.settle(&c, &stop).await? {
            tracing::info!("{}: {}", loaded.campaign.name, settled.line());
            for (why, n, example) in settled.undecided_reasons().iter().take(3) {
                tracing::info!("  ? {n} still uncertain (e.g. {example}): {why}");
            }
        }
        client = Some(c);
    }
    let plan = &session.plan;
    match &session.resumed {
        Some(checkpoint) => tracing::info!("{}", resumed_line(&loaded, plan, checkpoint)),
        None => tracing::info!("{}", output::summary_line(plan)),
    }
    for warning in &plan.warnings {
        tracing::warn!("warning: {warning}");
    }
    if session.resendable_in_window > 0 {
        tracing::info!(
            "{} sends were in flight when a run stopped; they are resent identically \
             inside the server's duplicate window, which drops them if they arrived",
            session.resendable_in_window
        );
    }
    let to_send = session.to_send();
    if let Some(limit) = args.limit {
        tracing::info!(
            "canary: sending to the first {to_send} of {} pending recipients (--limit {limit})",
            plan.pending
        );
    }
    if !session.has_work() {
        let _ = writeln!(out, "{}: nothing to send", loaded.campaign.name);
        return Ok(Exit::Ok);
    }
    if args.sandbox {
        tracing::info!(
            "sandbox: sending to an emulator on 127.0.0.1 (demo credentials; nothing leaves this machine); journal {}",
            session.options.state
        );
    } else if !args.yes {
        confirm(
            &format!("Send {to_send} messages now?"),
            "send",
            "nothing sent",
            &mut err,
        )?;
    }
    if let Some(header) = &saved {
        plan::saved::mark_applied(header)?;
    }

    let client = match client {
        Some(client) => client,
        None => {
            watch_signals(&stop);
            connect(&loaded, &mut sandbox, connection).await?
        }
    };
    let counters = Counters::new();
    let display = Display::start(
        counters.clone(),
        config.progress_bar(),
        Duration::from_secs(5),
    );
    let state = session.options.state.clone();
    let started = std::time::Instant::now();
    let summary = session.execute(client, stop, counters.clone()).await;
    display.finish();
    let deliveries = sandbox.as_ref().map(|s| s.stats().deliveries);
    if let Some(s) = sandbox {
        s.shutdown().await;
    }
    // The summary is printed first: a slow webhook must not hold back what the run did.
    let exit = match &summary {
        Ok(summary) => print_summary(config, &loaded, &state, summary, deliveries, args),
        Err(_) => Ok(Exit::Ok),
    };
    let report = report_command(&loaded, &state);
    crate::notify::run_ended(&loaded, &summary, &counters, to_send, started, report).await;
    summary?;
    exit
}

/// The client of a run: to `connection`, or with none (`--sandbox`) to an emulator started
/// in-process, kept in `sandbox`.
async fn connect(
    loaded: &LoadedCampaign,
    sandbox: &mut Option<SandboxHandle>,
    connection: Option<Connection>,
) -> Result<ImClient> {
    let connection = match connection {
        Some(connection) => connection,
        None => {
            let started = start_sandbox(loaded).await?;
            let connection = demo_connection(&started.base_url())?;
            *sandbox = Some(started);
            connection
        }
    };
    ImClient::from_connection(connection)
        .map_err(|e| Error::network("cannot set up the HTTP client", e))
}

/// Notes on the schedule before anything is sent; `Some(line)` when `--no-wait` leaves it all
/// pending.
fn schedule_notes(
    config: &Config,
    args: &ApplyArgs,
    loaded: &LoadedCampaign,
) -> Result<Option<String>> {
    let campaign = &loaded.campaign;
    let Some(schedule) = &campaign.schedule else {
        return Ok(None);
    };
    let now = config.clock.now();
    if let Some(not_after) = &schedule.not_after
        && now > not_after.0
    {
        return Err(Error::user(format!(
            "{}: the campaign's schedule ended at {} (schedule.not_after); nothing sent",
            args.campaign.display(),
            not_after.0
        )));
    }
    match crate::schedule::gate(Some(&campaign_wide(schedule)), now, None) {
        Gate::Wait { until, reason } if args.no_wait => {
            let why = match reason {
                WaitReason::Start => "not due until",
                WaitReason::Window => "outside the sending window until",
            };
            return Ok(Some(format!(
                "{}: {why} {until}; nothing sent (--no-wait)",
                campaign.name
            )));
        }
        Gate::Wait {
            until,
            reason: WaitReason::Start,
        } => {
            tracing::info!(
                "note: scheduled for {until} (schedule.at): once confirmed, apply waits until \
                 then (Ctrl-C to cancel; --no-wait to exit instead)"
            );
        }
        Gate::Wait {
            until,
            reason: WaitReason::Window,
        } => {
            tracing::info!(
                "note: outside the sending window until {until}: once confirmed, apply waits \
                 for it (Ctrl-C to cancel; --no-wait to exit instead)"
            );
        }
        Gate::Closed { reason } => {
            return Err(Error::user(format!(
                "{}: {reason}; nothing sent",
                args.campaign.display()
            )));
        }
        Gate::Open { .. } => {}
    }
    Ok(None)
}

/// The emulator `apply --sandbox` sends to: any user ID, the campaign's sender and official
/// account known.
pub(crate) async fn start_sandbox(loaded: &LoadedCampaign) -> Result<SandboxHandle> {
    let campaign = &loaded.campaign;
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
    Ok(Sandbox::start(config).await?)
}

pub(crate) fn demo_connection(base_url: &str) -> Result<Connection> {
    Ok(Connection {
        base_url: BaseUrl::parse(base_url)?,
        credentials: Credentials {
            sdkappid: DEMO_SDKAPPID,
            admin: DEFAULT_ADMIN.to_owned(),
            secret: SecretKey::new(DEMO_SECRET_KEY),
        },
    })
}

/// What a run did, the problems it met, and how it ends.
fn print_summary(
    config: &Config,
    loaded: &LoadedCampaign,
    journal_path: &State,
    summary: &RunSummary,
    sandbox_deliveries: Option<u64>,
    args: &ApplyArgs,
) -> Result {
    let out = &mut std::io::stdout();
    let name = &loaded.campaign.name;
    let _ = writeln!(out, "{}", summary.line(name));
    if let Some(n) = sandbox_deliveries {
        let _ = writeln!(out, "sandbox: {n} deliveries recorded by the emulator");
    }
    if summary.settled_sent + summary.settled_not_sent > 0 {
        let _ = writeln!(
            out,
            "settled from the server's message history: {} uncertain sends had arrived, {} had not (sent in this run)",
            summary.settled_sent, summary.settled_not_sent
        );
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
            "{} sends from an interrupted run have an unknown outcome that the server's history could not settle (`timcast report` says why) and were skipped (resend with --resend-uncertain; they may then arrive twice)",
            summary.skipped_uncertain
        );
    }
    if let Some(line) = summary.unknown_codes_line() {
        let _ = writeln!(out, "{line}");
    }
    if let Ok(Some(journal)) = journal_path.open_existing()
        && let Ok(problems) = report::problems_text(journal.as_ref(), name, 10)
    {
        let _ = write!(out, "{problems}");
    }
    let _ = writeln!(
        out,
        "report: {} --format html > report.html",
        report_command(loaded, journal_path)
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
        return Err(Error::Fatal(fatal.clone()));
    }
    if let Some(why) = &summary.held_back {
        tracing::warn!("held back: {why}");
        return Ok(Exit::FailedSends);
    }
    if summary.interrupted {
        tracing::warn!(
            "interrupted: {} sends not started. Resume with the same command:\n  {}",
            summary.not_started,
            config.resume_command()
        );
        return Ok(Exit::Interrupted);
    }
    if args.limit.is_some() && summary.not_started > 0 {
        tracing::info!(
            "canary done: {} recipients still pending; run without --limit to send to them",
            summary.not_started
        );
    }
    Ok(if summary.failed > 0 || summary.uncertain > 0 {
        Exit::FailedSends
    } else {
        Exit::Ok
    })
}

/// The `timcast report` line that reads this run's journal: the campaign file (not a saved
/// plan), and `--sandbox` or `--state` when the journal is not the default one.
pub(super) fn report_command(loaded: &LoadedCampaign, journal: &State) -> String {
    let default = State::for_campaign(None, &loaded.path);
    let mut line = format!(
        "timcast report {}",
        shell_word(&loaded.path.display().to_string())
    );
    if *journal == default.sandbox() {
        line.push_str(" --sandbox");
    } else if *journal != default {
        line.push_str(&format!(" --state {}", shell_word(&journal.to_string())));
    }
    line
}

/// `word`, quoted for a POSIX shell when it needs to be.
fn shell_word(word: &str) -> String {
    let plain = word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c));
    if plain && !word.is_empty() {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}
