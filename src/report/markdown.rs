//! The summary as Markdown (a pull-request or issue comment) and as text (a terminal): the
//! same sections as the HTML page, without the chart.
//!
//! Markdown always fits a comment ([`MAX_MARKDOWN_CHARS`]): every list is capped and every
//! outside text clipped by the summary, and a last guard cuts at a line if that ever falls short.

use std::fmt::Write as _;

use super::summary::{Counts, Summary};
use super::timeline::{API_LIMIT_PER_SECOND, RUN_GAP_MS};

/// What a GitHub comment holds.
pub const MAX_MARKDOWN_CHARS: usize = 65_536;
/// Failed recipients a Markdown summary lists at most, whatever `--failed` asks.
pub(crate) const MAX_MARKDOWN_PROBLEMS: usize = 50;

fn md(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('`', "'")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['\n', '\r'], " ")
}

fn clock(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

fn count_or_dash(value: Option<u64>) -> String {
    value.map_or_else(|| "—".to_owned(), |v| v.to_string())
}

/// The totals as (label, value) pairs, the plan's shown as "—" when unknown.
pub(crate) fn totals(summary: &Summary) -> Vec<(&'static str, String)> {
    let c: &Counts = &summary.counts;
    let p = summary.plan.as_ref();
    vec![
        ("audience", count_or_dash(p.map(|p| p.audience))),
        ("sent", c.sent.to_string()),
        ("failed", c.failed.to_string()),
        ("uncertain", c.uncertain.to_string()),
        ("in flight", c.in_flight.to_string()),
        ("recalled", c.recalled.to_string()),
        ("pending", count_or_dash(p.map(|p| p.pending))),
        ("held out", count_or_dash(p.map(|p| p.held_out))),
        ("capped", count_or_dash(p.map(|p| p.capped))),
    ]
}

/// Sentences under the totals: what the plan cannot know, recipients no longer in it.
pub(crate) fn totals_notes(summary: &Summary) -> Vec<String> {
    let mut notes = Vec::new();
    match &summary.plan {
        None => notes.push(
            "Pending, held out and capped need the audience: give the campaign file instead of its name."
                .to_owned(),
        ),
        Some(plan) => {
            if plan.not_in_audience > 0 {
                notes.push(format!(
                    "{} journaled recipients are no longer in the audience.",
                    plan.not_in_audience
                ));
            }
            if plan.excluded + plan.duplicates + plan.bad_rows > 0 {
                notes.push(format!(
                    "Not in the audience: {} on a suppression list, {} duplicate rows, {} unusable rows.",
                    plan.excluded, plan.duplicates, plan.bad_rows
                ));
            }
        }
    }
    notes
}

pub(crate) fn runs_note(summary: &Summary) -> String {
    let mut note = format!(
        "Times in UTC. The journal does not record runs: a run here is sends with no silence over {} minutes. The API's documented limit is {API_LIMIT_PER_SECOND} recipients/s.",
        RUN_GAP_MS / 60_000
    );
    if summary.timeline.merged_runs > 0 {
        let _ = write!(
            note,
            " {} runs were merged into their neighbours to keep the report short.",
            summary.timeline.merged_runs
        );
    }
    note
}

/// The Markdown summary.
pub(crate) fn markdown(summary: &Summary, report_command: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Report: `{}`\n", md(&summary.campaign));
    if let Some(about) = &summary.about {
        if let Some(description) = &about.description {
            let _ = writeln!(out, "> {}\n", md(description));
        }
        let _ = writeln!(out, "- **file:** {}", md(&about.file));
        let _ = writeln!(out, "- **sender:** {}", md(&about.sender));
        let _ = writeln!(out, "- **schedule:** {}", md(&about.schedule));
    }
    let _ = writeln!(out, "- **generated:** {}\n", md(&summary.generated_at));

    out.push_str("### Totals\n\n");
    let totals = totals(summary);
    let header: Vec<&str> = totals.iter().map(|(label, _)| *label).collect();
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", "---:|".repeat(totals.len()));
    let values: Vec<&str> = totals.iter().map(|(_, v)| v.as_str()).collect();
    let _ = writeln!(out, "| {} |\n", values.join(" | "));
    for note in totals_notes(summary) {
        let _ = writeln!(out, "{note}\n");
    }

    out.push_str("### Runs\n\n");
    if summary.timeline.runs.is_empty() {
        out.push_str("No sends yet.\n\n");
    } else {
        out.push_str("| run | start | end | sends | peak sends/s |\n|---:|---|---|---:|---:|\n");
        for (i, run) in summary.timeline.runs.iter().enumerate() {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {:.0} |",
                i + 1,
                clock(run.start_ms),
                clock(run.end_ms),
                run.sends,
                run.peak()
            );
        }
        let _ = writeln!(out, "\n{}\n", runs_note(summary));
    }

    out.push_str("### Failures by error code\n\n");
    if summary.failures.is_empty() {
        out.push_str("No failures.\n\n");
    } else {
        out.push_str("| code | count | class | meaning | what to do |\n|---:|---:|---|---|---|\n");
        for group in &summary.failures {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                group.code.map_or_else(|| "—".to_owned(), |c| c.to_string()),
                group.count,
                group.class,
                md(&group.meaning),
                md(group.what_to_do)
            );
        }
        if summary.other_code_failures > 0 {
            let _ = writeln!(
                out,
                "\n{} more failures have other codes.",
                summary.other_code_failures
            );
        }
        out.push('\n');
    }

    for breakdown in &summary.breakdowns {
        let _ = writeln!(out, "### By {}\n", md(&breakdown.title));
        out.push_str("| value | recipients | sent | failed | uncertain | pending |\n|---|---:|---:|---:|---:|---:|\n");
        for row in &breakdown.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                md(&row.value),
                row.recipients,
                row.counts.sent + row.counts.recalled,
                row.counts.failed,
                row.counts.uncertain + row.counts.in_flight,
                row.pending
            );
        }
        out.push('\n');
    }

    if summary.problems_total > 0 {
        let shown = summary.problems.len().min(MAX_MARKDOWN_PROBLEMS);
        let _ = writeln!(
            out,
            "### Failed or uncertain recipients (first {shown} of {})\n",
            summary.problems_total
        );
        out.push_str("| user ID | state | error | attempts | time |\n|---|---|---|---:|---|\n");
        for p in summary.problems.iter().take(shown) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                md(&p.user_id),
                p.state,
                md(&p.error),
                p.attempts,
                p.time
            );
        }
        let _ = writeln!(
            out,
            "\nEvery recipient: `{} --format csv`.\n",
            md(report_command)
        );
    }

    if let Some(about) = &summary.about {
        out.push_str("### Message preview\n\n~~~~text\n");
        let _ = writeln!(out, "{}\n~~~~", about.preview.replace("~~~~", "~ ~ ~ ~"));
    }
    fit(out, MAX_MARKDOWN_CHARS)
}

/// `text` cut at a line so that it has at most `max` characters with the note saying so.
fn fit(text: String, max: usize) -> String {
    if text.chars().count() <= max {
        return text;
    }
    const NOTE: &str = "\n… (cut to fit a comment; `--format html` has the rest)\n";
    let budget = max.saturating_sub(NOTE.chars().count());
    let mut out = String::new();
    let mut used = 0;
    for line in text.split_inclusive('\n') {
        let n = line.chars().count();
        if used + n > budget {
            break;
        }
        used += n;
        out.push_str(line);
    }
    out.push_str(NOTE);
    out
}

/// The text summary, for a terminal.
pub(crate) fn text(summary: &Summary, report_command: &str) -> String {
    let mut out = String::new();
    let totals = totals(summary);
    let line: Vec<String> = totals
        .iter()
        .filter(|(_, v)| v != "—")
        .map(|(label, v)| format!("{v} {label}"))
        .collect();
    let _ = writeln!(out, "{}: {}", summary.campaign, line.join(", "));
    if let Some(about) = &summary.about {
        if let Some(description) = &about.description {
            let _ = writeln!(out, "  {description}");
        }
        let _ = writeln!(
            out,
            "  sender {}; schedule {}",
            about.sender, about.schedule
        );
    }
    for note in totals_notes(summary) {
        let _ = writeln!(out, "  {note}");
    }
    if !summary.timeline.runs.is_empty() {
        let _ = writeln!(out, "\nruns (UTC):");
        for (i, run) in summary.timeline.runs.iter().enumerate() {
            let _ = writeln!(
                out,
                "  {:>2}. {} – {}  {} sends, peak {:.0}/s",
                i + 1,
                clock(run.start_ms),
                clock(run.end_ms),
                run.sends,
                run.peak()
            );
        }
    }
    if !summary.failures.is_empty() {
        let _ = writeln!(out, "\nfailures by code:");
        for g in &summary.failures {
            let code = g.code.map_or_else(|| "-".to_owned(), |c| c.to_string());
            let _ = writeln!(
                out,
                "  {code:>6}  {:>7}  {}: {} ({})",
                g.count, g.class, g.meaning, g.what_to_do
            );
        }
        if summary.other_code_failures > 0 {
            let _ = writeln!(
                out,
                "  and {} with other codes",
                summary.other_code_failures
            );
        }
    }
    for breakdown in &summary.breakdowns {
        let _ = writeln!(out, "\nby {}:", breakdown.title);
        for row in &breakdown.rows {
            let _ = writeln!(
                out,
                "  {}: {} recipients, {} sent, {} failed, {} uncertain, {} pending",
                row.value,
                row.recipients,
                row.counts.sent + row.counts.recalled,
                row.counts.failed,
                row.counts.uncertain + row.counts.in_flight,
                row.pending
            );
        }
    }
    if summary.problems_total > 0 {
        let _ = writeln!(
            out,
            "\nfailed or uncertain (first {} of {}):",
            summary.problems.len(),
            summary.problems_total
        );
        out.push_str(&problem_lines(summary));
        let _ = writeln!(out, "every recipient: {report_command} --recipients");
    }
    out
}

/// The listed problems, one a line.
pub(crate) fn problem_lines(summary: &Summary) -> String {
    let mut out = String::new();
    for p in &summary.problems {
        let mark = if p.state == "failed" { "!" } else { "?" };
        let _ = writeln!(out, "  {mark} {} {}: {}", p.user_id, p.state, p.error);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overlong_summary_is_cut_at_a_line() {
        let text: String = (0..10_000).map(|i| format!("| line {i} |\n")).collect();
        let cut = fit(text, MAX_MARKDOWN_CHARS);
        assert!(cut.chars().count() <= MAX_MARKDOWN_CHARS);
        assert!(cut.ends_with("has the rest)\n"));
        assert!(
            cut.lines()
                .rev()
                .nth(1)
                .is_some_and(|l| l.ends_with('|') || l.is_empty())
        );
    }

    #[test]
    fn markdown_cells_cannot_break_the_table() {
        assert_eq!(md("a|b\nc`<x>"), "a\\|b c'&lt;x&gt;");
    }
}
