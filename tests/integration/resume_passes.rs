//! A run that picks up where an earlier one stopped (issue 10): its counting pass takes the
//! recipients already sent from their records instead of rendering them again, and its
//! sending pass starts at the first row with something to send. Over the files an earlier
//! run checked, it starts there at once, from the journal's checkpoint.

use crate::common::{CampaignWriter, timcast};

/// Campaign `spring` of 10 recipients with `text`, and a canary that sent to the first 4.
fn after_a_canary_of_4(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    CampaignWriter::new(dir.path(), "spring")
        .recipients(10)
        .text(text)
        .write();
    let canary = timcast(
        dir.path(),
        &["apply", "--sandbox", "spring.yaml", "--limit", "4"],
    )
    .expect_code(0);
    assert!(canary.stdout.contains("sent 4,"), "{}", canary.text());
    dir
}

/// The `report --format csv` rows of recipients sent.
fn reported_sent(dir: &std::path::Path) -> usize {
    let report = timcast(
        dir,
        &["report", "--sandbox", "spring.yaml", "--format", "csv"],
    )
    .expect_code(0);
    report.stdout.matches(",sent,").count()
}

#[test]
fn a_second_apply_starts_sending_at_the_first_row_not_yet_sent() {
    let dir = after_a_canary_of_4("Hello {{first_name}}");
    // Rows 2 to 5 were sent; the header is row 1. The files are those the canary checked,
    // so the run sends from the journal's checkpoint without counting first.
    let rest = timcast(dir.path(), &["-v", "apply", "--sandbox", "spring.yaml"]).expect_code(0);
    assert!(
        rest.stderr
            .contains("spring: resuming at row 6 with about 6 to send"),
        "{}",
        rest.text()
    );
    assert!(
        rest.stderr.contains("sending pass starts at row 6"),
        "{}",
        rest.text()
    );
    assert!(rest.stdout.contains("sent 6,"), "{}", rest.text());
    assert_eq!(reported_sent(dir.path()), 10);
}

#[test]
fn apply_notices_a_message_changed_since_it_was_sent_without_rendering_everyone() {
    let dir = tempfile::tempdir().unwrap();
    let campaign = CampaignWriter::new(dir.path(), "spring").recipients(10);
    campaign.text("Hello {{first_name}}").write();
    timcast(dir.path(), &["apply", "--sandbox", "spring.yaml"]).expect_code(0);
    CampaignWriter::new(dir.path(), "spring")
        .recipients(10)
        .text("Hi again {{first_name}}")
        .write();
    let again = timcast(dir.path(), &["apply", "--sandbox", "spring.yaml"]).expect_code(0);
    assert!(
        again.stdout.contains("spring: nothing to send"),
        "{}",
        again.text()
    );
    assert!(
        again.stderr.contains(
            "recipients already sent got an earlier version of this message (1 of those checked); it is not resent (use --resend-changed"
        ),
        "{}",
        again.text()
    );
    // The plan renders every one of them and counts them all.
    let plan = timcast(dir.path(), &["plan", "--sandbox", "spring.yaml"]).expect_code(0);
    assert!(
        plan.stdout
            .contains("10 recipients got an earlier version of this message"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("nothing to send (10 already sent)"),
        "{}",
        plan.stdout
    );
}

#[test]
fn a_plan_of_a_journal_with_few_of_the_audience_looks_up_only_those_it_may_hold() {
    let dir = tempfile::tempdir().unwrap();
    // Another campaign's 40 records first: spring's 10 are too few of the file's rows for
    // SQLite to stream them, so its recipients are looked up by key.
    CampaignWriter::new(dir.path(), "autumn")
        .recipients(40)
        .text("Hello {{first_name}}")
        .write();
    timcast(dir.path(), &["apply", "--sandbox", "autumn.yaml"]).expect_code(0);
    CampaignWriter::new(dir.path(), "spring")
        .recipients(40)
        .text("Hello {{first_name}}")
        .write();
    timcast(
        dir.path(),
        &["apply", "--sandbox", "spring.yaml", "--limit", "10"],
    )
    .expect_code(0);
    let plan = timcast(
        dir.path(),
        &["-v", "plan", "--sandbox", "spring.yaml", "--format", "json"],
    )
    .expect_code(0);
    assert!(
        plan.stderr
            .contains("the journal holds 10 records for 41 lines of audience"),
        "{}",
        plan.stderr
    );
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(json["pending"], 30, "{}", plan.stdout);
    assert_eq!(json["states"]["unchanged"], 10, "{}", plan.stdout);
    assert_eq!(json["states"]["new"], 30, "{}", plan.stdout);
    // The apply that sends the rest counts the same.
    let rest = timcast(dir.path(), &["apply", "--sandbox", "spring.yaml"]).expect_code(0);
    assert!(rest.stdout.contains("sent 30,"), "{}", rest.text());
}

#[test]
fn a_resumed_apply_counts_again_when_the_audience_changed_and_refuses_a_bad_row() {
    let dir = after_a_canary_of_4("Hello {{first_name}}");
    // A row without a user ID at the end, past the checkpoint's row and every row sent.
    let csv = dir.path().join("spring.csv");
    let mut text = std::fs::read_to_string(&csv).unwrap();
    text.push_str(",Nobody\n");
    std::fs::write(&csv, text).unwrap();
    let refused = timcast(dir.path(), &["apply", "--sandbox", "spring.yaml"]);
    assert_ne!(refused.code, 0, "{}", refused.text());
    assert!(
        !refused.stderr.contains("resuming at row"),
        "{}",
        refused.text()
    );
    assert!(refused.stderr.contains("row 12"), "{}", refused.text());
    assert_eq!(reported_sent(dir.path()), 4);
}

#[test]
fn a_resumed_apply_still_batches_the_recipients_of_a_shared_message() {
    let dir = after_a_canary_of_4("The same for everyone");
    let rest = timcast(dir.path(), &["-v", "apply", "--sandbox", "spring.yaml"]).expect_code(0);
    assert!(rest.stderr.contains("resuming at row"), "{}", rest.text());
    assert!(rest.stdout.contains("sent 6,"), "{}", rest.text());
    // The six share one call, as counted by the run that checked the files.
    assert_eq!(
        rest.stderr.matches("call openim/batchsendmsg: ok").count(),
        1,
        "{}",
        rest.text()
    );
    assert!(
        !rest.stderr.contains("call openim/sendmsg"),
        "{}",
        rest.text()
    );
}
