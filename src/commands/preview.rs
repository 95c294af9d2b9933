//! `timcast preview`: exactly what one recipient would receive.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::load_campaign;
use crate::error::{Error, Exit, Result, written};
use crate::plan::assign::Flavors;
use crate::plan::{PlanError, find_recipient, output, preview_request};

#[derive(Debug, Clone, Args)]
pub(crate) struct PreviewArgs {
    /// The campaign file.
    #[arg(value_name = "CAMPAIGN")]
    pub campaign: PathBuf,
    /// The recipient's user ID (for an official account: leave it out).
    #[arg(long, value_name = "ID")]
    pub recipient: Option<String>,
    /// Print only the API request as JSON.
    #[arg(long)]
    pub json: bool,
    /// The journal a `frequency_cap` counts in.
    #[command(flatten)]
    pub state: super::plan::StateArgs,
}

/// `timcast preview`: exactly what one recipient would receive.
pub(crate) async fn run(args: &PreviewArgs) -> Result {
    let loaded = load_campaign(&args.campaign)?;
    let mut out = std::io::stdout().lock();
    let official = loaded.campaign.audience.official_account.clone();
    let (recipient, fields, columns) = match (&official, &args.recipient) {
        (Some(account), _) => (account.clone(), Vec::new(), Vec::new()),
        (None, None) => {
            return Err(Error::user(format!(
                "name the recipient: timcast preview {} --recipient USER_ID",
                args.campaign.display()
            )));
        }
        (None, Some(id)) => match find_recipient(&loaded, id)? {
            Some((row, columns)) => (
                row.user_id.clone(),
                row.record.iter().map(str::to_owned).collect::<Vec<_>>(),
                columns,
            ),
            None => {
                return Err(Error::user(format!(
                    "`{id}` is not in the campaign's audience (or its row is malformed)"
                )));
            }
        },
    };
    let flavors = Flavors::new(&loaded, &columns).map_err(PlanError::from)?;
    let field_refs: Vec<&str> = fields.iter().map(String::as_str).collect();
    let assignment = flavors.assign(&recipient, &field_refs);
    let message = match flavors.renderer(assignment.flavor).render(&field_refs) {
        Ok(message) => message,
        Err(failure) => return Err(Error::user(format!("{recipient}: {failure}"))),
    };
    let by = match official {
        Some(_) => None,
        None => crate::plan::excluded_by(&loaded, &recipient)?,
    };
    let suppressed = by.is_some();
    let list = match by {
        Some(crate::audience::ExcludedBy::Project) => "the project's, timcast.toml suppress",
        _ => "audience.exclude",
    };
    let note = format!(
        "note: {recipient} is on a suppression list ({list}): apply does not send to them; \
         this is what they would receive otherwise"
    );
    let held_out = assignment.held_out.then(|| {
        format!(
            "note: {recipient} is in the holdout (the control group): apply never sends to \
             them; this is what they would receive otherwise"
        )
    });
    let capped = match (&loaded.campaign.frequency_cap, &official) {
        (Some(cap), None) => capped(args, &loaded, cap, &recipient)?.map(|why| {
            format!(
                "note: {recipient} is capped ({why}): apply does not send to them now; this is \
                 what they would receive otherwise"
            )
        }),
        _ => None,
    };
    let held_out = held_out
        .into_iter()
        .chain(capped)
        .reduce(|a, b| format!("{a}\n{b}"));
    let flavor: Vec<String> = [
        flavors
            .variant_name(&assignment)
            .map(|v| format!("variant {v}")),
        flavors
            .locale_name(&assignment)
            .map(|l| format!("locale {l}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let request = preview_request(&loaded, &message, &recipient);
    let pretty = serde_json::to_string_pretty(&request).unwrap_or_default();
    if args.json {
        if suppressed {
            tracing::warn!("{note}");
        }
        if let Some(held_out) = &held_out {
            tracing::warn!("{held_out}");
        }
        written(writeln!(out, "{pretty}"))?;
    } else {
        let mut text = if suppressed {
            format!("{note}\n\n")
        } else {
            String::new()
        };
        if let Some(held_out) = &held_out {
            text.push_str(&format!("{held_out}\n\n"));
        }
        match flavor.is_empty() {
            true => text.push_str(&format!("To {recipient}:\n\n")),
            false => text.push_str(&format!("To {recipient} ({}):\n\n", flavor.join(", "))),
        }
        for line in output::message_text(&message).lines() {
            text.push_str(&format!("  | {line}\n"));
        }
        text.push_str(&format!("\nRequest body:\n{pretty}\n"));
        written(out.write_all(text.as_bytes()))?;
    }
    Ok(Exit::Ok)
}

/// Why the campaign's frequency cap keeps `recipient` back now, if it does.
fn capped(
    args: &PreviewArgs,
    loaded: &crate::campaign::LoadedCampaign,
    cap: &crate::campaign::model::FrequencyCap,
    recipient: &str,
) -> Result<Option<String>> {
    let state = super::journal_of(
        args.state.path.as_deref(),
        args.state.sandbox,
        &args.campaign,
        &loaded.campaign.name,
    )?;
    let Some(journal) = state.open_existing()? else {
        return Ok(None);
    };
    let now = jiff::Timestamp::now().as_millisecond();
    let check = crate::plan::caps::CapCheck::new(cap, &loaded.campaign.name, now);
    let counts = check.counts(journal.as_ref(), &[recipient])?;
    Ok(counts.first().and_then(|n| check.verdict(*n)))
}
