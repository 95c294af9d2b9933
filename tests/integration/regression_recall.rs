//! Regressions of `recall` (issue 12, item 12): the plan shows withdrawn recipients as
//! `recalled`, and recall has `--dry-run`, `--limit`, `--sandbox` and `--only removed`.

use std::path::Path;

use crate::common::{CampaignWriter, Outcome, Session};

fn timcast(dir: &Path, args: &[&str]) -> Outcome {
    Session::new()
        .current_dir(dir)
        .args(args.iter().copied())
        .run()
}

/// Six personalised recipients, applied in the sandbox.
fn applied(dir: &Path) {
    CampaignWriter::new(dir, "oops")
        .recipients(6)
        .text("Hello {{first_name}}")
        .write();
    timcast(dir, &["apply", "--sandbox", "oops.yaml"]).expect_code(0);
}

fn plan_json(dir: &Path) -> serde_json::Value {
    let out = timcast(dir, &["plan", "--sandbox", "oops.yaml", "--format", "json"]).expect_code(0);
    serde_json::from_str(&out.stdout).unwrap()
}

#[test]
fn after_a_recall_the_plan_shows_the_withdrawn_as_recalled_not_changed() {
    let dir = tempfile::tempdir().unwrap();
    applied(dir.path());
    let out = timcast(
        dir.path(),
        &["recall", "--sandbox", "oops.yaml", "--limit", "2"],
    )
    .expect_code(0);
    assert!(
        out.stdout.contains("oops: recalled 2, failed 0"),
        "{}",
        out.text()
    );
    let plan = plan_json(dir.path());
    assert_eq!(plan["states"]["recalled"], 2, "{plan}");
    assert_eq!(plan["states"]["unchanged"], 4, "{plan}");
    assert_eq!(plan["pending"], 0, "{plan}");
    let text = timcast(dir.path(), &["plan", "--sandbox", "oops.yaml"]).expect_code(0);
    assert!(
        text.stdout
            .contains("2  recalled (withdrawn after it was sent; not resent)"),
        "{}",
        text.stdout
    );
    // The rest can be recalled later; what was recalled is not withdrawn twice.
    let rest = timcast(dir.path(), &["recall", "--sandbox", "oops.yaml"]).expect_code(0);
    assert!(
        rest.stdout.contains("oops: recalled 4, failed 0"),
        "{}",
        rest.text()
    );
    assert_eq!(plan_json(dir.path())["states"]["recalled"], 6);
}

#[test]
fn recall_dry_run_says_what_it_would_withdraw_and_withdraws_nothing() {
    let dir = tempfile::tempdir().unwrap();
    applied(dir.path());
    let out = timcast(
        dir.path(),
        &["recall", "--sandbox", "oops.yaml", "--dry-run"],
    )
    .expect_code(0);
    for line in [
        "oops: would withdraw 6 sent messages",
        "  6 through admin_msgwithdraw (one call each)",
        "  - oops-u1",
        "(dry run: nothing was withdrawn)",
    ] {
        assert!(out.stdout.contains(line), "no `{line}` in {}", out.stdout);
    }
    assert_eq!(plan_json(dir.path())["states"]["unchanged"], 6);
}

#[test]
fn recall_only_removed_withdraws_just_the_recipients_taken_off_the_csv() {
    let dir = tempfile::tempdir().unwrap();
    applied(dir.path());
    // Two people asked to be taken off the list.
    let csv = dir.path().join("oops.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("oops-u2,") && !l.starts_with("oops-u5,"))
        .collect();
    std::fs::write(&csv, kept.join("\n") + "\n").unwrap();
    assert_eq!(plan_json(dir.path())["states"]["removed"], 2);
    let dry = timcast(
        dir.path(),
        &[
            "recall",
            "--sandbox",
            "oops.yaml",
            "--only",
            "removed",
            "--dry-run",
        ],
    )
    .expect_code(0);
    assert!(
        dry.stdout
            .contains("would withdraw 2 sent messages from recipients no longer in the audience"),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout.contains("  - oops-u2") && dry.stdout.contains("  - oops-u5"),
        "{}",
        dry.stdout
    );
    timcast(
        dir.path(),
        &["recall", "--sandbox", "oops.yaml", "--only", "removed"],
    )
    .expect_code(0);
    let plan = plan_json(dir.path());
    assert_eq!(plan["states"]["recalled"], 2, "{plan}");
    assert_eq!(plan["states"]["unchanged"], 4, "{plan}");
    assert!(plan["states"].get("removed").is_none(), "{plan}");
}
