//! `timcast recall`: withdraw what the journal says a campaign sent.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::{confirm, load_campaign};
use crate::apply::recall;
use crate::error::{Error, Exit, Result};
use crate::im::types::MAX_RECALL_REASON_BYTES;
use crate::im::{ConnectionArgs, ImClient};

#[derive(Debug, Clone, Args)]
pub(crate) struct RecallArgs {
    /// The campaign file.
    #[arg(value_name = "CAMPAIGN")]
    pub campaign: PathBuf,
    /// Recall without asking for confirmation (needed when not on a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Why the messages are withdrawn, sent as `Reason` of official_account_msg_recall (at
    /// most 100 bytes). admin_msgwithdraw has no reason, so one-to-one recalls ignore it.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// The journal (SQLite) that records what was sent [default: .timcast/state.db in the
    /// project's root: the directory of timcast.toml, else the Git root, else the campaign's].
    #[arg(long = "state", env = "TIMCAST_STATE", value_name = "PATH")]
    pub state: Option<PathBuf>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `timcast recall`.
pub(crate) async fn run(args: &RecallArgs) -> Result {
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    if let Some(reason) = &args.reason
        && reason.len() > MAX_RECALL_REASON_BYTES
    {
        return Err(Error::user(format!(
            "--reason is {} bytes long; official_account_msg_recall takes at most \
             {MAX_RECALL_REASON_BYTES}",
            reason.len()
        )));
    }
    let loaded = load_campaign(&args.campaign)?;
    let name = &loaded.campaign.name;
    let connection = args
        .connection
        .resolve(&crate::campaign::connection_defaults(&loaded.campaign))?;
    let state = super::journal_of(args.state.as_deref(), false, &args.campaign, name)?;
    let journal = state.open()?;
    let _lock = journal.lock(name)?;
    let targets = recall::targets(journal.as_ref(), name)?;
    drop(journal);
    if targets.is_empty() {
        let _ = writeln!(out, "{name}: nothing to recall");
        return Ok(Exit::Ok);
    }
    let _ = writeln!(err, "{name}: {} sent messages to withdraw", targets.len());
    if args.reason.is_some() && loaded.campaign.audience.official_account.is_none() {
        let _ = writeln!(
            err,
            "{name}: --reason is not sent: admin_msgwithdraw, which withdraws one-to-one \
             messages, has no reason"
        );
    }
    if !args.yes {
        confirm(
            &format!("Recall {} messages now?", targets.len()),
            "recall",
            "nothing recalled",
            &mut err,
        )?;
    }
    let admin = connection.credentials.admin.clone();
    let client = ImClient::from_connection(connection)
        .map_err(|e| Error::network("cannot set up the HTTP client", e))?;
    let options = recall::RecallOptions {
        reason: args.reason.clone(),
    };
    let summary = recall::recall_with(&loaded, &state, targets, client, &admin, &options).await?;
    let _ = writeln!(
        out,
        "{name}: recalled {}, failed {}",
        summary.recalled, summary.failed
    );
    for (recipient, text) in summary.failures.iter().take(10) {
        let _ = writeln!(out, "  ! {recipient}: {text}");
    }
    if let Some(fatal) = summary.fatal {
        return Err(Error::user(format!("the recall stopped: {fatal}")));
    }
    Ok(if summary.failed > 0 {
        Exit::FailedSends
    } else {
        Exit::Ok
    })
}
