//! Regression tests for issue 12's defects in `validate` and `plan` output: messages over the
//! API's limits, bad rows beyond the listed sample, the `on_bad_row: skip` hint, and
//! `--against-git` for a campaign a pull request adds. One per defect, named after what it
//! guards; each failed before its fix.

use std::path::Path;

use crate::common::{CampaignWriter, Outcome, Session};

/// `timcast ARGS...` from `dir`.
fn timcast(dir: &Path, args: &[&str]) -> Outcome {
    Session::new()
        .current_dir(dir)
        .args(args.iter().copied())
        .run()
}

/// Ten recipients with a first name; the message is `text`.
fn sized(dir: &Path, text: &str) -> CampaignWriter {
    CampaignWriter::new(dir, "sized").recipients(10).text(text)
}

#[test]
fn validate_rejects_a_message_of_vars_over_the_size_limit_at_its_template() {
    let dir = tempfile::tempdir().unwrap();
    let terms = "x".repeat(20 * 1024);
    sized(dir.path(), "{{terms}}")
        .section("vars", &format!("  terms: {terms}"))
        .write();
    let out = timcast(dir.path(), &["validate", "sized.yaml"]);
    // It used to pass, and `plan` then failed every row.
    assert_eq!(out.code, 1, "{}", out.text());
    assert!(
        out.stdout.contains(
            "sized.yaml:6:11: the message is 20544 bytes; the API takes at most 12288 (12 KB)"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("shorten `vars.terms` (20480 bytes)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("sized.yaml: 1 error"), "{}", out.stdout);
}

#[test]
fn validate_rejects_literal_text_over_the_size_limit_whatever_the_csv_holds() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("Hi {{{{first_name}}}} {}", "y".repeat(13_000));
    sized(dir.path(), &text).write();
    let out = timcast(dir.path(), &["validate", "sized.yaml"]);
    assert_eq!(out.code, 1, "{}", out.text());
    assert!(
        out.stdout.contains("the message is at least 13"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("whatever the CSV holds"),
        "{}",
        out.stdout
    );
}

#[test]
fn validate_rejects_push_text_of_vars_over_3_kb() {
    let dir = tempfile::tempdir().unwrap();
    let desc = "z".repeat(4000);
    sized(dir.path(), "Hi {{first_name}}")
        .section("push", &format!("  desc: \"{desc}\""))
        .write();
    let out = timcast(dir.path(), &["validate", "sized.yaml"]);
    assert_eq!(out.code, 1, "{}", out.text());
    assert!(
        out.stdout.contains(
            "sized.yaml:8:9: push desc + ext are 4000 bytes; keep them within 3072 (3 KB) for APNs"
        ),
        "{}",
        out.stdout
    );
}

/// A campaign of `bad` rows with no user ID, then `good` rows that can be sent.
fn bad_rows(dir: &Path, bad: usize, good: usize) {
    let rows = (0..bad)
        .map(|i| [String::new(), format!("Bad{i}")])
        .chain((0..good).map(|i| [format!("u{i}"), format!("Good{i}")]));
    CampaignWriter::new(dir, "rows")
        .columns(["user_id", "first_name"])
        .rows(rows)
        .text("Hi {{first_name}}")
        .write();
}

#[test]
fn plan_counts_the_bad_rows_it_does_not_list() {
    let dir = tempfile::tempdir().unwrap();
    bad_rows(dir.path(), 25, 3);
    let out = timcast(dir.path(), &["plan", "rows.yaml"]);
    assert_eq!(out.code, 1, "{}", out.text());
    assert_eq!(out.stdout.matches("  ✗ row ").count(), 20, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("  ✗ row 21: the user ID is empty\n  … and 5 more rows\n"),
        "{}",
        out.stdout
    );
    let out = timcast(dir.path(), &["plan", "rows.yaml", "--format", "markdown"]);
    assert!(
        out.stdout.contains("Rows that cannot be sent (25)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("- row 21: the user ID is empty\n- … and 5 more rows\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn plan_suggests_on_bad_row_skip_only_when_someone_is_left_to_send_to() {
    let dir = tempfile::tempdir().unwrap();
    bad_rows(dir.path(), 4, 0);
    let out = timcast(dir.path(), &["plan", "rows.yaml"]);
    assert_eq!(out.code, 1, "{}", out.text());
    assert!(
        out.stdout.contains(
            "no row can be sent: 4 rows have problems and no other recipient is left; fix the data or the template"
        ),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("on_bad_row: skip"), "{}", out.stdout);
    // With someone left, skipping is worth suggesting.
    bad_rows(dir.path(), 4, 2);
    let out = timcast(dir.path(), &["plan", "rows.yaml"]);
    assert!(
        out.stdout.contains(
            "4 rows cannot be sent: fix them, or set `audience.on_bad_row: skip` to send to the other 2 recipients"
        ),
        "{}",
        out.stdout
    );
}

/// A Git repository in `dir` with one commit, which `campaigns/old.yaml` is in.
fn repository(dir: &Path) {
    let git = |args: &[&str]| {
        let status = std::process::Command::new("git")
            .current_dir(dir)
            .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
            .args(args)
            .status()
            .unwrap();
        assert!(status.success());
    };
    CampaignWriter::new(dir.join("campaigns"), "old")
        .recipients(2)
        .write();
    git(&["init", "-q", "."]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "first"]);
}

#[test]
fn plan_against_git_shows_a_campaign_new_in_the_pull_request_as_all_added() {
    let dir = tempfile::tempdir().unwrap();
    repository(dir.path());
    CampaignWriter::new(dir.path().join("campaigns"), "fresh")
        .recipients(3)
        .write();
    let out = timcast(
        dir.path(),
        &["plan", "campaigns/fresh.yaml", "--against-git", "HEAD"],
    );
    // It used to fail: "path 'campaigns/fresh.yaml' exists on disk, but not in 'HEAD'".
    assert_eq!(out.code, 0, "{}", out.text());
    assert!(
        out.stdout.contains(
            "Changes since HEAD:campaigns/fresh.yaml (a new campaign: all of it is added):\n"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("  + name: \"fresh\"\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("  audience: +3 added, -0 removed, 0 kept"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("  + message[0].text: \"Hello\"\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn plan_against_git_labels_the_campaign_by_its_path_from_the_repository_root() {
    let dir = tempfile::tempdir().unwrap();
    repository(dir.path());
    let out = timcast(
        &dir.path().join("campaigns"),
        &[
            "plan",
            "old.yaml",
            "--against-git",
            "HEAD",
            "--format",
            "markdown",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.text());
    assert!(
        out.stdout
            .contains("Changes since <code>HEAD:campaigns/old.yaml</code>"),
        "{}",
        out.stdout
    );
}
