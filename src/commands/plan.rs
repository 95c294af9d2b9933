//! `timcast plan`: what `apply` would send, compared with the journal, without sending.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::load_campaign;
use crate::config::Config;
use crate::error::{Error, Exit, Result, written};
use crate::plan::output::{self, Format};
use crate::plan::saved::PlanWriter;
use crate::plan::{PlanOptions, PlannedSend, against, build, build_with, online};

/// Where the journal lives: `--state`, `TIMCAST_STATE`, or `.timcast/state.db` at the root of
/// the campaign's project.
#[derive(Debug, Clone, Args)]
pub(crate) struct StateArgs {
    /// The journal that records what was sent: a SQLite file, or a postgres://user@host/db URL
    /// for one a team and its CI runners share [default: .timcast/state.db in the
    /// project's root: the directory of timcast.toml, else the Git work tree's root, else the
    /// campaign's directory].
    #[arg(long = "state", env = "TIMCAST_STATE", value_name = "PATH|URL")]
    pub path: Option<PathBuf>,
    /// Read the journal that `apply --sandbox` keeps (sandbox.db beside the real one).
    #[arg(long)]
    pub sandbox: bool,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct PlanArgs {
    /// The campaign file.
    #[arg(value_name = "CAMPAIGN")]
    pub campaign: PathBuf,
    /// How to print the plan: text for a terminal, markdown for a pull-request comment, json for scripts.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Exit 2 when the plan has sends to make, 0 when it has none (1 on errors): for CI.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Count recipients whose message changed since it was sent (`~`) as sends.
    #[arg(long)]
    pub resend_changed: bool,
    /// Count sends that were in flight when a run stopped (`?`) as sends.
    #[arg(long)]
    pub resend_uncertain: bool,
    /// Count recipients that failed with an error code timcast does not know as retries (`↻`)
    /// instead of permanent failures (`!`).
    #[arg(long)]
    pub retry_unknown: bool,
    /// How many distinct rendered messages to preview.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub previews: usize,
    /// How many sample recipients to show per state.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub samples: usize,
    /// Also show what changed since another version of the campaign file.
    #[arg(long, value_name = "OLD.yaml", conflicts_with = "against_git")]
    pub against: Option<PathBuf>,
    /// Also show what changed since the campaign (and its CSV and templates) at git revision REV.
    #[arg(long, value_name = "REV")]
    pub against_git: Option<String>,
    /// Also run the checks that need the API: recipients exist (account_check), the chatbot
    /// sender exists (get_all_robots), the official account's subscriber count. Read-only.
    #[arg(long)]
    pub online: bool,
    #[command(flatten)]
    pub connection: crate::im::ConnectionArgs,
    /// Save the full per-recipient plan to PLAN; `timcast apply PLAN` sends exactly that, and
    /// refuses if the campaign, its CSV, templates or the journal changed since, or if the plan
    /// was already applied.
    #[arg(long, value_name = "PLAN")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub state: StateArgs,
}

/// `timcast plan`.
pub(crate) async fn run(config: &Config, args: &PlanArgs) -> Result {
    let loaded = load_campaign(&args.campaign)?;
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let options = PlanOptions {
        state: super::journal_of(
            args.state.path.as_deref(),
            args.state.sandbox,
            &args.campaign,
            &loaded.campaign.name,
        )?,
        resend_changed: args.resend_changed,
        resend_uncertain: args.resend_uncertain,
        retry_unknown: args.retry_unknown,
        samples: args.samples,
        previews: args.previews,
        threads: 0,
        now: Some(config.clock.now()),
    };
    let plan = match &args.out {
        None => build(&loaded, &options)?,
        Some(path) => {
            let mut writer = PlanWriter::create(path).map_err(|source| Error::Io {
                what: "cannot write the plan to",
                path: path.clone(),
                source,
            })?;
            let mut sink = |send: PlannedSend| writer.add(&send);
            let plan = build_with(&loaded, &options, Some(&mut sink))?;
            let header = writer.finish(&loaded, &plan, &options)?;
            let _ = writeln!(
                err,
                "Saved the plan to {} (id {}): apply it with `timcast apply {}`",
                path.display(),
                header.plan_id,
                path.display()
            );
            plan
        }
    };
    let mut plan = plan;
    plan.close_for_schedule(loaded.campaign.schedule.as_ref(), config.clock.now());
    if args.online {
        online::check(&loaded, &mut plan, &args.connection).await?;
    }
    plan.changes = match (&args.against, &args.against_git) {
        (Some(old), _) => Some(against::against_file(&loaded, old)?),
        (None, Some(rev)) => Some(against::against_git(&loaded, rev)?),
        (None, None) => None,
    };
    let text = match args.format {
        Format::Text => output::text(&plan, config.color),
        Format::Markdown => output::markdown(&plan),
        Format::Json => output::json(&plan),
    };
    written(write!(out, "{text}"))?;
    if !text.ends_with('\n') {
        written(writeln!(out))?;
    }
    if plan.blocked {
        // The plan above names the problems.
        return Err(Error::Invalid {
            report: String::new(),
        });
    }
    Ok(if args.detailed_exitcode && plan.sends() > 0 {
        Exit::Pending
    } else {
        Exit::Ok
    })
}
