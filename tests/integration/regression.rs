//! Regression tests for defects a new user hit, one per defect, named after what they guard
//! (ripgrep's tests/regression.rs style). Each failed before its fix.

use std::path::{Path, PathBuf};

use crate::common::Session;

/// A campaign over `csv` (written as given) with `extra` YAML appended.
fn campaign(dir: &Path, csv: &str, extra: &str) -> PathBuf {
    std::fs::write(dir.join("people.csv"), csv).unwrap();
    let yaml = format!(
        "version: 1\nname: regress\naudience:\n  csv: people.csv\n  on_bad_row: skip\nmessage:\n  - text: \"Hi {{{{first_name}}}}\"\n{extra}"
    );
    let path = dir.join("regress.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

fn plan(dir: &Path, args: &[&str]) -> crate::common::Outcome {
    Session::new()
        .current_dir(dir)
        .arg("plan")
        .arg("regress.yaml")
        .args(args.iter().copied())
        .run()
}

#[test]
fn an_unclosed_quote_in_the_csv_fails_the_plan_whatever_on_bad_row_says() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("user_id,first_name\n");
    for i in 1..=1000 {
        if i == 30 {
            csv.push_str("u30,\"Open\n");
        } else {
            csv.push_str(&format!("u{i},Name{i}\n"));
        }
    }
    campaign(dir.path(), &csv, "");
    let out = plan(dir.path(), &[]);
    assert_eq!(out.code, 1, "{}", out.text());
    // Row 31 in spreadsheet numbering: the header is row 1.
    assert!(out.stderr.contains("people.csv, row 31"), "{}", out.stderr);
    assert!(out.stderr.contains("close the quote"), "{}", out.stderr);
    assert!(!out.stdout.contains("to send"), "{}", out.stdout);
}

#[test]
fn a_quoted_field_over_a_few_lines_is_still_one_field() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "user_id,first_name\nu1,\"Ada\nLovelace\"\nu2,Bob\n";
    campaign(dir.path(), csv, "");
    let out = plan(dir.path(), &["--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.text());
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(plan["pending"], 2, "{plan}");
}

#[test]
fn plan_says_an_expired_schedule_sends_nothing_and_exits_0_for_ci() {
    let dir = tempfile::tempdir().unwrap();
    campaign(
        dir.path(),
        "user_id,first_name\nu1,Ada\nu2,Bob\n",
        "schedule:\n  at: 2026-11-27T09:00:00+08:00\n  not_after: 2026-11-27T21:00:00+08:00\n",
    );
    let out = Session::new()
        .current_dir(dir.path())
        .now("2026-11-28T00:00:00Z")
        .args(["plan", "regress.yaml", "--detailed-exitcode"])
        .run();
    assert_eq!(out.code, 0, "{}", out.text());
    assert!(
        out.stdout.contains("nothing will be sent"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("not_after"), "{}", out.stdout);
    // Before the end it is a plan with sends, as before.
    let before = Session::new()
        .current_dir(dir.path())
        .now("2026-11-27T02:00:00Z")
        .args(["plan", "regress.yaml", "--detailed-exitcode"])
        .run();
    assert_eq!(before.code, 2, "{}", before.text());
}

async fn live_sandbox() -> timcast::sandbox::SandboxHandle {
    let (mut config, _) = crate::common::config();
    config.clock = std::sync::Arc::new(timcast::sandbox::SystemClock);
    crate::common::start(config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_due_goes_on_after_one_campaigns_fatal_error_and_does_not_say_interrupted() {
    use crate::common::CampaignWriter;
    let sandbox = live_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    CampaignWriter::new(dir.path(), "a-news")
        .official_account("@TOA#nosuch")
        .text("Maintenance tonight")
        .write();
    CampaignWriter::new(dir.path(), "b-hello")
        .recipients(2)
        .text("Hello {{first_name}}")
        .write();
    let out = Session::new()
        .current_dir(dir.path())
        .sandbox(&sandbox)
        .args(["run", ".", "--due"])
        .run_async()
        .await;
    assert_eq!(out.code, 1, "{}", out.text());
    assert!(out.stderr.contains("error a-news"), "{}", out.stderr);
    assert!(out.stdout.contains("b-hello: sent 2"), "{}", out.stdout);
    assert!(!out.text().contains("interrupted"), "{}", out.text());
    assert_eq!(sandbox.deliveries().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_due_stops_every_campaign_on_an_error_of_the_whole_app() {
    use crate::common::CampaignWriter;
    let sandbox = live_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    for name in ["a-first", "b-second"] {
        CampaignWriter::new(dir.path(), name)
            .recipients(2)
            .text("Hello {{first_name}}")
            .delivery("  concurrency: 1")
            .write();
    }
    // 70009: the UserSig was signed with another key, for every campaign alike.
    sandbox.inject(
        Some(timcast::im::Endpoint::SendMsg),
        timcast::sandbox::Injected::Code(70009),
        100,
    );
    let out = Session::new()
        .current_dir(dir.path())
        .sandbox(&sandbox)
        .args(["run", ".", "--due"])
        .run_async()
        .await;
    assert_eq!(out.code, 1, "{}", out.text());
    assert!(
        out.stderr.contains("error ./b-second.yaml: not tried"),
        "{}",
        out.stderr
    );
    assert!(sandbox.deliveries().is_empty());
}

#[test]
fn report_of_a_campaign_file_that_is_not_there_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    // With a journal there, the name used to be taken as a campaign with no sends (exit 0).
    timcast::journal::State::sqlite(dir.path().join(".timcast/state.db"))
        .open()
        .unwrap();
    let out = Session::new()
        .current_dir(dir.path())
        .args(["report", "nosuch.yaml"])
        .run();
    assert_eq!(out.code, 1, "{}", out.text());
    assert!(out.stderr.contains("nosuch.yaml"), "{}", out.stderr);
}

/// The `report: …` hint an apply printed, as arguments (without the redirection).
fn report_hint(stdout: &str) -> Vec<String> {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("report: "))
        .unwrap_or_else(|| panic!("no report hint in {stdout}"));
    let line = line.split(" > ").next().unwrap_or_default();
    line.split_whitespace().skip(1).map(str::to_owned).collect()
}

#[test]
fn every_report_hint_apply_prints_runs_as_printed() {
    let dir = crate::common::workspace();
    let run = |args: &[&str]| {
        Session::new()
            .current_dir(dir.path())
            .args(args.iter().copied())
            .run()
    };
    // The quick start, then a journal of one's own, then a saved plan.
    let quick = run(&["apply", "--sandbox", "campaigns/welcome.yaml"]).expect_code(0);
    let custom = run(&[
        "apply",
        "--sandbox",
        "--state",
        "state/mine.db",
        "campaigns/chatbot.yaml",
    ])
    .expect_code(0);
    run(&["plan", "campaigns/promotion.yaml", "--out", "promo.plan"]).expect_code(0);
    let saved = run(&["apply", "--sandbox", "promo.plan"]).expect_code(0);
    for applied in [quick, custom, saved] {
        let hint = report_hint(&applied.stdout);
        assert!(!hint.iter().any(|w| w.ends_with(".plan")), "{hint:?}");
        let report = Session::new().current_dir(dir.path()).args(&hint).run();
        assert_eq!(report.code, 0, "{hint:?}: {}", report.text());
        assert!(
            report.stdout.contains("sent"),
            "{hint:?}: {}",
            report.stdout
        );
    }
}

#[test]
fn report_without_sandbox_after_the_quick_start_suggests_it() {
    let dir = crate::common::workspace();
    Session::new()
        .current_dir(dir.path())
        .args(["apply", "--sandbox", "campaigns/welcome.yaml"])
        .run()
        .expect_code(0);
    let out = Session::new()
        .current_dir(dir.path())
        .args(["report", "campaigns/welcome.yaml"])
        .run();
    assert_eq!(out.code, 1, "{}", out.text());
    assert!(out.stderr.contains("add --sandbox"), "{}", out.stderr);
}

#[test]
fn run_dry_run_does_not_count_campaigns_as_applied() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::CampaignWriter::new(dir.path(), "hello")
        .recipients(2)
        .text("Hello {{first_name}}")
        .write();
    let out = Session::new()
        .current_dir(dir.path())
        .demo_app()
        .endpoint("http://127.0.0.1:9")
        .args(["run", ".", "--due", "--dry-run"])
        .run()
        .expect_code(0);
    assert!(
        out.stdout.contains("would apply ./hello.yaml"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("run: 1 would be applied,"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("1 applied"), "{}", out.stdout);
}
