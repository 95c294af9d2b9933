//! `timcast state`: where the journal is and what it holds (`info`), and copying a journal
//! between SQLite and PostgreSQL (`migrate`), verified campaign by campaign.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::error::{Error, Exit, Result, written};
use crate::journal::{CampaignCounts, JournalStore, SendRecord, State};
use crate::project::Project;

/// Records copied per transaction.
const COPY_BATCH: usize = 5_000;

#[derive(Debug, Clone, Args)]
pub(crate) struct StateArgs {
    #[command(subcommand)]
    pub command: StateCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub(crate) enum StateCommand {
    /// Where the journal is, its schema version, and each campaign's recipients by state.
    ///
    /// Example: timcast state info --state postgres://timcast@db.internal/timcast
    Info {
        /// The journal: a SQLite file or a postgres:// URL [default: .timcast/state.db at the
        /// project's root, found from the working directory].
        #[arg(long = "state", env = "TIMCAST_STATE", value_name = "PATH|URL")]
        state: Option<PathBuf>,
        /// The journal `apply --sandbox` runs keep beside it.
        #[arg(long)]
        sandbox: bool,
        /// `text` or `json`.
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
    },
    /// Copy every campaign's records (with applied saved plans, tags and checkpoints) from one
    /// journal to another, SQLite or PostgreSQL either way, then check that both hold the same.
    ///
    /// Refuses when the destination already holds records of a campaign being copied. Stop
    /// every `apply` on the source first: what is written during the copy may be missed.
    ///
    /// Example: timcast state migrate --from .timcast/state.db --to postgres://timcast@db.internal/timcast
    Migrate {
        /// The journal to copy from (a SQLite file or a postgres:// URL).
        #[arg(long, value_name = "PATH|URL")]
        from: PathBuf,
        /// The journal to copy to (created if needed).
        #[arg(long, value_name = "PATH|URL")]
        to: PathBuf,
    },
}

pub(crate) async fn run(args: &StateArgs) -> Result {
    // The stores block: keep them off the async workers.
    let args = args.clone();
    tokio::task::spawn_blocking(move || match &args.command {
        StateCommand::Info {
            state,
            sandbox,
            format,
        } => info(state.as_deref(), *sandbox, format),
        StateCommand::Migrate { from, to } => migrate(from, to),
    })
    .await
    .map_err(|e| Error::user(format!("the state command stopped: {e}")))?
}

#[derive(serde::Serialize)]
struct Info {
    location: String,
    store: &'static str,
    schema_version: i32,
    campaigns: Vec<CampaignCounts>,
    applied_plans: usize,
    /// Each campaign's `tags:`, as frequency caps count them.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    tags: std::collections::BTreeMap<String, Vec<String>>,
}

fn info(arg: Option<&Path>, sandbox: bool, format: &str) -> Result {
    let state = State::for_project(arg, &Project::of_dir(Path::new(".")));
    let state = if sandbox { state.sandbox() } else { state };
    let store = if state.is_postgres() {
        "postgresql"
    } else {
        "sqlite"
    };
    let Some(journal) = state.open_existing()? else {
        return Err(Error::user_with_help(
            format!("no journal at {}: nothing was applied yet", state.shown()),
            "pass --state PATH|URL (or TIMCAST_STATE) to name the journal",
        ));
    };
    let info = Info {
        location: state.shown(),
        store,
        schema_version: journal.schema_version()?,
        campaigns: journal.campaigns()?,
        applied_plans: journal.applied_plans()?.len(),
        tags: tags_by_campaign(journal.all_tags()?),
    };
    let mut out = std::io::stdout().lock();
    if format == "json" {
        let text = serde_json::to_string_pretty(&info)
            .map_err(|e| Error::user(format!("cannot write json: {e}")))?;
        written(writeln!(out, "{text}"))?;
        return Ok(Exit::Ok);
    }
    written(writeln!(out, "Journal: {} ({store})", info.location))?;
    written(writeln!(out, "Schema:  version {}", info.schema_version))?;
    written(writeln!(out, "Applied saved plans: {}", info.applied_plans))?;
    if info.campaigns.is_empty() {
        written(writeln!(out, "Campaigns: none"))?;
    } else {
        written(writeln!(out, "Campaigns:"))?;
    }
    for c in &info.campaigns {
        let states: Vec<String> = c.states.iter().map(|(s, n)| format!("{n} {s}")).collect();
        let tags = info
            .tags
            .get(&c.campaign)
            .map_or_else(String::new, |t| format!(", tags: {}", t.join(", ")));
        written(writeln!(
            out,
            "  {}: {} recipients ({}){tags}",
            c.campaign,
            c.total,
            states.join(", ")
        ))?;
    }
    Ok(Exit::Ok)
}

fn migrate(from: &Path, to: &Path) -> Result {
    let (from, to) = (State::from_arg(from), State::from_arg(to));
    if from == to {
        return Err(Error::user("--from and --to name the same journal"));
    }
    let Some(source) = from.open_existing()? else {
        return Err(Error::user(format!(
            "no journal at {}: nothing to copy",
            from.shown()
        )));
    };
    let mut target = to.open()?;
    let campaigns = source.campaigns()?;
    let already: Vec<String> = target
        .campaigns()?
        .into_iter()
        .map(|c| c.campaign)
        .filter(|name| campaigns.iter().any(|c| &c.campaign == name))
        .collect();
    if !already.is_empty() {
        return Err(Error::user_with_help(
            format!(
                "{} already holds records of {}",
                to.shown(),
                already.join(", ")
            ),
            "copy into an empty journal (or another schema: ?schema=NAME in a postgres URL)",
        ));
    }
    let mut err = std::io::stderr().lock();
    for campaign in &campaigns {
        copy_campaign(source.as_ref(), target.as_mut(), &campaign.campaign)?;
        let copied = target
            .campaigns()?
            .into_iter()
            .find(|c| c.campaign == campaign.campaign);
        let same_fingerprint =
            source.fingerprint(&campaign.campaign)? == target.fingerprint(&campaign.campaign)?;
        if copied.as_ref() != Some(campaign) || !same_fingerprint {
            return Err(Error::user(format!(
                "campaign `{}`: the copy in {} does not match its source ({} recipients copied of {}); the source is unchanged",
                campaign.campaign,
                to.shown(),
                copied.map_or(0, |c| c.total),
                campaign.total
            )));
        }
        // The records are the same, so the row the source's runs settled is settled here:
        // the next run resumes from it instead of counting first.
        if let Some(checkpoint) = source.checkpoint(&campaign.campaign)? {
            target.save_checkpoint(&campaign.campaign, &checkpoint)?;
        }
        written(writeln!(
            err,
            "{}: {} records copied and verified",
            campaign.campaign, campaign.total
        ))?;
    }
    for (plan_id, campaign, at_ms) in source.applied_plans()? {
        target.mark_plan_applied(&plan_id, &campaign, at_ms)?;
    }
    for (campaign, tags) in tags_by_campaign(source.all_tags()?) {
        target.set_tags(&campaign, &tags)?;
    }
    let total: u64 = campaigns.iter().map(|c| c.total).sum();
    written(writeln!(
        std::io::stdout().lock(),
        "copied {} campaign(s), {total} records, from {} to {}",
        campaigns.len(),
        from.shown(),
        to.shown()
    ))?;
    Ok(Exit::Ok)
}

/// (campaign, tag) rows as each campaign's tags.
fn tags_by_campaign(
    rows: Vec<(String, String)>,
) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut tags = std::collections::BTreeMap::<String, Vec<String>>::new();
    for (campaign, tag) in rows {
        tags.entry(campaign).or_default().push(tag);
    }
    tags
}

fn copy_campaign(
    source: &dyn JournalStore,
    target: &mut dyn JournalStore,
    campaign: &str,
) -> Result<()> {
    let mut batch: Vec<SendRecord> = Vec::with_capacity(COPY_BATCH);
    let mut failed = None;
    source.for_each_record(campaign, &mut |record| {
        if failed.is_some() {
            return;
        }
        batch.push(record);
        if batch.len() == COPY_BATCH {
            if let Err(e) = target.upsert(&batch) {
                failed = Some(e);
            }
            batch.clear();
        }
    })?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    target.upsert(&batch)?;
    Ok(())
}
