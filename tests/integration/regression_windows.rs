//! Regressions of recipients' own sending windows (issue 12, items 5 and 11): a `--limit N`
//! canary takes the first N recipients whose window is open now, the plan says how many are,
//! and `run` does not count a campaign whose every recipient waits for a window as applied.

use std::path::Path;

use crate::common::{CampaignWriter, Session};

/// 09:00–17:00 in each recipient's zone; at 03:00 UTC Tokyo (12:00) is inside, New York
/// (22:00 the day before) is not.
const NOW: &str = "2026-11-24T03:00:00Z";

fn campaign(dir: &Path) {
    CampaignWriter::new(dir, "zones")
        .columns(["user_id", "tz"])
        .rows([
            ["ny1", "America/New_York"],
            ["tokyo1", "Asia/Tokyo"],
            ["ny2", "America/New_York"],
            ["tokyo2", "Asia/Tokyo"],
            ["tokyo3", "Asia/Tokyo"],
        ])
        .text("Hello {{user_id}}")
        .schedule(
            "  window:\n    from: \"09:00\"\n    to: \"17:00\"\n    timezone: UTC\n    \
             recipient_timezone_column: tz",
        )
        .write();
}

async fn live_sandbox() -> timcast::sandbox::SandboxHandle {
    let (mut config, _) = crate::common::config();
    config.clock = std::sync::Arc::new(timcast::sandbox::SystemClock);
    crate::common::start(config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_takes_the_first_recipients_whose_window_is_open_now() {
    let sandbox = live_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path());
    let out = Session::new()
        .current_dir(dir.path())
        .sandbox(&sandbox)
        .now(NOW)
        .args(["apply", "zones.yaml", "--yes", "--limit", "2"])
        .run_async()
        .await;
    assert_eq!(out.code, 0, "{}", out.text());
    let mut sent: Vec<String> = sandbox
        .deliveries()
        .iter()
        .map(|d| d.recipient.clone())
        .collect();
    sent.sort();
    assert_eq!(sent, ["tokyo1", "tokyo2"], "{}", out.text());
    assert!(
        !out.text().contains("waiting"),
        "a canary must not wait for a window: {}",
        out.text()
    );
    assert!(
        out.stderr
            .contains("canary done: 3 recipients still pending"),
        "{}",
        out.stderr
    );
}

#[test]
fn plan_says_how_many_are_inside_their_window_now_and_counts_the_wait() {
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path());
    let out = Session::new()
        .current_dir(dir.path())
        .now(NOW)
        .args(["plan", "zones.yaml", "--format", "json"])
        .run()
        .expect_code(0);
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(plan["pending"], 5, "{plan}");
    assert_eq!(plan["inside_window_now"], 3, "{plan}");
    // New York's window opens at 14:00 UTC, 11 hours after "now".
    let seconds = plan["estimated_seconds"].as_f64().unwrap();
    assert!(seconds >= 11.0 * 3600.0, "{seconds}");
    let text = Session::new()
        .current_dir(dir.path())
        .now(NOW)
        .args(["plan", "zones.yaml"])
        .run()
        .expect_code(0);
    assert!(
        text.stdout
            .contains("3 inside their window now, the rest wait for theirs"),
        "{}",
        text.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_does_not_count_a_campaign_whose_every_recipient_is_outside_their_window_as_applied() {
    let sandbox = live_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path());
    // 23:00 UTC: 08:00 in Tokyo, 18:00 in New York, both outside 09:00-17:00.
    let out = Session::new()
        .current_dir(dir.path())
        .sandbox(&sandbox)
        .now("2026-11-24T23:00:00Z")
        .args(["run", ".", "--due"])
        .run_async()
        .await;
    assert_eq!(out.code, 0, "{}", out.text());
    assert!(sandbox.deliveries().is_empty());
    assert!(
        out.stdout.contains(
            "skip ./zones.yaml: all 5 pending recipients are outside their sending window now"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("run: 0 applied, 1 skipped,"),
        "{}",
        out.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_may_end_at_24_00() {
    let sandbox = live_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let evening = |from: &str| {
        CampaignWriter::new(dir.path(), "evening")
            .recipients(2)
            .text("Good evening {{first_name}}")
            .schedule(&format!(
                "  window: {{ from: \"{from}\", to: \"24:00\", timezone: UTC }}"
            ))
            .write()
    };
    evening("18:00");
    Session::new()
        .current_dir(dir.path())
        .args(["validate", "evening.yaml"])
        .run()
        .expect_code(0);
    let at = |now: &str| {
        Session::new()
            .current_dir(dir.path())
            .sandbox(&sandbox)
            .now(now)
            .args(["apply", "evening.yaml", "--yes", "--no-wait"])
    };
    let before = at("2026-11-24T17:59:00Z").run_async().await.expect_code(0);
    assert!(
        before
            .stdout
            .contains("outside the sending window until 2026-11-24T18:00:00Z"),
        "{}",
        before.text()
    );
    assert!(sandbox.deliveries().is_empty());
    let late = at("2026-11-24T23:59:00Z").run_async().await.expect_code(0);
    assert_eq!(sandbox.deliveries().len(), 2, "{}", late.text());

    evening("24:00");
    let out = Session::new()
        .current_dir(dir.path())
        .args(["validate", "evening.yaml"])
        .run();
    assert_eq!(out.code, 1, "{}", out.text());
    assert!(
        out.stdout.contains("a window cannot start at 24:00"),
        "{}",
        out.stdout
    );
}
