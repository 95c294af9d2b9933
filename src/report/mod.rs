//! Result reports of a campaign, from the journal. Two kinds, and both stream:
//!
//! - per-recipient rows (csv, JSON lines, `text --recipients`), written one at a time as the
//!   journal is read ([`rows`]);
//! - a summary (text, markdown, one self-contained HTML page) aggregated in one pass over the
//!   journal and one over the audience ([`summary`]), then rendered ([`markdown`], [`html`]).
//!
//! Memory does not grow with the journal: no report collects its rows. The report reads the
//! journal only through [`JournalStore::for_each_record`] and [`JournalStore::states_of`].

mod html;
mod markdown;
mod rows;
mod summary;
mod timeline;

use std::io::Write;

use crate::audience::AudienceError;
use crate::campaign::LoadedCampaign;
use crate::journal::{JournalError, JournalStore};

pub use markdown::MAX_MARKDOWN_CHARS;
pub use rows::csv_cell;

/// How to print a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Text,
    Csv,
    Json,
    Markdown,
    Html,
}

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Audience(#[from] AudienceError),
    #[error("the audience has no column `{column}` to break down by (its columns: {columns})")]
    UnknownColumn { column: String, columns: String },
    #[error("cannot render the report: {0}")]
    Template(String),
    #[error("cannot write the report: {0}")]
    Io(#[from] std::io::Error),
}

/// What a report shows.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub format: ReportFormat,
    /// A CSV column to break the audience down by (needs the campaign file).
    pub by: Option<String>,
    /// `text`: every recipient's row instead of the summary.
    pub recipients: bool,
    /// Failed or uncertain recipients a summary lists.
    pub failed: usize,
    /// "Now" as the report says it was generated, RFC 3339.
    pub generated_at: String,
    /// The command that printed this report, for "every recipient: …" hints.
    pub command: String,
}

/// Writes the report of `campaign` to `out`. `loaded`, the campaign file, adds what the
/// journal cannot know: the plan's pending recipients, breakdowns and the message.
pub fn write(
    journal: &dyn JournalStore,
    campaign: &str,
    loaded: Option<&LoadedCampaign>,
    options: &ReportOptions,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    match options.format {
        ReportFormat::Csv => return rows::csv(journal, campaign, out),
        ReportFormat::Json => return rows::json_lines(journal, campaign, out),
        ReportFormat::Text if options.recipients => {
            return rows::text_table(journal, campaign, out);
        }
        _ => {}
    }
    let summary = summary::collect(
        journal,
        campaign,
        loaded,
        &summary::SummaryOptions {
            by: options.by.clone(),
            max_problems: options.failed.min(html::MAX_HTML_PROBLEMS),
            generated_at: options.generated_at.clone(),
        },
    )?;
    let text = match options.format {
        ReportFormat::Markdown => markdown::markdown(&summary, &options.command),
        ReportFormat::Html => html::html(&summary, &options.command)?,
        _ => markdown::text(&summary, &options.command),
    };
    out.write_all(text.as_bytes())?;
    Ok(())
}

/// The first `max` failed or uncertain recipients of `campaign`, one a line, and a count of
/// the rest (empty when there are none): what `apply` prints after a run.
pub(crate) fn problems_text(
    journal: &dyn JournalStore,
    campaign: &str,
    max: usize,
) -> Result<String, JournalError> {
    let mut problems = summary::Problems::new(max);
    journal.for_each_record(campaign, &mut |r| problems.add(&r))?;
    let mut out = String::new();
    for p in &problems.rows {
        let mark = if p.state == "failed" { "!" } else { "?" };
        out.push_str(&format!(
            "  {mark} {} {}: {}\n",
            p.user_id, p.state, p.error
        ));
    }
    let listed = problems.rows.len() as u64;
    if problems.total > listed {
        out.push_str(&format!("  … and {} more\n", problems.total - listed));
    }
    Ok(out)
}
