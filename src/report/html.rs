//! The HTML page: one self-contained file (inline CSS and SVG, no script, no URL), rendered
//! from `report.html.hbs` by a Handlebars registry with HTML escaping on (the campaign
//! registry has it off: chat text is not HTML).
//!
//! Its size is bounded by the summary's caps: at most [`MAX_HTML_PROBLEMS`] recipients and
//! [`MAX_RUNS`](super::timeline::MAX_RUNS) runs of bounded series, at any audience size.

use serde::Serialize;
use serde_json::json;

use super::ReportError;
use super::markdown::{runs_note, totals, totals_notes};
use super::summary::Summary;
use super::timeline::API_LIMIT_PER_SECOND;

const TEMPLATE: &str = include_str!("report.html.hbs");
/// One [`Span`] of prose.
const PROSE: &str = "{{#if code}}<code>{{text}}</code>{{else}}{{text}}{{/if}}";
/// Failed recipients the page lists at most.
pub(crate) const MAX_HTML_PROBLEMS: usize = 1_000;

const WIDTH: f64 = 900.0;
const PLOT_HEIGHT: f64 = 200.0;
/// Space a collapsed gap between two runs takes.
const GAP_WIDTH: f64 = 16.0;

#[derive(Debug, Serialize)]
struct Bar {
    x: String,
    y: String,
    w: String,
    h: String,
    title: String,
}

#[derive(Debug, Serialize)]
struct Label {
    x: String,
    y: String,
    text: String,
}

fn clock(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%H:%M:%S").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

fn date_clock(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

/// The rate chart: runs side by side, each as wide as its share of the sending time (gaps
/// collapsed to a dashed line), bars of sends a second and the API's limit.
fn chart(summary: &Summary) -> Option<serde_json::Value> {
    let runs = &summary.timeline.runs;
    if runs.is_empty() {
        return None;
    }
    let gaps = (runs.len() - 1) as f64 * GAP_WIDTH;
    let total: f64 = runs.iter().map(|r| r.seconds()).sum();
    let peak = summary.timeline.peak().max(API_LIMIT_PER_SECOND as f64) * 1.1;
    let y_of = |rate: f64| PLOT_HEIGHT - rate / peak * PLOT_HEIGHT;
    let (mut bars, mut gap_lines, mut labels) = (Vec::new(), Vec::new(), Vec::new());
    let mut x = 0.0;
    for (i, run) in runs.iter().enumerate() {
        let width = (WIDTH - gaps) * run.seconds() / total;
        let rates: Vec<f64> = run.rates().collect();
        let bar = width / rates.len().max(1) as f64;
        for (j, rate) in rates.iter().enumerate() {
            if *rate <= 0.0 {
                continue;
            }
            let at = run.start_ms.div_euclid(1000) * 1000
                + i64::try_from(j).unwrap_or(0) * run.bucket_seconds() * 1000;
            bars.push(Bar {
                x: format!("{:.2}", x + j as f64 * bar),
                y: format!("{:.2}", y_of(*rate)),
                w: format!("{:.2}", (bar * 0.9).max(0.3)),
                h: format!("{:.2}", PLOT_HEIGHT - y_of(*rate)),
                title: format!("{} UTC: {rate:.1} sends/s", clock(at)),
            });
        }
        labels.push(Label {
            x: format!("{x:.2}"),
            y: format!("{:.0}", PLOT_HEIGHT + 14.0),
            text: format!("run {} · {}", i + 1, clock(run.start_ms)),
        });
        x += width;
        if i + 1 < runs.len() {
            gap_lines.push(json!({ "x": format!("{:.2}", x + GAP_WIDTH / 2.0) }));
            x += GAP_WIDTH;
        }
    }
    let limit_y = y_of(API_LIMIT_PER_SECOND as f64);
    Some(json!({
        "width": WIDTH,
        "height": PLOT_HEIGHT + 20.0,
        "plot_height": PLOT_HEIGHT,
        "bars": bars,
        "gaps": gap_lines,
        "labels": labels,
        "limit": API_LIMIT_PER_SECOND,
        "limit_y": format!("{limit_y:.2}"),
        "limit_label_y": format!("{:.2}", (limit_y - 4.0).max(10.0)),
    }))
}

/// A piece of prose: plain text or, between backticks, code.
#[derive(Debug, PartialEq, Serialize)]
struct Span {
    text: String,
    code: bool,
}

/// `text` cut at its backticks (the summary's prose is written for Markdown), so the page
/// shows `timcast apply` as code instead of printing the backticks.
fn spans(text: &str) -> Vec<Span> {
    text.split('`')
        .enumerate()
        .filter(|(_, piece)| !piece.is_empty())
        .map(|(i, piece)| Span {
            text: piece.to_owned(),
            code: i % 2 == 1,
        })
        .collect()
}

/// The page.
pub(crate) fn html(summary: &Summary, report_command: &str) -> Result<String, ReportError> {
    let mut registry = handlebars::Handlebars::new();
    registry.set_strict_mode(false);
    registry
        .register_template_string("report", TEMPLATE)
        .map_err(|e| ReportError::Template(e.to_string()))?;
    registry
        .register_partial("prose", PROSE)
        .map_err(|e| ReportError::Template(e.to_string()))?;
    let runs: Vec<serde_json::Value> = summary
        .timeline
        .runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            json!({
                "number": i + 1,
                "start": date_clock(r.start_ms),
                "end": date_clock(r.end_ms),
                "sends": r.sends,
                "peak": format!("{:.0}", r.peak()),
            })
        })
        .collect();
    let breakdowns: Vec<serde_json::Value> = summary
        .breakdowns
        .iter()
        .map(|b| {
            let rows: Vec<serde_json::Value> = b
                .rows
                .iter()
                .map(|r| {
                    json!({
                        "value": r.value,
                        "recipients": r.recipients,
                        "sent": r.counts.sent + r.counts.recalled,
                        "failed": r.counts.failed,
                        "uncertain": r.counts.uncertain + r.counts.in_flight,
                        "pending": r.pending,
                    })
                })
                .collect();
            json!({ "title": spans(&b.title), "rows": rows })
        })
        .collect();
    let failures: Vec<serde_json::Value> = summary
        .failures
        .iter()
        .map(|f| {
            json!({
                "code": f.code,
                "count": f.count,
                "class": f.class,
                "meaning": f.meaning,
                "what_to_do": spans(f.what_to_do),
            })
        })
        .collect();
    let problems: Vec<_> = summary.problems.iter().take(MAX_HTML_PROBLEMS).collect();
    let view = json!({
        "campaign": summary.campaign,
        "generated_at": summary.generated_at,
        "about": summary.about,
        "totals": totals(summary),
        "notes": totals_notes(summary),
        "chart": chart(summary),
        "runs": runs,
        "runs_note": runs_note(summary),
        "failures": failures,
        "other_code_failures": summary.other_code_failures,
        "breakdowns": breakdowns,
        "problems_shown": problems.len(),
        "problems": problems,
        "problems_total": summary.problems_total,
        "report_command": report_command,
    });
    registry
        .render("report", &view)
        .map_err(|e| ReportError::Template(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backticks_become_code_spans() {
        let got = spans("fix it, then `timcast apply` again");
        assert_eq!(got.len(), 3);
        assert_eq!((got[1].text.as_str(), got[1].code), ("timcast apply", true));
        assert!(!got[0].code && !got[2].code);
        assert_eq!(spans("column `tier`").len(), 2);
        assert!(spans("").is_empty());
    }
}
