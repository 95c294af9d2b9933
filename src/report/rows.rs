//! Per-recipient rows (user ID, state, endpoint, MsgKey, error, attempts, time), streamed
//! from the journal to the output one at a time: CSV, JSON lines, or a text table.
//!
//! CSV cells that a spreadsheet would take for a formula (`= + - @`, tab, CR) are prefixed with
//! `'`: user IDs and error texts come from outside and must never run in someone's Excel.

use std::io::Write;

use serde::Serialize;

use super::ReportError;
use super::summary::{error_of, format_time};
use crate::journal::{JournalStore, SendRecord};

/// One recipient's line of a JSON-lines report.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct JsonRow<'a> {
    user_id: &'a str,
    state: &'static str,
    endpoint: &'static str,
    msg_key: Option<&'a str>,
    error_code: Option<i64>,
    error_text: Option<&'a str>,
    error_class: Option<&'static str>,
    attempts: u32,
    /// The latest change, RFC 3339 UTC.
    time: String,
    variant: Option<&'a str>,
    locale: Option<&'a str>,
}

impl<'a> JsonRow<'a> {
    fn of(r: &'a SendRecord) -> JsonRow<'a> {
        JsonRow {
            user_id: &r.recipient,
            state: r.state.report_name(),
            endpoint: endpoint_of(r),
            msg_key: r.msg_key.as_deref(),
            error_code: r.error_code,
            error_text: r.error_text.as_deref(),
            error_class: r.error_class.map(|c| c.as_str()),
            attempts: r.attempts,
            time: format_time(r.updated_at_ms),
            variant: r.variant.as_deref(),
            locale: r.locale.as_deref(),
        }
    }
}

/// Calls `each` for every record, stopping the writes at the first error (the journal's
/// callback cannot fail, so the error waits until the read ends).
fn stream(
    journal: &dyn JournalStore,
    campaign: &str,
    each: &mut dyn FnMut(&SendRecord) -> std::io::Result<()>,
) -> Result<(), ReportError> {
    let mut failed: Option<std::io::Error> = None;
    journal.for_each_record(campaign, &mut |record| {
        if failed.is_none()
            && let Err(e) = each(&record)
        {
            failed = Some(e);
        }
    })?;
    match failed {
        Some(e) => Err(ReportError::Io(e)),
        None => Ok(()),
    }
}

/// The API that carried the send; none for the holdout or the capped.
fn endpoint_of(r: &SendRecord) -> &'static str {
    if r.state.was_attempted() {
        r.endpoint.path()
    } else {
        ""
    }
}

/// Neutralises a CSV cell a spreadsheet would evaluate as a formula.
pub fn csv_cell(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

pub(crate) fn csv(
    journal: &dyn JournalStore,
    campaign: &str,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    let mut writer = csv::Writer::from_writer(out);
    let header = [
        "user_id",
        "state",
        "endpoint",
        "msg_key",
        "error_code",
        "error_text",
        "error_class",
        "attempts",
        "time",
        "variant",
        "locale",
    ];
    writer.write_record(header).map_err(csv_error)?;
    stream(journal, campaign, &mut |r| {
        writer
            .write_record([
                csv_cell(&r.recipient),
                r.state.report_name().to_owned(),
                csv_cell(endpoint_of(r)),
                csv_cell(r.msg_key.as_deref().unwrap_or("")),
                r.error_code.map(|c| c.to_string()).unwrap_or_default(),
                csv_cell(r.error_text.as_deref().unwrap_or("")),
                csv_cell(r.error_class.map(|c| c.as_str()).unwrap_or("")),
                r.attempts.to_string(),
                format_time(r.updated_at_ms),
                csv_cell(r.variant.as_deref().unwrap_or("")),
                csv_cell(r.locale.as_deref().unwrap_or("")),
            ])
            .map_err(csv_io)
    })?;
    writer.flush().map_err(ReportError::Io)
}

fn csv_error(e: csv::Error) -> ReportError {
    ReportError::Io(csv_io(e))
}

/// The I/O error inside a CSV error, kind kept: a closed pipe must stay a closed pipe.
fn csv_io(e: csv::Error) -> std::io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

/// One JSON object a line.
pub(crate) fn json_lines(
    journal: &dyn JournalStore,
    campaign: &str,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    stream(journal, campaign, &mut |r| {
        serde_json::to_writer(&mut *out, &JsonRow::of(r)).map_err(std::io::Error::from)?;
        out.write_all(b"\n")
    })
}

/// Widest a text column grows: longer values overflow their column instead of widening every
/// line (a 100,000-character MsgKey would otherwise make every line that wide).
const MAX_COLUMN_CHARS: usize = 40;

/// `value` left-aligned in `width` characters, never truncated. Padding is computed here, not
/// by `format!`, whose width argument panics above `u16::MAX`.
fn pad(value: &str, width: usize) -> String {
    let fill = width.saturating_sub(value.chars().count());
    let mut out = String::with_capacity(value.len() + fill);
    out.push_str(value);
    out.extend(std::iter::repeat_n(' ', fill));
    out
}

/// A text table: one pass to size the columns, one to print the rows, so that nothing but two
/// widths is held.
pub(crate) fn text_table(
    journal: &dyn JournalStore,
    campaign: &str,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    let (mut width, mut key_width) = ("user_id".len(), "msg_key".len());
    let mut any = false;
    journal.for_each_record(campaign, &mut |r| {
        any = true;
        width = width.max(r.recipient.chars().count().min(MAX_COLUMN_CHARS));
        let key = r.msg_key.as_deref().map_or(1, |k| k.chars().count());
        key_width = key_width.max(key.min(MAX_COLUMN_CHARS));
    })?;
    if !any {
        return Ok(());
    }
    writeln!(
        out,
        "{}  {:<9}  {}  {:>8}  {:<20}  error",
        pad("user_id", width),
        "state",
        pad("msg_key", key_width),
        "attempts",
        "time"
    )?;
    stream(journal, campaign, &mut |r| {
        let line = format!(
            "{}  {:<9}  {}  {:>8}  {:<20}  {}",
            pad(&printable(&r.recipient), width),
            r.state.report_name(),
            pad(&printable(r.msg_key.as_deref().unwrap_or("-")), key_width),
            r.attempts,
            format_time(r.updated_at_ms),
            printable(&error_of(r))
        );
        writeln!(out, "{}", line.trim_end())
    })
}

/// `value` with control characters escaped, so one row stays one line and cannot move the
/// terminal's cursor or change its colours.
pub(crate) fn printable(value: &str) -> std::borrow::Cow<'_, str> {
    if !value.chars().any(char::is_control) {
        return value.into();
    }
    value
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().collect::<String>()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("u1001"), "u1001");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("a\nb\u{1b}"), "a\\nb\\u{1b}");
        assert_eq!(printable("plain"), "plain");
    }
}
