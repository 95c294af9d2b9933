//! `timcast recall`: withdraw what the journal says a campaign sent.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::{confirm, load_campaign};
use crate::apply::progress::{Counters, Display};
use crate::apply::recall;
use crate::audience::{Recipients, fingerprint};
use crate::campaign::LoadedCampaign;
use crate::config::Config;
use crate::error::{Error, Exit, Result};
use crate::im::types::{Endpoint, MAX_RECALL_REASON_BYTES};
use crate::im::{ConnectionArgs, ImClient, settings::DEFAULT_ADMIN};
use crate::journal::SendRecord;
use crate::sandbox::Delivery;

/// Which sent messages to withdraw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RecallOnly {
    /// Only the recipients no longer in the audience (`-` in the plan).
    Removed,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct RecallArgs {
    /// The campaign file.
    #[arg(value_name = "CAMPAIGN")]
    pub campaign: PathBuf,
    /// Recall without asking for confirmation (needed when not on a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Say what would be withdrawn (how many, through which API, a few recipients) and stop.
    #[arg(long)]
    pub dry_run: bool,
    /// Withdraw at most N messages (the first N in the journal), e.g. to try a recall first.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// `removed`: withdraw only from recipients no longer in the campaign's CSV (`-` in the
    /// plan), e.g. after taking people off the list.
    #[arg(long, value_enum, value_name = "WHICH")]
    pub only: Option<RecallOnly>,
    /// Recall what `apply --sandbox` sent (its journal, sandbox.db), from an emulator on
    /// 127.0.0.1 that is given those messages: no credentials, nothing leaves the machine.
    #[arg(long)]
    pub sandbox: bool,
    /// Why the messages are withdrawn, sent as `Reason` of official_account_msg_recall (at
    /// most 100 bytes). admin_msgwithdraw has no reason, so one-to-one recalls ignore it.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// The journal that records what was sent: a SQLite file, or a postgres://user@host/db URL
    /// for one a team and its CI runners share [default: .timcast/state.db in the
    /// project's root: the directory of timcast.toml, else the Git root, else the campaign's].
    #[arg(long = "state", env = "TIMCAST_STATE", value_name = "PATH|URL")]
    pub state: Option<PathBuf>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `timcast recall`.
pub(crate) async fn run(config: &Config, args: &RecallArgs) -> Result {
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
    let state = super::journal_of(args.state.as_deref(), args.sandbox, &args.campaign, name)?;
    let journal = state.open()?;
    let _lock = journal.lock(name)?;
    let mut targets = recall::targets(journal.as_ref(), name)?;
    drop(journal);
    if args.only == Some(RecallOnly::Removed) {
        targets = removed_from_audience(&loaded, targets)?;
    }
    let available = targets.len();
    if let Some(limit) = args.limit {
        targets.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    let which = if args.only.is_some() {
        " from recipients no longer in the audience"
    } else {
        ""
    };
    if targets.is_empty() {
        let _ = writeln!(out, "{name}: nothing to recall{which}");
        return Ok(Exit::Ok);
    }
    let official = targets
        .iter()
        .filter(|r| r.endpoint == Endpoint::SendOfficialAccountMsg)
        .count();
    let of_all = if targets.len() < available {
        format!(" (--limit: {available} in all)")
    } else {
        String::new()
    };
    let what = format!("{} sent messages{which}{of_all}", targets.len());
    if args.dry_run {
        let _ = writeln!(out, "{name}: would withdraw {what}");
        if targets.len() > official {
            let _ = writeln!(
                out,
                "  {} through admin_msgwithdraw (one call each)",
                targets.len() - official
            );
        }
        if official > 0 {
            let _ = writeln!(
                out,
                "  {official} through official_account_msg_recall (10 keys a call)"
            );
        }
        for record in targets.iter().take(10) {
            let _ = writeln!(out, "  - {}", record.recipient);
        }
        if targets.len() > 10 {
            let _ = writeln!(out, "  … and {} more", targets.len() - 10);
        }
        let _ = writeln!(out, "(dry run: nothing was withdrawn)");
        return Ok(Exit::Ok);
    }
    let _ = writeln!(
        err,
        "{name}: {} sent messages to withdraw{which}{of_all}",
        targets.len()
    );
    if args.reason.is_some() && loaded.campaign.audience.official_account.is_none() {
        let _ = writeln!(
            err,
            "{name}: --reason is not sent: admin_msgwithdraw, which withdraws one-to-one \
             messages, has no reason"
        );
    }
    let sandbox = if args.sandbox {
        let sandbox = super::apply::start_sandbox(&loaded).await?;
        sandbox.preload(targets.iter().map(|r| sandbox_delivery(&loaded, r)));
        let _ = writeln!(
            err,
            "sandbox: withdrawing from an emulator on 127.0.0.1 (demo credentials; nothing \
             leaves this machine); journal {state}"
        );
        Some(sandbox)
    } else {
        if !args.yes {
            confirm(
                &format!("Recall {} messages now?", targets.len()),
                "recall",
                "nothing recalled",
                &mut err,
            )?;
        }
        None
    };
    let connection = match &sandbox {
        Some(s) => super::apply::demo_connection(&s.base_url())?,
        None => args
            .connection
            .resolve(&crate::campaign::connection_defaults(&loaded.campaign))?,
    };
    let admin = connection.credentials.admin.clone();
    let client = ImClient::from_connection(connection)
        .map_err(|e| Error::network("cannot set up the HTTP client", e))?;
    let counters = Counters::new();
    let _ = counters.done_word.set("recalled");
    let options = recall::RecallOptions {
        reason: args.reason.clone(),
        progress: Some(counters.clone()),
    };
    let display = Display::start(counters, config.progress_bar(), Duration::from_secs(5));
    let summary = recall::recall_with(&loaded, &state, targets, client, &admin, &options).await;
    display.finish();
    if let Some(s) = sandbox {
        s.shutdown().await;
    }
    let summary = summary?;
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

/// The sent records whose recipient is no longer in the campaign's audience.
fn removed_from_audience(
    loaded: &LoadedCampaign,
    targets: Vec<SendRecord>,
) -> Result<Vec<SendRecord>> {
    if loaded.campaign.audience.official_account.is_some() {
        return Err(Error::user(
            "--only removed needs a CSV audience: an official account's broadcast has no \
             recipients to take off",
        ));
    }
    let mut audience = Recipients::of_campaign(loaded, true)
        .map_err(|e| Error::user(format!("cannot read the audience: {e}")))?;
    while let Some(row) = audience.next_row() {
        row.map_err(|e| Error::user(format!("cannot read the audience: {e}")))?;
    }
    Ok(targets
        .into_iter()
        .filter(|r| !audience.has_seen(fingerprint(&r.recipient)))
        .collect())
}

/// A journaled send as the emulator would have recorded it.
fn sandbox_delivery(loaded: &LoadedCampaign, record: &SendRecord) -> Delivery {
    let sender = if record.endpoint == Endpoint::SendOfficialAccountMsg {
        record.recipient.clone()
    } else {
        loaded
            .campaign
            .sender
            .clone()
            .unwrap_or_else(|| DEFAULT_ADMIN.to_owned())
    };
    let at_ms = u64::try_from(record.updated_at_ms).unwrap_or(0);
    Delivery::new(
        record.endpoint,
        sender,
        record.recipient.clone(),
        record.msg_key.clone().unwrap_or_default(),
        at_ms,
        serde_json::Value::Null,
    )
}
