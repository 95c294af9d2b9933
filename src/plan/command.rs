//! `timcast plan` and `timcast preview`: the command-line side of the plan.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::Args;

use super::output::{self, Format};
use super::saved::PlanWriter;
use super::{PlanOptions, PlannedSend, build, build_with, find_recipient, preview_request};
use crate::campaign::{self, LoadedCampaign};
use crate::exit;
use crate::render::CampaignRenderer;

/// Where the journal lives: `--state`, `TIMCAST_STATE`, or `.timcast/state.db`.
#[derive(Debug, Clone, Args)]
pub struct StateArgs {
    /// The journal (SQLite) that records what was sent.
    #[arg(long = "state", env = "TIMCAST_STATE", value_name = "PATH", default_value = crate::journal::DEFAULT_PATH)]
    pub path: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
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

#[derive(Debug, Clone, Args)]
pub struct PreviewArgs {
    /// The campaign file.
    #[arg(value_name = "CAMPAIGN")]
    pub campaign: PathBuf,
    /// The recipient's user ID (for an official account: leave it out).
    #[arg(long, value_name = "ID")]
    pub recipient: Option<String>,
    /// Print only the API request as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Loads and validates a campaign, printing its diagnostics; `None` when it has errors.
pub fn load_campaign(path: &std::path::Path, out: &mut dyn Write) -> Option<LoadedCampaign> {
    let validation = campaign::validate(path);
    if validation.has_errors() {
        let _ = write!(out, "{}", validation.render());
        let _ = writeln!(out, "{}", validation.summary(path));
        return None;
    }
    // Warnings are worth seeing before a plan, but belong on stderr so the plan stays parseable.
    if !validation.diagnostics.is_empty() {
        eprint!("{}", validation.render());
    }
    validation.into_result().ok()
}

/// `timcast plan`.
pub fn plan_command(
    args: &PlanArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> miette::Result<u8> {
    let Some(loaded) = load_campaign(&args.campaign, err) else {
        return Ok(exit::USER_ERROR);
    };
    let options = PlanOptions {
        state: crate::journal::State::sqlite(&args.state.path),
        resend_changed: args.resend_changed,
        resend_uncertain: args.resend_uncertain,
        samples: args.samples,
        previews: args.previews,
        threads: 0,
    };
    let plan = match &args.out {
        None => build(&loaded, &options).map_err(|e| miette::miette!("{e}"))?,
        Some(path) => {
            let mut writer = PlanWriter::create(path)
                .map_err(|e| miette::miette!("cannot write the plan to {}: {e}", path.display()))?;
            let mut sink = |send: PlannedSend| writer.add(&send);
            let plan = build_with(&loaded, &options, Some(&mut sink))
                .map_err(|e| miette::miette!("{e}"))?;
            let header = writer
                .finish(
                    &loaded,
                    &plan,
                    &options.state,
                    options.resend_changed,
                    options.resend_uncertain,
                )
                .map_err(|e| miette::miette!("{e}"))?;
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
    if args.online {
        super::online::check(&loaded, &mut plan, &args.connection)
            .map_err(|e| miette::miette!("--online: {e}"))?;
    }
    plan.changes = match (&args.against, &args.against_git) {
        (Some(old), _) => {
            Some(super::against::against_file(&loaded, old).map_err(|e| miette::miette!("{e}"))?)
        }
        (None, Some(rev)) => {
            Some(super::against::against_git(&loaded, rev).map_err(|e| miette::miette!("{e}"))?)
        }
        (None, None) => None,
    };
    let text = match args.format {
        Format::Text => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            output::text(&plan, color)
        }
        Format::Markdown => output::markdown(&plan),
        Format::Json => output::json(&plan),
    };
    write!(out, "{text}").map_err(|e| miette::miette!("cannot write the plan: {e}"))?;
    if !text.ends_with('\n') {
        let _ = writeln!(out);
    }
    Ok(if plan.blocked {
        exit::USER_ERROR
    } else if args.detailed_exitcode && plan.pending > 0 {
        exit::PENDING
    } else {
        exit::OK
    })
}

/// `timcast preview`: exactly what one recipient would receive.
pub fn preview_command(
    args: &PreviewArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> miette::Result<u8> {
    let Some(loaded) = load_campaign(&args.campaign, err) else {
        return Ok(exit::USER_ERROR);
    };
    let official = loaded.campaign.audience.official_account.clone();
    let (recipient, fields, columns) = match (&official, &args.recipient) {
        (Some(account), _) => (account.clone(), Vec::new(), Vec::new()),
        (None, None) => {
            let _ = writeln!(
                err,
                "error: name the recipient: timcast preview {} --recipient USER_ID",
                args.campaign.display()
            );
            return Ok(exit::USER_ERROR);
        }
        (None, Some(id)) => {
            match find_recipient(&loaded, id).map_err(|e| miette::miette!("{e}"))? {
                Some((row, columns)) => (
                    row.user_id.clone(),
                    row.record.iter().map(str::to_owned).collect::<Vec<_>>(),
                    columns,
                ),
                None => {
                    let _ = writeln!(
                        err,
                        "error: `{id}` is not in the campaign's audience (or its row is malformed)"
                    );
                    return Ok(exit::USER_ERROR);
                }
            }
        }
    };
    let renderer = CampaignRenderer::new(&loaded, &columns).map_err(|e| miette::miette!("{e}"))?;
    let field_refs: Vec<&str> = fields.iter().map(String::as_str).collect();
    let message = match renderer.render(&field_refs) {
        Ok(message) => message,
        Err(failure) => {
            let _ = writeln!(err, "error: {recipient}: {failure}");
            return Ok(exit::USER_ERROR);
        }
    };
    let request = preview_request(&loaded, &message, &recipient);
    let pretty = serde_json::to_string_pretty(&request).unwrap_or_default();
    if args.json {
        let _ = writeln!(out, "{pretty}");
    } else {
        let _ = writeln!(out, "To {recipient}:\n");
        for line in output::message_text(&message).lines() {
            let _ = writeln!(out, "  | {line}");
        }
        let _ = writeln!(out, "\nRequest body:\n{pretty}");
    }
    Ok(exit::OK)
}
