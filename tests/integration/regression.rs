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
