//! `timcast reconcile`: settle a campaign's uncertain sends from the server's message history,
//! on demand, and print what changed. (`apply` settles those a resend cannot by itself.)

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{load_campaign, watch_signals};
use crate::apply::Stop;
use crate::apply::settle::{self, Scope, SettleOptions, SettleSummary, Verdict};
use crate::error::{Error, Exit, Result};
use crate::im::{ConnectionArgs, ImClient};

/// Changed sends listed one a line; the rest are counted.
const MAX_LINES: usize = 20;

#[derive(Debug, Clone, Args)]
pub(crate) struct ReconcileArgs {
    /// The campaign file.
    #[arg(value_name = "CAMPAIGN")]
    pub campaign: PathBuf,
    /// Settle the journal of `apply --sandbox` runs with the demo app's credentials, against
    /// --endpoint / TIM_ENDPOINT when set (a running `timcast sandbox`), else against an
    /// emulator started in-process (which holds no message of earlier runs).
    #[arg(long)]
    pub sandbox: bool,
    /// The journal that records what was sent: a SQLite file, or a postgres://user@host/db URL
    /// for one a team and its CI runners share [default: .timcast/state.db in the
    /// project's root: the directory of timcast.toml, else the Git root, else the campaign's].
    #[arg(long = "state", env = "TIMCAST_STATE", value_name = "PATH|URL")]
    pub state: Option<PathBuf>,
    /// How long the app's server keeps one-to-one history (roaming retention: 7 days by
    /// default, longer on paid editions). Older uncertain sends stay uncertain.
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

/// `timcast reconcile`.
pub(crate) async fn run(args: &ReconcileArgs) -> Result {
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    let loaded = load_campaign(&args.campaign)?;
    let name = loaded.campaign.name.clone();
    let state = super::journal_of(args.state.as_deref(), args.sandbox, &args.campaign, &name)?;
    let options = SettleOptions {
        retention: args.history_retention,
        ..SettleOptions::new(Scope::All)
    };
    let Some(journal) = state.open_existing()? else {
        let _ = writeln!(out, "{name}: no journal at {state}; nothing to settle");
        return Ok(Exit::Ok);
    };
    let uncertain = settle::count(journal.as_ref(), &name, &options)?;
    drop(journal);
    if uncertain == 0 {
        let _ = writeln!(out, "{name}: no uncertain sends; nothing to settle");
        return Ok(Exit::Ok);
    }
    // Resolve the connection before taking the lock, so a missing key fails fast.
    let defaults = crate::campaign::connection_defaults(&loaded.campaign);
    let connection = if args.sandbox {
        None
    } else {
        Some(args.connection.resolve(&defaults)?)
    };
    let _lock = state.open()?.lock(&name)?;
    let mut sandbox = None;
    let connection = match connection {
        Some(connection) => connection,
        None => match &args.connection.endpoint {
            Some(url) => super::apply::demo_connection(url)?,
            None => {
                let started = super::apply::start_sandbox(&loaded).await?;
                let _ = writeln!(
                    err,
                    "sandbox: an emulator started in-process on 127.0.0.1; it holds no message of earlier runs, so what it has not seen counts as not sent (point --endpoint at a running `timcast sandbox` to settle against it)"
                );
                let connection = super::apply::demo_connection(&started.base_url())?;
                sandbox = Some(started);
                connection
            }
        },
    };
    let client = ImClient::from_connection(connection)
        .map_err(|e| Error::network("cannot set up the HTTP client", e))?;
    let stop = Stop::new();
    watch_signals(&stop);
    let _ = writeln!(
        err,
        "{name}: looking up {uncertain} uncertain sends in the server's message history (admin_getroammsg)"
    );
    let summary = settle::settle(&loaded, &state, &client, &options, &stop).await?;
    if let Some(s) = sandbox {
        s.shutdown().await;
    }
    let _ = write!(out, "{}", summary_text(&name, &summary));
    if let Some(why) = &summary.stopped
        && stop.is_stopped()
        && stop.fatal_reason().is_none()
    {
        let _ = writeln!(
            err,
            "interrupted: {why}; run the same command again to settle the rest"
        );
        return Ok(Exit::Interrupted);
    }
    Ok(if summary.undecided() > 0 {
        Exit::FailedSends
    } else {
        Exit::Ok
    })
}

/// What changed, one send a line (at most [`MAX_LINES`]), then the reasons sends stay
/// uncertain and what to do next.
fn summary_text(name: &str, summary: &SettleSummary) -> String {
    let mut text = format!(
        "{name}: {} uncertain sends: {}\n",
        summary.settled.len(),
        summary.line()
    );
    let changed: Vec<_> = summary
        .settled
        .iter()
        .filter(|s| !matches!(s.verdict, Verdict::Undecided { .. }))
        .collect();
    for s in changed.iter().take(MAX_LINES) {
        let line = match &s.verdict {
            Verdict::Sent { msg_key, msg_time } => format!(
                "  = {} sent (MsgKey {}, {})",
                s.recipient,
                msg_key.as_deref().unwrap_or("not given"),
                jiff::Timestamp::from_second(*msg_time)
                    .map_or_else(|_| msg_time.to_string(), |t| t.to_string())
            ),
            Verdict::NotSent { .. } => {
                format!("  + {} not sent: the next apply sends it", s.recipient)
            }
            Verdict::Undecided { .. } => continue,
        };
        text.push_str(&line);
        text.push('\n');
    }
    if changed.len() > MAX_LINES {
        text.push_str(&format!("  … and {} more\n", changed.len() - MAX_LINES));
    }
    for (why, n, example) in summary.undecided_reasons() {
        let who = if n == 1 {
            example
        } else {
            format!("{n} sends, e.g. {example}")
        };
        text.push_str(&format!("  ? {who} still uncertain: {why}\n"));
    }
    if let Some(why) = &summary.stopped {
        text.push_str(&format!("  lookups stopped: {why}\n"));
    }
    if summary.not_sent() > 0 {
        text.push_str(&format!(
            "next: `timcast apply` sends the {} not sent\n",
            summary.not_sent()
        ));
    }
    text
}
