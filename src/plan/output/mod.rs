//! The plan as people and programs read it: `text` for a terminal, `markdown` for a
//! pull-request comment, `json` for scripts (stable: `format_version` changes on any break).
//!
//! Whatever the audience's size, the output summarises: counts per state and API, a few sample
//! recipients per state, and previews of distinct messages.

mod flavors;
use flavors::flavor_tables;

use std::fmt::Write as _;

use serde::Serialize;

use super::{AudienceKind, DiffState, Plan};
use crate::im::types as api;
use crate::render::RenderedMessage;

/// Version of the JSON plan format.
pub const FORMAT_VERSION: u32 = 1;

/// Rows that cannot be sent and are not listed: the list is a sample, the count is not.
fn unlisted_rows(plan: &Plan) -> Option<String> {
    let rows = plan.audience.bad_rows + plan.audience.render_errors;
    // `--online` may list more problems after the planner's own.
    let listed = u64::try_from(super::builder::MAX_PROBLEMS).unwrap_or(u64::MAX);
    let more = rows.saturating_sub(listed);
    (more > 0).then(|| format!("… and {more} more row{}", if more == 1 { "" } else { "s" }))
}

/// Output formats of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Markdown,
    Json,
}

/// A rendered message as a person reads it: one line per element, then the push.
pub fn message_text(message: &RenderedMessage) -> String {
    let mut lines: Vec<String> = message
        .body
        .iter()
        .map(|element| match element {
            api::MsgElement::Text(t) => t.text.clone(),
            api::MsgElement::Custom(c) => {
                let mut line = format!("[custom] {}", c.data);
                if let Some(desc) = &c.desc {
                    let _ = write!(line, " (desc: {desc})");
                }
                line
            }
            api::MsgElement::Face(f) => format!("[face {}]", f.index),
            api::MsgElement::Location(l) => {
                format!("[location] {} ({}, {})", l.desc, l.latitude, l.longitude)
            }
            api::MsgElement::Image(i) => format!(
                "[image] {}",
                i.image_info_array.first().map_or("", |x| x.url.as_str())
            ),
            api::MsgElement::Sound(s) => format!("[sound] {}", s.url),
            api::MsgElement::File(f) => format!(
                "[file] {} {}",
                f.file_name.as_deref().unwrap_or_default(),
                f.url
            ),
            api::MsgElement::VideoFile(v) => format!("[video] {}", v.video_url),
        })
        .collect();
    if let Some(push) = &message.push {
        if push.push_flag == Some(1) {
            lines.push("[push] off".to_owned());
        } else if push.title.is_some() || push.desc.is_some() {
            lines.push(format!(
                "[push] {}: {}",
                push.title.as_deref().unwrap_or_default(),
                push.desc.as_deref().unwrap_or_default()
            ));
        }
    }
    lines.join("\n")
}

fn duration(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("{seconds:.2} s")
    } else if seconds < 120.0 {
        format!("{seconds:.0} s")
    } else if seconds < 7200.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

fn audience_line(plan: &Plan) -> String {
    let a = &plan.audience;
    match &a.kind {
        AudienceKind::Csv { path } => format!(
            "{}: {} rows, {} recipients ({} duplicates, {} excluded, {} bad rows, {} render errors)",
            path.display(),
            a.rows,
            a.recipients,
            a.duplicates,
            a.excluded,
            a.bad_rows,
            a.render_errors
        ),
        AudienceKind::OfficialAccount {
            account,
            subscribers,
        } => match subscribers {
            Some(n) => format!("official account {account}: one call reaches its {n} subscribers"),
            None => format!(
                "official account {account}: one call reaches every subscriber (--online shows how many)"
            ),
        },
    }
}

/// The recipients the project's lists took off, apart from the campaign's own `excluded`
/// (a reviewer of one campaign may not know timcast.toml has lists); none when it took none.
fn suppressed_line(plan: &Plan) -> Option<String> {
    let n = plan.audience.suppressed;
    (n > 0).then(|| format!("(project list): {n} (timcast.toml `suppress`)"))
}

/// Sender, lifetime and push, in one line.
fn message_line(plan: &Plan) -> String {
    let m = &plan.message;
    format!(
        "from {} · lifetime {} · offline push {}",
        m.sender.as_deref().unwrap_or("the app admin"),
        m.lifetime,
        m.push
    )
}

/// Which journal the diff read, and loudly when it knew nothing: a journal looked for in the
/// wrong place shows a sent campaign as unsent.
fn journal_line(plan: &Plan) -> String {
    let j = &plan.journal;
    let path = &j.path;
    if !j.exists {
        format!(
            "{path}: NEW, nothing was ever recorded there, so every recipient counts as unsent \
             (if this campaign was applied before, pass the --state it used)"
        )
    } else if j.records == 0 {
        format!("{path}: no records of this campaign yet")
    } else {
        format!("{path} ({} recipients recorded)", j.records)
    }
}

/// Sample recipients in diff-state order, each with its ` (row N): earlier error` suffix.
fn samples(plan: &Plan) -> Vec<(DiffState, &str, String)> {
    DiffState::ALL
        .iter()
        .filter_map(|state| plan.samples.get(state).map(|v| (*state, v)))
        .flat_map(|(state, samples)| {
            samples.iter().map(move |sample| {
                let row = sample
                    .row
                    .map(|r| format!(" (row {r})"))
                    .unwrap_or_default();
                let detail = sample
                    .detail
                    .as_deref()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default();
                (state, sample.user_id.as_str(), format!("{row}{detail}"))
            })
        })
        .collect()
}

/// The one-line summary that starts every format.
pub fn summary_line(plan: &Plan) -> String {
    if plan.blocked {
        let rows = plan.audience.bad_rows + plan.audience.render_errors;
        return match plan.problems.first() {
            Some(problem) if rows == 0 => {
                format!("{}: blocked: {}", plan.campaign, problem.message)
            }
            _ => format!(
                "{}: blocked by {rows} rows that cannot be sent",
                plan.campaign
            ),
        };
    }
    if let Some(reason) = &plan.closed {
        return format!(
            "{}: nothing will be sent: {reason}; apply refuses (move the schedule to send it)",
            plan.campaign
        );
    }
    if plan.sends() == 0 {
        // Those whose message changed since were sent all the same.
        return format!(
            "{}: nothing to send ({} already sent)",
            plan.campaign,
            plan.count(DiffState::Unchanged) + plan.count(DiffState::Changed)
        );
    }
    let resends = match plan.resends_in_window {
        0 => String::new(),
        n => format!(" (with {n} interrupted sends resent inside the duplicate window)"),
    };
    let calls = plan.total_calls() + plan.resends_in_window;
    let inside = match plan.inside_window_now {
        Some(n) if n < plan.pending => {
            format!("; {n} inside their window now, the rest wait for theirs")
        }
        _ => String::new(),
    };
    format!(
        "{}: {} to send{resends} in {calls} API call{}, about {}{inside}",
        plan.campaign,
        plan.sends(),
        if calls == 1 { "" } else { "s" },
        duration(plan.estimated_seconds)
    )
}

/// Text for a terminal; `color` adds ANSI colours to the diff marks.
pub fn text(plan: &Plan, color: bool) -> String {
    let paint = |state: DiffState, s: &str| -> String {
        if !color {
            return s.to_owned();
        }
        let code = match state {
            DiffState::New => "32",
            DiffState::Retry | DiffState::Uncertain => "33",
            DiffState::Changed => "36",
            DiffState::Unchanged => "2",
            DiffState::Failed | DiffState::Removed => "31",
            DiffState::Recalled => "35",
            DiffState::HeldOut | DiffState::Capped => "34",
        };
        format!("\x1b[{code}m{s}\x1b[0m")
    };
    let mut out = String::new();
    let _ = writeln!(out, "Plan: {}", summary_line(plan));
    if let Some(description) = &plan.description {
        let _ = writeln!(out, "  {description}");
    }
    let _ = writeln!(out, "\nAudience: {}", audience_line(plan));
    if let Some(line) = suppressed_line(plan) {
        let _ = writeln!(out, "          suppressed {line}");
    }
    if let Some(schedule) = &plan.schedule {
        let _ = writeln!(out, "Schedule: {schedule}");
    }
    let _ = writeln!(out, "Message:  {}", message_line(plan));
    let _ = writeln!(out, "Journal:  {}", journal_line(plan));
    let _ = writeln!(out, "\nRecipients:");
    for state in DiffState::ALL {
        let n = plan.count(state);
        if n > 0 {
            let _ = writeln!(
                out,
                "  {} {:>9}  {}",
                paint(state, state.symbol()),
                n,
                state.label()
            );
        }
    }
    if plan.states.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for (title, rows) in flavor_tables(plan) {
        let _ = writeln!(out, "\n{title}:");
        for row in rows {
            let _ = writeln!(
                out,
                "  {:<12} {:>9} recipients, {:>9} to send{}",
                row.name, row.recipients, row.pending, row.note
            );
        }
    }
    if !plan.calls.is_empty() {
        let _ = writeln!(out, "\nAPI calls:");
        for (endpoint, count) in &plan.calls {
            let _ = writeln!(
                out,
                "  {:>9} × {}  ({} recipients)",
                count.calls, endpoint, count.recipients
            );
        }
        let _ = writeln!(
            out,
            "  estimated duration: {}",
            duration(plan.estimated_seconds)
        );
    }
    let samples = samples(plan);
    if !samples.is_empty() {
        let _ = writeln!(out, "\nSample recipients:");
        for (state, user_id, suffix) in samples {
            let _ = writeln!(out, "  {} {user_id}{suffix}", paint(state, state.symbol()));
        }
    }
    if !plan.previews.is_empty() {
        let _ = writeln!(out, "\nPreviews ({} distinct shown):", plan.previews.len());
        for preview in &plan.previews {
            let _ = writeln!(
                out,
                "  --- {} recipient{}, e.g. {} ---",
                preview.recipients,
                if preview.recipients == 1 { "" } else { "s" },
                preview.example_user_id
            );
            for line in preview.text.lines() {
                let _ = writeln!(out, "  | {line}");
            }
        }
    }
    if !plan.problems.is_empty() {
        let _ = writeln!(out, "\nRows that cannot be sent:");
        for problem in &plan.problems {
            let _ = writeln!(out, "  ✗ {}", problem.message);
        }
        if let Some(more) = unlisted_rows(plan) {
            let _ = writeln!(out, "  {more}");
        }
    }
    if let Some(changes) = &plan.changes {
        if changes.new {
            let _ = writeln!(
                out,
                "\nChanges since {} (a new campaign: all of it is added):",
                changes.against
            );
        } else {
            let _ = writeln!(out, "\nChanges since {}:", changes.against);
        }
        if changes.is_empty() {
            let _ = writeln!(out, "  (none)");
        }
        for setting in &changes.settings {
            if changes.new {
                let _ = writeln!(out, "  + {}: {}", setting.path, setting.new);
            } else {
                let _ = writeln!(
                    out,
                    "  ~ {}: {} -> {}",
                    setting.path, setting.old, setting.new
                );
            }
        }
        if let Some(a) = &changes.audience {
            let _ = writeln!(
                out,
                "  audience: +{} added, -{} removed, {} kept",
                a.added, a.removed, a.kept
            );
        }
        for template in &changes.templates {
            let _ = writeln!(out, "  template {}:", template.field);
            for line in template.diff.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    if !plan.online.is_empty() {
        let _ = writeln!(out, "\nOnline checks (--online):");
        for check in &plan.online {
            let _ = writeln!(out, "  • {check}");
        }
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(out, "\nWarnings:");
        for warning in &plan.warnings {
            let _ = writeln!(out, "  ! {warning}");
        }
    }
    out
}

/// Markdown for a pull-request comment: the summary first, details folded away.
pub fn markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### timcast plan: `{}`\n", plan.campaign);
    let _ = writeln!(out, "**{}**\n", summary_line(plan));
    if let Some(description) = &plan.description {
        let _ = writeln!(out, "{description}\n");
    }
    for warning in &plan.warnings {
        let _ = writeln!(out, "> ⚠️ {warning}");
    }
    if !plan.warnings.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "Audience: {}\n",
        audience_line(plan).replace('|', "\\|")
    );
    if let Some(line) = suppressed_line(plan) {
        let _ = writeln!(out, "Suppressed {line}\n");
    }
    if let Some(schedule) = &plan.schedule {
        let _ = writeln!(out, "Schedule: {}\n", schedule.replace('|', "\\|"));
    }
    let _ = writeln!(out, "Message: {}\n", message_line(plan).replace('|', "\\|"));
    let _ = writeln!(out, "Journal: {}\n", journal_line(plan).replace('|', "\\|"));
    if !plan.online.is_empty() {
        let _ = writeln!(
            out,
            "Online checks: {}\n",
            plan.online.join("; ").replace('|', "\\|")
        );
    }
    let _ = writeln!(out, "| | recipients | |\n|---|---:|---|");
    for state in DiffState::ALL {
        let n = plan.count(state);
        if n > 0 {
            let _ = writeln!(out, "| `{}` | {} | {} |", state.symbol(), n, state.label());
        }
    }
    for (title, rows) in flavor_tables(plan) {
        let _ = writeln!(
            out,
            "\n| {title} | recipients | to send | |\n|---|---:|---:|---|"
        );
        for row in rows {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                row.name,
                row.recipients,
                row.pending,
                row.note.trim_start_matches(", ").replace('|', "\\|")
            );
        }
    }
    if !plan.calls.is_empty() {
        let _ = writeln!(out, "\n| API | calls | recipients |\n|---|---:|---:|");
        for (endpoint, count) in &plan.calls {
            let _ = writeln!(
                out,
                "| `{endpoint}` | {} | {} |",
                count.calls, count.recipients
            );
        }
        let _ = writeln!(
            out,
            "\nEstimated duration: {}",
            duration(plan.estimated_seconds)
        );
    }
    if let Some(changes) = &plan.changes {
        let _ = writeln!(
            out,
            "\n<details><summary>Changes since <code>{}</code></summary>\n",
            changes.against
        );
        if changes.new {
            let _ = writeln!(
                out,
                "The campaign is new: that revision does not have it, so all of it is added.\n"
            );
        }
        if changes.is_empty() {
            let _ = writeln!(out, "No changes.");
        }
        if !changes.settings.is_empty() {
            let _ = writeln!(out, "| setting | before | after |\n|---|---|---|");
            for setting in &changes.settings {
                let old = if changes.new {
                    String::new()
                } else {
                    format!("`{}`", setting.old)
                };
                let _ = writeln!(out, "| `{}` | {old} | `{}` |", setting.path, setting.new);
            }
        }
        if let Some(a) = &changes.audience {
            let _ = writeln!(
                out,
                "\nAudience: **+{}** added, **-{}** removed, {} kept",
                a.added, a.removed, a.kept
            );
        }
        for template in &changes.templates {
            let fence = "`".repeat(3);
            let _ = writeln!(
                out,
                "\nTemplate `{}`:\n\n{fence}diff\n{}{fence}",
                template.field,
                template.diff.replace(&fence, "'''")
            );
        }
        let _ = writeln!(out, "\n</details>");
    }
    if !plan.problems.is_empty() {
        let _ = writeln!(
            out,
            "\n<details><summary>Rows that cannot be sent ({})</summary>\n",
            plan.audience.bad_rows + plan.audience.render_errors
        );
        for problem in &plan.problems {
            let _ = writeln!(out, "- {}", problem.message);
        }
        if let Some(more) = unlisted_rows(plan) {
            let _ = writeln!(out, "- {more}");
        }
        let _ = writeln!(out, "\n</details>");
    }
    if !plan.previews.is_empty() {
        let _ = writeln!(
            out,
            "\n<details><summary>Previews ({} distinct messages)</summary>\n",
            plan.previews.len()
        );
        for preview in &plan.previews {
            let _ = writeln!(
                out,
                "{} recipient{}, e.g. `{}`:\n\n```text\n{}\n```\n",
                preview.recipients,
                if preview.recipients == 1 { "" } else { "s" },
                preview.example_user_id,
                preview.text.replace("```", "'''")
            );
        }
        let _ = writeln!(out, "</details>");
    }
    let samples = samples(plan);
    if !samples.is_empty() {
        let _ = writeln!(out, "\n<details><summary>Sample recipients</summary>\n");
        for (state, user_id, suffix) in samples {
            let _ = writeln!(out, "- `{}` `{user_id}`{suffix}", state.symbol());
        }
        let _ = writeln!(out, "\n</details>");
    }
    out
}

#[derive(Serialize)]
struct JsonPlan<'a> {
    format_version: u32,
    summary: String,
    #[serde(flatten)]
    plan: &'a Plan,
}

/// JSON for scripts.
pub fn json(plan: &Plan) -> String {
    serde_json::to_string_pretty(&JsonPlan {
        format_version: FORMAT_VERSION,
        summary: summary_line(plan),
        plan,
    })
    .unwrap_or_default()
}
