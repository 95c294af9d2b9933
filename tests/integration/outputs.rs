//! What `apply`, `run --due` and `recall` print, snapshotted like plans and reports: a user
//! reads these lines after every run. Durations and temporary paths are replaced so the
//! snapshots are stable.

use std::sync::Arc;

use timcast::sandbox::{SandboxHandle, SystemClock};

use crate::common::{self, CampaignWriter, Session};

/// The output with what changes between runs replaced: seconds, the scratch directory.
fn stable(text: &str, dir: &std::path::Path) -> String {
    let text = text.replace(&dir.display().to_string(), "[dir]");
    let mut out = String::new();
    for line in text.lines() {
        let words: Vec<String> = line
            .split(' ')
            .map(|w| {
                let number = w.trim_end_matches(',');
                if number.contains('.') && number.parse::<f64>().is_ok() {
                    "[n]".to_owned()
                } else {
                    w.to_owned()
                }
            })
            .collect();
        out.push_str(&words.join(" "));
        out.push('\n');
    }
    out
}

async fn sandbox() -> SandboxHandle {
    let (mut config, _) = common::config();
    config.clock = Arc::new(SystemClock);
    common::start(config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_then_recall_print_what_happened() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let path = CampaignWriter::new(dir.path(), "shipped")
        .recipients(3)
        .text("Hi {{first_name}}, your order shipped")
        .write();
    let path = path.to_string_lossy().into_owned();
    let session = || Session::new().current_dir(dir.path()).sandbox(&sandbox);
    let applied = session()
        .args(["apply", &path, "--yes"])
        .run_async()
        .await
        .expect_code(0);
    let again = session()
        .args(["apply", &path, "--yes"])
        .run_async()
        .await
        .expect_code(0);
    let recalled = session()
        .args(["recall", &path, "--yes"])
        .run_async()
        .await
        .expect_code(0);
    insta::assert_snapshot!(
        "apply_then_recall",
        stable(
            &format!(
                "$ timcast apply --yes\n{}{}$ timcast apply --yes (again)\n{}{}$ timcast recall --yes\n{}{}",
                applied.stdout,
                applied.stderr,
                again.stdout,
                again.stderr,
                recalled.stdout,
                recalled.stderr
            ),
            dir.path()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_due_prints_one_line_per_campaign_and_a_total() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    CampaignWriter::new(dir.path(), "a-due")
        .recipients(2)
        .text("Hello {{first_name}}")
        .write();
    CampaignWriter::new(dir.path(), "b-later")
        .recipients(2)
        .text("Later, {{first_name}}")
        .schedule("  at: 2026-12-24T09:00:00Z")
        .write();
    std::fs::write(
        dir.path().join("c-broken.yaml"),
        "version: 1\nname: broken\n",
    )
    .unwrap();
    let run = Session::new()
        .current_dir(dir.path())
        .sandbox(&sandbox)
        .now("2026-12-01T12:00:00Z")
        .args(["run", ".", "--due"])
        .run_async()
        .await
        .expect_code(1);
    insta::assert_snapshot!(
        "run_due",
        stable(
            &format!("--- stdout\n{}--- stderr\n{}", run.stdout, run.stderr),
            dir.path()
        )
    );
}
