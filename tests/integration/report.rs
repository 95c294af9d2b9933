#![allow(clippy::unwrap_used)]
//! `timcast report` output, snapshotted from a journal written here with fixed times, so the
//! snapshots are deterministic.

use timcast::journal::{SendRecord, SendState, State};
use timcast::report::{Report, ReportFormat, render};

const T0: i64 = 1_795_000_000_000;

fn record(
    recipient: &str,
    state: SendState,
    offset_ms: i64,
    msg_key: Option<&str>,
    error: Option<(i64, &str, &str)>,
    attempts: u32,
) -> SendRecord {
    SendRecord {
        campaign: "black-friday-2026".into(),
        recipient: recipient.into(),
        content_hash: "00112233445566778899aabbccddeeff".into(),
        state,
        endpoint: timcast::im::Endpoint::SendMsg,
        call_id: recipient.into(),
        msg_random: 1,
        msg_seq: 2,
        msg_key: msg_key.map(str::to_owned),
        msg_time: msg_key.map(|_| (T0 + offset_ms) / 1000),
        error_code: error.map(|e| e.0),
        error_text: error.map(|e| e.1.to_owned()),
        error_class: error.map(|e| timcast::im::ErrorClass::parse(e.2).unwrap()),
        attempts,
        intent_at_ms: T0 + offset_ms - 40,
        updated_at_ms: T0 + offset_ms,
    }
}

fn report() -> Report {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let mut journal = State::sqlite(&path).open().unwrap();
    journal
        .upsert(&[
            record(
                "u2001",
                SendState::Sent,
                0,
                Some("1_2387223605_1795000000"),
                None,
                1,
            ),
            record(
                "u2002",
                SendState::Sent,
                300,
                Some("2_991_1795000000"),
                None,
                2,
            ),
            record(
                "u2003",
                SendState::Sent,
                1_200,
                Some("3_17_1795000001"),
                None,
                1,
            ),
            record(
                "u2004",
                SendState::Sent,
                3_100,
                Some("4_8_1795000003"),
                None,
                1,
            ),
            record(
                "=HYPERLINK(\"http://x\")",
                SendState::Failed,
                3_200,
                None,
                Some((
                    20007,
                    "the recipient blocklisted the sender",
                    "permanent_recipient",
                )),
                1,
            ),
            record(
                "<b>u2006</b>",
                SendState::Failed,
                3_300,
                None,
                Some((20004, "+network error (after 5 attempts)", "retry")),
                5,
            ),
            record("u2007", SendState::Uncertain, 3_400, None, None, 1),
            record("u2008", SendState::Intent, 3_500, None, None, 0),
            record(
                "u2009",
                SendState::Recalled,
                3_600,
                Some("9_9_1795000003"),
                None,
                1,
            ),
        ])
        .unwrap();
    Report::from_journal(journal.as_ref(), "black-friday-2026").unwrap()
}

#[test]
fn text_report() {
    insta::assert_snapshot!(render(&report(), ReportFormat::Text));
}

#[test]
fn csv_report_escapes_formula_cells() {
    let csv = render(&report(), ReportFormat::Csv);
    assert!(csv.contains("'=HYPERLINK"));
    assert!(csv.contains("'+network error"));
    insta::assert_snapshot!(csv);
}

#[test]
fn json_report() {
    let json = render(&report(), ReportFormat::Json);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["totals"]["sent"], 4);
    insta::assert_snapshot!(json);
}

#[test]
fn markdown_report() {
    insta::assert_snapshot!(render(&report(), ReportFormat::Markdown));
}

#[test]
fn html_report_is_self_contained_with_charts() {
    let html = render(&report(), ReportFormat::Html);
    for external in ["<script", "<link", "src=\"http", "href=\"http", "@import"] {
        assert!(!html.contains(external), "{external}");
    }
    assert!(html.contains("<svg"));
    assert!(html.contains("&lt;b&gt;u2006&lt;/b&gt;"));
    assert!(!html.contains("<b>u2006</b>"));
    insta::assert_snapshot!(html);
}

#[test]
fn sends_per_second_count_every_second_of_the_run() {
    assert_eq!(report().sends_per_second(), vec![2, 1, 0, 2]);
}

/// Values a broken or hostile server, or a strange audience, can leave in a journal.
fn extreme_records(campaign: &str) -> Vec<SendRecord> {
    let long_key = "1".repeat(100_000);
    let long_id = format!("u{}", "x".repeat(70_000));
    let mut records = vec![
        record(&long_id, SendState::Sent, 0, Some(&long_key), None, 1),
        record("张伟🙂", SendState::Sent, 10, Some("1_2_3"), None, 1),
        record(
            "\u{1b}[31mred\u{1b}[0m\nnext|line",
            SendState::Failed,
            20,
            None,
            Some((i64::MIN, "\u{7}bell\r\nand a new line", "unknown")),
            u32::MAX,
        ),
        record(
            "=cmd|' /C calc'!A0",
            SendState::Uncertain,
            30,
            Some(&"9".repeat(5_000)),
            None,
            1,
        ),
        record(
            "@SUM(1)",
            SendState::Failed,
            40,
            None,
            Some((-1, "", "unknown")),
            1,
        ),
    ];
    for r in &mut records {
        r.campaign = campaign.to_owned();
    }
    // A time far outside what jiff can show.
    if let Some(last) = records.last_mut() {
        last.updated_at_ms = i64::MAX;
    }
    records
}

#[test]
fn every_report_format_renders_a_journal_of_extreme_values() {
    let dir = crate::common::workspace();
    let campaign = crate::common::CampaignWriter::new(dir.path(), "extreme")
        .recipients(1)
        .text("Hello")
        .write();
    let state = dir.path().join("state.db");
    let records = extreme_records("extreme");
    State::sqlite(&state)
        .open()
        .unwrap()
        .upsert(&records)
        .unwrap();
    for format in ["text", "csv", "json", "markdown", "html"] {
        let out = crate::common::Session::new()
            .current_dir(dir.path())
            .arg("report")
            .arg(&campaign)
            .arg("--state")
            .arg(&state)
            .args(["--format", format])
            .run();
        assert_eq!(out.code, 0, "{format}: {}", out.stderr);
        assert!(
            out.stdout.contains("张伟🙂") && out.stdout.contains(&"x".repeat(70_000)),
            "{format}: every recipient is in the report"
        );
        assert!(!out.stderr.contains("panicked"), "{format}: {}", out.stderr);
        match format {
            "text" | "markdown" => {
                assert!(
                    !out.stdout.contains('\u{1b}') && !out.stdout.contains('\u{7}'),
                    "{format}: control characters reach the terminal"
                );
                // Header, totals and one line per recipient: a newline in a value stays inside it.
                let rows = out.stdout.lines().filter(|l| l.contains("red")).count();
                assert_eq!(rows, 1, "{format}:\n{}", out.stdout);
            }
            "csv" => {
                assert!(out.stdout.contains("'=cmd"), "{}", out.stdout);
                assert!(out.stdout.contains("'@SUM"), "{}", out.stdout);
                let mut reader = csv::Reader::from_reader(out.stdout.as_bytes());
                assert_eq!(reader.records().count(), records.len());
            }
            "json" => {
                let value: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
                assert_eq!(value["rows"].as_array().map(Vec::len), Some(records.len()));
                assert_eq!(value["totals"]["failed"], 2);
            }
            _ => assert!(!out.stdout.contains("\u{1b}[31m")),
        }
    }
}

#[test]
fn report_rows_name_an_intent_in_flight_as_the_summary_does() {
    let dir = tempfile::tempdir().unwrap();
    let campaign = crate::common::CampaignWriter::new(dir.path(), "flying")
        .recipients(1)
        .text("Hello")
        .write();
    let state = dir.path().join("state.db");
    let intent = timcast::journal::SendRecord::intent(
        "flying",
        "flying-u0",
        "abc".into(),
        timcast::im::Endpoint::SendMsg,
        "call-1",
        (1, 2),
        1_764_000_000_000,
    );
    State::sqlite(&state)
        .open()
        .unwrap()
        .upsert(&[intent])
        .unwrap();
    for format in ["text", "csv", "json"] {
        let out = crate::common::Session::new()
            .current_dir(dir.path())
            .arg("report")
            .arg(&campaign)
            .arg("--state")
            .arg(&state)
            .args(["--format", format])
            .run()
            .expect_code(0);
        assert!(out.stdout.contains("in flight"), "{format}: {}", out.stdout);
        assert!(!out.stdout.contains("intent"), "{format}: {}", out.stdout);
    }
}
