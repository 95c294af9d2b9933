//! The command line: clap definitions, and the one place a command's result becomes output
//! and an exit code. Arguments are parsed, the process settings resolved once into a
//! [`Config`], and the command runs on the one tokio runtime.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commands;
use crate::config::Config;
use crate::error::{self, Error, Exit};
use crate::logging::{self, LogFormat, LogSettings};

/// Declarative broadcast campaigns for the Tencent Cloud IM (Chat) REST API.
///
/// A campaign is a YAML file: who receives it, what they receive, push settings, rate and
/// schedule. `timcast validate` checks campaign files without touching the network.
#[derive(Debug, Parser)]
#[command(name = "timcast", version, about, long_about = None)]
#[command(
    after_help = "Exit codes: 0 success, 1 user error (bad file or flag), \
2 sends pending (plan --detailed-exitcode), 3 finished with failed sends, 4 interrupted, \
5 the environment failed (journal, database or network): try again later."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// How messages on stderr are written: `text` for people, `json` for CI and log shippers
    /// (exactly one JSON object per line with `timestamp`, `level`, `message`, `campaign` and
    /// the event's fields; no progress bar).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT")]
    pub log_format: LogFormat,
    /// More detail on stderr: -v adds debug lines (one per API call, with its endpoint, outcome
    /// and time), -vv trace. Secrets (the key, UserSigs, webhook URLs) are never logged.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Less on stderr: -q only warnings and errors (no progress), -qq only errors.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub quiet: u8,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check campaign files: syntax, keys, files, CSV headers, templates and API limits. No network.
    ///
    /// Every problem is printed as file:line:col with the offending text underlined and a hint.
    /// Exits 0 when every file is valid, 1 otherwise.
    ///
    /// Example: timcast validate campaigns/*.yaml
    Validate {
        /// Campaign files to check; a directory stands for every *.yaml and *.yml in it (as
        /// `run DIR` takes them).
        #[arg(required = true, value_name = "CAMPAIGN|DIR")]
        files: Vec<PathBuf>,
    },
    /// Show what `apply` would send, without sending: every recipient rendered and checked,
    /// grouped into API calls, and compared with the journal of earlier runs.
    ///
    /// Each recipient is `+` new, `=` already sent, `~` changed since sent (not resent unless
    /// --resend-changed), `↻` failed before with a retryable error, `?` in flight when a run
    /// stopped, `!` failed for good, `-` sent before but no longer in the audience, `○` in the
    /// holdout, `⊘` capped (the campaign's `frequency_cap`: they had enough messages lately
    /// from other campaigns in the journal; `apply` checks again as each call goes out).
    ///
    /// Example: timcast plan campaigns/welcome.yaml --format markdown > plan.md
    Plan(Box<commands::plan::PlanArgs>),
    /// Send the campaign: exactly what `plan` shows, rate-limited, with a crash-safe journal.
    ///
    /// Shows the plan's summary line and asks for confirmation on a terminal; off a terminal it
    /// refuses unless --yes is given. Every send is journaled (an intent before the call, the
    /// outcome after), so Ctrl-C or a crash loses nothing: run the same command again to resume.
    /// With --yes over the files an earlier run checked, the resumed run sends at once from the
    /// journal's checkpoint ("resuming at row N") instead of counting the audience first.
    /// Sends in flight when a run died are resent identically while the server's duplicate
    /// window is open (it drops them if they arrived), and otherwise reported as uncertain.
    /// Exits 0 when everything was sent, 3 when some sends failed or are uncertain, 4 when
    /// interrupted. It follows the campaign's schedule: it waits for `schedule.at` and pauses
    /// outside the sending window (--no-wait exits 0 instead, leaving the rest pending), and
    /// refuses past `schedule.not_after`. With --sandbox it sends to an in-process emulator on
    /// 127.0.0.1 with demo credentials: no confirmation, nothing leaves the machine, its own
    /// journal (sandbox.db), and no schedule. At the end of the run it posts the result to the
    /// campaign's and timcast.toml's `notify` webhooks (URLs from the environment variables they
    /// name; a webhook that fails is a warning, never a failed run).
    ///
    /// Example: timcast apply --sandbox campaigns/welcome.yaml
    ///
    /// Example: TIM_REGION=singapore TIM_SDKAPPID=1400000000 TIM_SECRET_KEY_FILE=~/.tim/key timcast apply campaigns/welcome.yaml --limit 10
    Apply(Box<commands::apply::ApplyArgs>),
    /// Apply every campaign in DIR whose schedule is due now: for cron and CI.
    ///
    /// Reads every *.yaml / *.yml directly in DIR (not subdirectories), validates each, and
    /// applies those with sends pending whose schedule allows sending now (no schedule, or
    /// `at` reached, `not_after` not passed, the window open). It never waits and never asks:
    /// a campaign that is not due is skipped with a one-line reason, a window that closes
    /// mid-run leaves the rest pending for the next call, and a campaign another process is
    /// applying (the journal's lock) is skipped. Exits 4 if interrupted, else 1 if a campaign
    /// was invalid or could not run, else 3 if sends failed, else 0. Each campaign's run posts
    /// its result to its `notify` webhooks, as `apply` does.
    ///
    /// Example: TIM_REGION=singapore TIM_SDKAPPID=1400000000 TIM_SECRET_KEY_FILE=~/.tim/key timcast run campaigns --due
    Run(Box<commands::run::RunArgs>),
    /// Report what a campaign sent, from the journal: per recipient and totals.
    ///
    /// Formats: text, csv (formula-like cells escaped for spreadsheets), json, markdown, and
    /// html (one self-contained page with a chart of sends per second and the outcomes).
    ///
    /// Example: timcast report campaigns/welcome.yaml --format html > report.html
    Report(commands::report::ReportArgs),
    /// Withdraw what the journal says a campaign sent (admin_msgwithdraw per recipient,
    /// official_account_msg_recall for an official account) and record the withdrawals.
    ///
    /// An official account's message counts as withdrawn only when the reply's RetCode for
    /// its MsgKey says so; any other stays sent and is listed. Asks for confirmation on a
    /// terminal; off a terminal it refuses unless --yes is given.
    ///
    /// Example: TIM_REGION=singapore TIM_SDKAPPID=1400000000 TIM_SECRET_KEY_FILE=~/.tim/key timcast recall campaigns/welcome.yaml --yes
    Recall(Box<commands::recall::RecallArgs>),
    /// Settle a campaign's uncertain sends from the server's message history, and print what
    /// changed.
    ///
    /// An uncertain send was in flight when a run died, or its reply was lost. Each one of a
    /// sendmsg or batchsendmsg is looked up in the recipient's history with the sender
    /// (admin_getroammsg) by the MsgSeq and MsgRandom timcast sent it with: found, it is
    /// journaled as sent with the server's MsgKey (so `recall` can withdraw it); missing from
    /// the complete history, as not sent (the next `apply` sends it). What the history cannot
    /// tell (older than the server keeps history, the lookup refused, an official account or a
    /// chatbot stream) stays uncertain with the reason. `apply` does the same by itself before
    /// it sends. Exits 0 when nothing is left uncertain, 3 otherwise.
    ///
    /// Example: TIM_REGION=singapore TIM_SDKAPPID=1400000000 TIM_SECRET_KEY_FILE=~/.tim/key timcast reconcile campaigns/welcome.yaml
    Reconcile(Box<commands::reconcile::ReconcileArgs>),
    /// The journal: where it is and what it holds (`info`), or copy it between SQLite and
    /// PostgreSQL (`migrate`).
    ///
    /// Every command takes --state PATH|URL (or TIMCAST_STATE): a SQLite file, or a
    /// postgres:// URL for a journal a team and its CI runners share.
    ///
    /// Example: timcast state info
    ///
    /// Example: timcast state migrate --from .timcast/state.db --to postgres://timcast@db.internal/timcast
    State(commands::state::StateArgs),
    /// Print exactly what one recipient would receive: the rendered text and the API request.
    ///
    /// It notes when the recipient would not be sent to: suppressed, in the holdout, or capped
    /// by the campaign's `frequency_cap` (counted in the journal that --state names).
    ///
    /// Example: timcast preview campaigns/welcome.yaml --recipient u1001
    Preview(commands::preview::PreviewArgs),
    /// Print the JSON Schema of the campaign file (for editors: yaml-language-server, VS Code).
    ///
    /// Example: timcast schema > schema/campaign.schema.json
    Schema,
    /// Sign an App admin (or any user's) UserSig with the app's secret key, or check one.
    ///
    /// The secret key comes from TIM_SECRET_KEY or the file named by --secret-key-file /
    /// TIM_SECRET_KEY_FILE; it is never taken from the command line and never printed.
    /// With --verify, exits 0 when SIG is valid for IDENTIFIER and the SDKAppID, and 1 with the
    /// reason (expired, signed with another key, other identifier or SDKAppID, undecodable).
    ///
    /// Example: TIM_SDKAPPID=1400000000 TIM_SECRET_KEY_FILE=~/.tim/key timcast usersig administrator --expire 86400
    #[command(name = "usersig")]
    UserSig(commands::usersig::UsersigArgs),
    /// List the app's chatbot accounts (@RBT#…) with get_all_robots.
    ///
    /// Needs the SDKAppID, admin, secret key and a region or endpoint.
    ///
    /// Example: TIM_SDKAPPID=1400000000 TIM_REGION=singapore TIM_SECRET_KEY_FILE=~/.tim/key timcast robots
    Robots(commands::robots::RobotsArgs),
    /// Run a local emulator of the IM REST API: no credentials, nothing leaves the machine.
    ///
    /// It checks query strings, UserSigs and bodies as the documentation describes, applies the
    /// documented rate limits and duplicate rules, and records every delivery
    /// (GET /sandbox/deliveries, GET /sandbox/stats, or --delivery-log FILE as JSON lines).
    /// It prints the export lines that point timcast at it. Without TIM_SECRET_KEY or a key
    /// file it uses the public demo key. It binds only loopback unless --allow-non-loopback.
    ///
    /// Example: timcast sandbox --listen 127.0.0.1:8088 --fault-rate 0.05 --lost-reply-rate 0.01
    Sandbox(Box<commands::sandbox::SandboxArgs>),
}

/// Parses `args` and runs the command.
pub(crate) fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(err) => {
            // --help and --version are not errors; anything else is a user error (exit 1).
            let code = if err.use_stderr() {
                error::USER_ERROR
            } else {
                0
            };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    let words = args
        .iter()
        .skip(1)
        .map(|w| w.to_string_lossy().into_owned())
        .collect();
    let log = LogSettings::new(cli.log_format, cli.verbose, cli.quiet);
    logging::init(log);
    let result = Config::from_env(words, log).and_then(|config| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Environment(format!("cannot start the async runtime: {e}")))?
            .block_on(async {
                let span = tracing::info_span!("command", command = cli.command.name());
                tracing::Instrument::instrument(dispatch(&config, cli.command), span).await
            })
    });
    match result {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(error) => {
            if log.json() {
                // Still one JSON object per line: the error and its causes as one message.
                let mut text = Vec::new();
                error.print(&mut text);
                tracing::error!(code = error.code(), "{}", String::from_utf8_lossy(&text));
            } else {
                error.print(&mut std::io::stderr().lock());
            }
            ExitCode::from(error.code())
        }
    }
}

impl Command {
    /// The subcommand's name, for the logs.
    fn name(&self) -> &'static str {
        match self {
            Command::Validate { .. } => "validate",
            Command::Schema => "schema",
            Command::Plan(_) => "plan",
            Command::Apply(_) => "apply",
            Command::Run(_) => "run",
            Command::Report(_) => "report",
            Command::Recall(_) => "recall",
            Command::Reconcile(_) => "reconcile",
            Command::State(_) => "state",
            Command::Preview(_) => "preview",
            Command::UserSig(_) => "usersig",
            Command::Robots(_) => "robots",
            Command::Sandbox(_) => "sandbox",
        }
    }
}

async fn dispatch(config: &Config, command: Command) -> error::Result<Exit> {
    match command {
        Command::Validate { files } => commands::validate::run(&files).await,
        Command::Schema => commands::validate::schema().await,
        Command::Plan(args) => commands::plan::run(config, &args).await,
        Command::Apply(args) => commands::apply::run(config, &args).await,
        Command::Run(args) => commands::run::run(config, &args).await,
        Command::Report(args) => commands::report::run(config, &args).await,
        Command::Recall(args) => commands::recall::run(config, &args).await,
        Command::Reconcile(args) => commands::reconcile::run(&args).await,
        Command::State(args) => commands::state::run(&args).await,
        Command::Preview(args) => commands::preview::run(&args).await,
        Command::UserSig(args) => commands::usersig::run(&args).await,
        Command::Robots(args) => commands::robots::run(&args).await,
        Command::Sandbox(args) => commands::sandbox::run(&args).await,
    }
}
