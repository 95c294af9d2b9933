#![allow(clippy::unwrap_used)]
//! `timcast report` output, snapshotted from a journal written here with fixed times, so the
//! snapshots are deterministic.

use timcast::journal::{SendRecord, SendState, State};

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
        variant: None,
        locale: None,
    }
}

/// The fixed journal every snapshot reads: two runs (the second 10 minutes after the first),
/// every state, hostile user IDs.
fn journal_records() -> Vec<SendRecord> {
    vec![
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
            600_300,
            None,
            Some((20004, "+network error (after 5 attempts)", "retry")),
            5,
        ),
        record("u2007", SendState::Uncertain, 600_400, None, None, 1),
        record("u2008", SendState::Intent, 600_500, None, None, 0),
        record(
            "u2009",
            SendState::Recalled,
            601_600,
            Some("9_9_1795000003"),
            None,
            1,
        ),
    ]
}

/// A workspace with the campaign file (audience: seven journaled recipients, five pending,
/// a `tier` column) and the fixed journal at `state.db`.
fn fixture() -> tempfile::TempDir {
    let dir = crate::common::workspace();
    let ids = [
        "u2001", "u2002", "u2003", "u2004", "u2007", "u2008", "u2009", "u2010", "u2011", "u2012",
        "u2013", "u2014",
    ];
    crate::common::CampaignWriter::new(dir.path(), "black-friday-2026")
        .columns(["user_id", "tier"])
        .rows(ids.iter().enumerate().map(|(i, id)| {
            [
                id.to_string(),
                if i % 3 == 0 { "gold" } else { "silver" }.to_owned(),
            ]
        }))
        .text("Hi {{user_id}}, 30 % off everything today")
        .sender("shop")
        .section("description", "  Black Friday discount for every customer")
        .write();
    State::sqlite(dir.path().join("state.db"))
        .open()
        .unwrap()
        .upsert(&journal_records())
        .unwrap();
    dir
}

/// `timcast report` of the fixture in `format`, with `extra` flags, at a fixed "now".
fn report(format: &str, extra: &[&str]) -> String {
    let dir = fixture();
    crate::common::Session::new()
        .current_dir(dir.path())
        .now("2026-11-20T12:00:00Z")
        .args(["report", "black-friday-2026.yaml", "--state", "state.db"])
        .args(["--format", format])
        .args(extra)
        .run()
        .expect_code(0)
        .stdout
}

#[test]
fn text_report() {
    let text = report("text", &["--by", "tier"]);
    assert!(text.contains("5 pending"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn text_report_with_recipients_lists_every_row() {
    let text = report("text", &["--recipients"]);
    assert_eq!(text.lines().count(), 1 + journal_records().len(), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn csv_report_escapes_formula_cells() {
    let csv = report("csv", &[]);
    assert!(csv.contains("'=HYPERLINK"));
    assert!(csv.contains("'+network error"));
    insta::assert_snapshot!(csv);
}

#[test]
fn json_report_is_one_object_a_line() {
    let json = report("json", &[]);
    let rows: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), journal_records().len());
    assert_eq!(rows.iter().filter(|r| r["state"] == "sent").count(), 4);
    insta::assert_snapshot!(json);
}

#[test]
fn markdown_report() {
    let markdown = report("markdown", &["--by", "tier"]);
    assert!(
        markdown.contains("| 20007 | 1 | permanent_recipient |"),
        "{markdown}"
    );
    insta::assert_snapshot!(markdown);
}

#[test]
fn html_report_is_self_contained_with_charts() {
    let html = report("html", &["--by", "tier"]);
    // The hostile user ID `=HYPERLINK("http://x")` is shown as text, so no `http://` check here.
    for external in ["<script", "<link", "href=", "src=", "@import", "url("] {
        assert!(!html.contains(external), "{external}");
    }
    assert!(html.contains("<svg"));
    assert!(html.contains("API limit 200/s"));
    assert!(html.contains("run 2 · "), "two runs are marked");
    assert!(html.contains("&lt;b&gt;u2006&lt;/b&gt;"));
    assert!(!html.contains("<b>u2006</b>"));
    insta::assert_snapshot!(html);
}

#[test]
fn a_report_by_name_says_pending_needs_the_campaign_file() {
    let dir = fixture();
    let out = crate::common::Session::new()
        .current_dir(dir.path())
        .args(["report", "black-friday-2026", "--state", "state.db"])
        .run()
        .expect_code(0);
    assert!(
        out.stdout.contains("give the campaign file"),
        "{}",
        out.stdout
    );
    let by = crate::common::Session::new()
        .current_dir(dir.path())
        .args([
            "report",
            "black-friday-2026",
            "--state",
            "state.db",
            "--by",
            "tier",
        ])
        .run();
    assert_eq!(by.code, 1, "{}", by.stderr);
}

#[test]
fn by_an_unknown_column_names_the_columns() {
    let dir = fixture();
    let out = crate::common::Session::new()
        .current_dir(dir.path())
        .args([
            "report",
            "black-friday-2026.yaml",
            "--state",
            "state.db",
            "--by",
            "nope",
        ])
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("user_id, tier"), "{}", out.stderr);
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
        // Text rows; the summaries (markdown, html) clip what comes from outside instead.
        let rows = if format == "text" {
            "--recipients"
        } else {
            "--failed=20"
        };
        let out = crate::common::Session::new()
            .current_dir(dir.path())
            .arg("report")
            .arg(&campaign)
            .arg("--state")
            .arg(&state)
            .args(["--format", format, rows])
            .run();
        assert_eq!(out.code, 0, "{format}: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{format}: {}", out.stderr);
        if format == "markdown" || format == "html" {
            assert!(
                out.stdout.len() < 100_000,
                "{format}: {} bytes",
                out.stdout.len()
            );
            assert!(!out.stdout.contains('\u{1b}'), "{format}");
            assert!(
                out.stdout.contains("@SUM(1)"),
                "{format}: failed recipients are listed"
            );
            continue;
        }
        assert!(
            out.stdout.contains("张伟🙂") && out.stdout.contains(&"x".repeat(70_000)),
            "{format}: every recipient is in the report"
        );
        assert!(!out.stderr.contains("panicked"), "{format}: {}", out.stderr);
        match format {
            "text" => {
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
            _ => {
                let rows: Vec<serde_json::Value> = out
                    .stdout
                    .lines()
                    .map(|l| serde_json::from_str(l).unwrap())
                    .collect();
                assert_eq!(rows.len(), records.len());
                assert_eq!(rows.iter().filter(|r| r["state"] == "failed").count(), 2);
            }
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
