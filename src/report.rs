//! Result reports of a campaign, from the journal: per recipient (user ID, state, MsgKey,
//! error, attempts, time) and totals, as text, CSV, JSON, Markdown or one self-contained
//! HTML page with a chart of sends per second and the outcome counts.
//!
//! CSV cells that a spreadsheet would take for a formula (`= + - @`, tab, CR) are prefixed with
//! `'`: user IDs and error texts come from outside and must never run in someone's Excel.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::journal::{JournalError, JournalStore, SendRecord, SendState};

/// How to print a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Text,
    Csv,
    Json,
    Markdown,
    Html,
}

/// One recipient's line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportRow {
    pub user_id: String,
    pub state: &'static str,
    pub endpoint: &'static str,
    pub msg_key: Option<String>,
    pub error_code: Option<i64>,
    pub error_text: Option<String>,
    pub error_class: Option<&'static str>,
    pub attempts: u32,
    /// The latest change, RFC 3339 UTC.
    pub time: String,
    #[serde(skip)]
    pub time_ms: i64,
}

/// Counts per state.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    pub recipients: u64,
    pub sent: u64,
    pub failed: u64,
    pub uncertain: u64,
    /// Intents without an outcome: in flight now, or a run died (shown as uncertain by `plan`).
    pub in_flight: u64,
    pub recalled: u64,
}

/// A campaign's report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub campaign: String,
    pub totals: Totals,
    pub rows: Vec<ReportRow>,
}

fn format_time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

impl Report {
    /// The report of `campaign` from the journal's records.
    pub fn from_journal(
        journal: &dyn JournalStore,
        campaign: &str,
    ) -> Result<Report, JournalError> {
        let mut records = Vec::new();
        journal.for_each_record(campaign, &mut |r| records.push(r))?;
        Ok(Report::from_records(campaign, records))
    }

    pub fn from_records(campaign: &str, records: Vec<SendRecord>) -> Report {
        let mut totals = Totals::default();
        let rows = records
            .into_iter()
            .map(|r| {
                totals.recipients += 1;
                match r.state {
                    SendState::Sent => totals.sent += 1,
                    SendState::Failed => totals.failed += 1,
                    SendState::Uncertain => totals.uncertain += 1,
                    SendState::Intent => totals.in_flight += 1,
                    SendState::Recalled => totals.recalled += 1,
                }
                ReportRow {
                    user_id: r.recipient,
                    state: r.state.report_name(),
                    endpoint: r.endpoint.path(),
                    msg_key: r.msg_key,
                    error_code: r.error_code,
                    error_text: r.error_text,
                    error_class: r.error_class.map(|c| c.as_str()),
                    attempts: r.attempts,
                    time: format_time(r.updated_at_ms),
                    time_ms: r.updated_at_ms,
                }
            })
            .collect();
        Report {
            campaign: campaign.to_owned(),
            totals,
            rows,
        }
    }

    /// Successful sends per second, from the first to the last (seconds with none included).
    pub fn sends_per_second(&self) -> Vec<u64> {
        let times: Vec<i64> = self
            .rows
            .iter()
            .filter(|r| r.state == "sent" || r.state == "recalled")
            .map(|r| r.time_ms.div_euclid(1000))
            .collect();
        let (Some(first), Some(last)) = (times.iter().min(), times.iter().max()) else {
            return Vec::new();
        };
        // A journal spanning days (resumed much later) is charted over its last hour at most.
        let first = (*first).max(last - 3600);
        let mut counts = vec![0u64; usize::try_from(last - first + 1).unwrap_or(1)];
        for t in times {
            if let Some(slot) = usize::try_from(t - first)
                .ok()
                .and_then(|i| counts.get_mut(i))
            {
                *slot += 1;
            }
        }
        counts
    }
}

fn totals_line(t: &Totals) -> String {
    format!(
        "{} recipients: {} sent, {} failed, {} uncertain, {} in flight, {} recalled",
        t.recipients, t.sent, t.failed, t.uncertain, t.in_flight, t.recalled
    )
}

fn error_of(row: &ReportRow) -> String {
    match (&row.error_code, &row.error_text) {
        (Some(code), Some(text)) => format!("{code} {text}"),
        (Some(code), None) => code.to_string(),
        (None, Some(text)) => text.clone(),
        (None, None) => String::new(),
    }
}

/// Up to `max` failed or uncertain recipients, one a line (empty when there are none).
pub fn problems_text(report: &Report, max: usize) -> String {
    let problems: Vec<&ReportRow> = report
        .rows
        .iter()
        .filter(|r| r.state == "failed" || r.state == "uncertain")
        .collect();
    let mut out = String::new();
    for row in problems.iter().take(max) {
        let mark = if row.state == "failed" { "!" } else { "?" };
        let _ = writeln!(
            out,
            "  {mark} {} {}: {}",
            row.user_id,
            row.state,
            error_of(row)
        );
    }
    if problems.len() > max {
        let _ = writeln!(out, "  … and {} more", problems.len() - max);
    }
    out
}

/// The report in `format`.
pub fn render(report: &Report, format: ReportFormat) -> String {
    match format {
        ReportFormat::Text => text(report),
        ReportFormat::Csv => csv(report),
        ReportFormat::Json => json(report),
        ReportFormat::Markdown => markdown(report),
        ReportFormat::Html => html(report),
    }
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

fn column_width<'a>(values: impl Iterator<Item = &'a str>, header: &str) -> usize {
    values
        .map(|v| v.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(header.len(), MAX_COLUMN_CHARS.max(header.len()))
}

fn text(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}: {}", report.campaign, totals_line(&report.totals));
    if report.rows.is_empty() {
        return out;
    }
    let width = column_width(report.rows.iter().map(|r| r.user_id.as_str()), "user_id");
    let key_width = column_width(
        report
            .rows
            .iter()
            .map(|r| r.msg_key.as_deref().unwrap_or("-")),
        "msg_key",
    );
    let _ = writeln!(
        out,
        "\n{}  {:<9}  {}  {:>8}  {:<20}  error",
        pad("user_id", width),
        "state",
        pad("msg_key", key_width),
        "attempts",
        "time"
    );
    for r in &report.rows {
        let line = format!(
            "{}  {:<9}  {}  {:>8}  {:<20}  {}",
            pad(&printable(&r.user_id), width),
            r.state,
            pad(&printable(r.msg_key.as_deref().unwrap_or("-")), key_width),
            r.attempts,
            r.time,
            printable(&error_of(r))
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

/// `value` with control characters escaped, so one row stays one line and cannot move the
/// terminal's cursor or change its colours.
fn printable(value: &str) -> std::borrow::Cow<'_, str> {
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

/// Neutralises a CSV cell a spreadsheet would evaluate as a formula.
pub fn csv_cell(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

fn csv(report: &Report) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record([
        "user_id",
        "state",
        "endpoint",
        "msg_key",
        "error_code",
        "error_text",
        "error_class",
        "attempts",
        "time",
    ]);
    for r in &report.rows {
        let _ = writer.write_record([
            csv_cell(&r.user_id),
            r.state.to_owned(),
            csv_cell(r.endpoint),
            csv_cell(r.msg_key.as_deref().unwrap_or("")),
            r.error_code.map(|c| c.to_string()).unwrap_or_default(),
            csv_cell(r.error_text.as_deref().unwrap_or("")),
            csv_cell(r.error_class.unwrap_or("")),
            r.attempts.to_string(),
            r.time.clone(),
        ]);
    }
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn json(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}

/// A row of the Markdown and HTML recipient tables: user ID, state, MsgKey, error, attempts
/// and time, each through `escape` (a no-op on the state and the count).
fn recipient_cells(row: &ReportRow, escape: fn(&str) -> String) -> [String; 6] {
    [
        row.user_id.as_str(),
        row.state,
        row.msg_key.as_deref().unwrap_or(""),
        &error_of(row),
        &row.attempts.to_string(),
        &row.time,
    ]
    .map(escape)
}

fn md_cell(value: &str) -> String {
    printable(value).replace('|', "\\|")
}

fn markdown(report: &Report) -> String {
    let t = &report.totals;
    let mut out = String::new();
    let _ = writeln!(out, "## Report: `{}`\n", md_cell(&report.campaign));
    let _ = writeln!(
        out,
        "| recipients | sent | failed | uncertain | in flight | recalled |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} |\n",
        t.recipients, t.sent, t.failed, t.uncertain, t.in_flight, t.recalled
    );
    if report.rows.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "| user ID | state | MsgKey | error | attempts | time |"
    );
    let _ = writeln!(out, "|---|---|---|---|---:|---|");
    for r in &report.rows {
        let [user, state, key, error, attempts, time] = recipient_cells(r, md_cell);
        let _ = writeln!(
            out,
            "| `{user}` | {state} | {key} | {error} | {attempts} | {time} |"
        );
    }
    out
}

fn esc(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    // Control characters are not allowed in an HTML document: shown escaped, as in the text.
    for c in printable(value).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An SVG column chart of sends per second.
fn rate_chart(per_second: &[u64]) -> String {
    let (w, h) = (720.0, 180.0);
    if per_second.is_empty() {
        return "<p class=\"muted\">No successful sends to chart.</p>".into();
    }
    let max = per_second.iter().copied().max().unwrap_or(1).max(1) as f64;
    let bar = w / per_second.len() as f64;
    let mut svg = format!(
        "<svg viewBox=\"0 0 {w} {}\" width=\"100%\" role=\"img\" aria-label=\"sends per second\">",
        h + 20.0
    );
    for (i, n) in per_second.iter().enumerate() {
        let bh = (*n as f64 / max) * h;
        let _ = write!(
            svg,
            "<rect x=\"{:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{:.2}\" class=\"bar\"><title>second {i}: {n} sends</title></rect>",
            i as f64 * bar,
            h - bh,
            (bar - 1.0).max(0.5),
            bh
        );
    }
    let _ = write!(
        svg,
        "<text x=\"0\" y=\"{}\" class=\"axis\">0 s</text><text x=\"{w}\" y=\"{}\" text-anchor=\"end\" class=\"axis\">{} s · peak {} sends/s</text></svg>",
        h + 16.0,
        h + 16.0,
        per_second.len(),
        max
    );
    svg
}

/// An SVG bar per outcome.
fn outcome_chart(t: &Totals) -> String {
    let items = [
        ("sent", t.sent, "#2e7d32"),
        ("failed", t.failed, "#c62828"),
        ("uncertain", t.uncertain, "#f9a825"),
        ("in flight", t.in_flight, "#6d4c41"),
        ("recalled", t.recalled, "#546e7a"),
    ];
    let max = items.iter().map(|i| i.1).max().unwrap_or(1).max(1) as f64;
    let mut svg = String::from(
        "<svg viewBox=\"0 0 720 150\" width=\"100%\" role=\"img\" aria-label=\"outcomes\">",
    );
    for (row, (label, n, color)) in items.iter().enumerate() {
        let y = row as f64 * 30.0;
        let width = (*n as f64 / max) * 560.0;
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{:.0}\" class=\"axis\">{label}</text><rect x=\"90\" y=\"{:.0}\" width=\"{width:.2}\" height=\"20\" fill=\"{color}\"></rect><text x=\"{:.2}\" y=\"{:.0}\" class=\"axis\">{n}</text>",
            y + 15.0,
            y,
            96.0 + width,
            y + 15.0
        );
    }
    svg.push_str("</svg>");
    svg
}

fn html(report: &Report) -> String {
    let t = &report.totals;
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>timcast report: {name}</title>\n<style>\n\
body{{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#222}}\n\
h1{{font-size:1.4rem}} h2{{font-size:1.1rem;margin-top:2rem}}\n\
table{{border-collapse:collapse;font-size:.9rem}} td,th{{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:left}}\n\
.num{{text-align:right}} .muted{{color:#777}} .bar{{fill:#1565c0}} .axis{{font-size:12px;fill:#555}}\n\
.failed{{color:#c62828}} .uncertain{{color:#a06b00}} .sent{{color:#2e7d32}}\n\
</style>\n</head>\n<body>\n<h1>timcast report: <code>{name}</code></h1>\n<p>{totals}</p>\n",
        name = esc(&report.campaign),
        totals = esc(&totals_line(t))
    );
    let _ = write!(
        out,
        "<h2>Outcomes</h2>\n{}\n<h2>Sends per second</h2>\n{}\n",
        outcome_chart(t),
        rate_chart(&report.sends_per_second())
    );
    let _ = writeln!(
        out,
        "<h2>Recipients</h2>\n<table>\n<thead><tr><th>user ID</th><th>state</th><th>MsgKey</th><th>error</th><th class=\"num\">attempts</th><th>time</th></tr></thead>\n<tbody>"
    );
    for r in &report.rows {
        let [user, state, key, error, attempts, time] = recipient_cells(r, esc);
        // One class per state: "in flight" is `in-flight`.
        let class = state.replace(' ', "-");
        let _ = writeln!(
            out,
            "<tr><td>{user}</td><td class=\"{class}\">{state}</td><td>{key}</td><td>{error}</td><td class=\"num\">{attempts}</td><td>{time}</td></tr>"
        );
    }
    out.push_str("</tbody>\n</table>\n</body>\n</html>\n");
    out
}

/// Totals per state name, for tests and summaries.
pub fn state_counts(report: &Report) -> BTreeMap<&'static str, u64> {
    let mut map = BTreeMap::new();
    for r in &report.rows {
        *map.entry(r.state).or_default() += 1;
    }
    map
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
    fn html_escapes_recipient_text() {
        assert_eq!(esc("<script>&\"'"), "&lt;script&gt;&amp;&quot;&#39;");
    }
}
