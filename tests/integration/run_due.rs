#![allow(clippy::unwrap_used)]
//! `timcast run DIR --due` and `timcast apply --no-wait` as processes, against the sandbox on
//! 127.0.0.1, with "now" pinned by the hidden `TIMCAST_NOW` testing aid: which campaigns are
//! applied and which skipped (and why), exit codes, the lock that keeps a second concurrent
//! run off a campaign, and a campaign that is not sent twice.

use crate::common::{self, CampaignWriter, Session};

use std::collections::BTreeMap;
use std::path::Path;

use timcast::journal::State;
use timcast::sandbox::{SandboxHandle, SystemClock};

/// A Tuesday, 03:00 UTC.
const NOW: &str = "2026-11-24T03:00:00Z";

async fn sandbox() -> SandboxHandle {
    let (mut config, _) = common::config();
    config.clock = std::sync::Arc::new(SystemClock);
    common::start(config).await
}

/// Writes campaign `name` (2 recipients `{name}-a`, `{name}-b`, in `data/{name}.csv`) into
/// `dir`, with a `schedule` section unless `schedule` is empty.
fn campaign(dir: &Path, name: &str, schedule: &str) {
    let writer = CampaignWriter::new(dir, name)
        .csv_at(&format!("data/{name}.csv"))
        .user_ids([format!("{name}-a"), format!("{name}-b")]);
    if schedule.is_empty() {
        writer.write()
    } else {
        writer.schedule(schedule).write()
    };
}

fn per_campaign(sandbox: &SandboxHandle) -> BTreeMap<String, usize> {
    let mut map = BTreeMap::new();
    for d in sandbox.deliveries() {
        let name = d.recipient.rsplit_once('-').unwrap().0.to_owned();
        *map.entry(name).or_default() += 1;
    }
    map
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_due_applies_what_is_due_and_skips_the_rest_with_a_reason() {
    let sandbox = sandbox().await;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("campaigns");
    campaign(&dir, "plain", "");
    campaign(
        &dir,
        "started",
        "  at: 2026-11-24T02:00:00Z\n  not_after: 2026-11-25T00:00:00Z",
    );
    campaign(&dir, "future", "  at: 2026-11-27T09:00:00+08:00");
    campaign(&dir, "expired", "  not_after: 2026-11-23T00:00:00Z");
    campaign(
        &dir,
        "evening",
        "  window: { from: \"18:00\", to: \"22:00\", timezone: UTC }",
    );
    campaign(
        &dir,
        "tokyo",
        "  window: { from: \"09:00\", to: \"17:00\", timezone: Asia/Tokyo, days: [tue] }",
    );
    // A subdirectory is not read: campaigns keep data and drafts there.
    std::fs::write(dir.join("data/draft.yaml"), "not: a campaign").unwrap();
    std::fs::write(dir.join("notes.txt"), "not yaml").unwrap();

    let out = Session::new()
        .current_dir(root.path())
        .sandbox(&sandbox)
        .now(NOW)
        .args(["run", "campaigns", "--due"])
        .run_async()
        .await;
    let stdout = &out.stdout;
    let stderr = &out.stderr;
    assert_eq!(out.code, 0, "{stdout}\n{stderr}");
    for line in [
        "skip campaigns/evening.yaml: outside the sending window until 2026-11-24T18:00:00Z",
        "skip campaigns/expired.yaml: past not_after (2026-11-23T00:00:00Z)",
        "skip campaigns/future.yaml: not due until 2026-11-27T01:00:00Z",
        "apply campaigns/plain.yaml: plain: 2 to send",
        "apply campaigns/started.yaml: started: 2 to send",
        "apply campaigns/tokyo.yaml: tokyo: 2 to send",
        "run: 3 applied, 3 skipped, 0 with errors, 0 with failed sends",
    ] {
        assert!(
            stdout.contains(line),
            "missing `{line}` in:\n{stdout}\n{stderr}"
        );
    }
    assert_eq!(
        per_campaign(&sandbox),
        BTreeMap::from([
            ("plain".to_owned(), 2),
            ("started".to_owned(), 2),
            ("tokyo".to_owned(), 2)
        ])
    );
    // No project file and no Git work tree: the journal is in the campaigns' directory.
    assert!(dir.join(".timcast/state.db").exists());

    // The next call finds nothing left; a new invalid campaign makes it exit 1, and a dry run
    // says what it would do without sending.
    std::fs::write(dir.join("broken.yml"), "version: 1\nname: broken\n").unwrap();
    let out = Session::new()
        .current_dir(root.path())
        .sandbox(&sandbox)
        .now(NOW)
        .args(["run", "campaigns", "--due"])
        .run_async()
        .await;
    let stdout = &out.stdout;
    let stderr = &out.stderr;
    assert_eq!(out.code, 1, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("skip campaigns/plain.yaml: nothing to send"),
        "{stdout}"
    );
    assert!(stderr.contains("error campaigns/broken.yml"), "{stderr}");
    assert_eq!(sandbox.deliveries().len(), 6, "nothing sent twice");

    // Later that evening the window is open.
    let out = Session::new()
        .current_dir(root.path())
        .sandbox(&sandbox)
        .now("2026-11-24T19:00:00Z")
        .args(["run", "campaigns", "--due", "--dry-run"])
        .run_async()
        .await;
    let stdout = &out.stdout;
    assert!(
        stdout.contains("would apply campaigns/evening.yaml"),
        "{stdout}"
    );
    assert_eq!(sandbox.deliveries().len(), 6, "a dry run sends nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_another_process_is_applying_is_skipped() {
    let sandbox = sandbox().await;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("campaigns");
    campaign(&dir, "busy", "");
    campaign(&dir, "free", "");
    let state = root.path().join("custom/state.db");
    let journal = State::sqlite(&state).open().unwrap();
    let held = journal.lock("busy").unwrap();

    let out = Session::new()
        .current_dir(root.path())
        .sandbox(&sandbox)
        .now(NOW)
        .args(["run", "campaigns", "--due", "--state"])
        .arg(&state)
        .run_async()
        .await;
    let stdout = &out.stdout;
    assert_eq!(out.code, 0, "{stdout}\n{}", out.stderr);
    assert!(
        stdout.contains("skip campaigns/busy.yaml: already running (locked)"),
        "{stdout}"
    );
    assert_eq!(
        per_campaign(&sandbox),
        BTreeMap::from([("free".to_owned(), 2)])
    );

    // Released: the next call sends it.
    drop(held);
    let out = Session::new()
        .current_dir(root.path())
        .sandbox(&sandbox)
        .now(NOW)
        .env("TIMCAST_STATE", &state)
        .args(["run", "campaigns", "--due"])
        .run_async()
        .await;
    assert_eq!(out.code, 0);
    assert_eq!(per_campaign(&sandbox).get("busy"), Some(&2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_no_wait_exits_0_before_the_start_and_apply_waits_otherwise() {
    let sandbox = sandbox().await;
    let root = tempfile::tempdir().unwrap();
    campaign(
        root.path(),
        "later",
        "  at: 2026-11-24T05:00:00Z\n  not_after: 2026-11-24T06:00:00Z",
    );

    let out = Session::new()
        .current_dir(root.path())
        .sandbox(&sandbox)
        .now(NOW)
        .args(["apply", "later.yaml", "--yes", "--no-wait"])
        .run_async()
        .await;
    let stdout = &out.stdout;
    assert_eq!(out.code, 0, "{stdout}{}", out.stderr);
    assert!(
        stdout.contains("later: not due until 2026-11-24T05:00:00Z; nothing sent (--no-wait)"),
        "{stdout}"
    );
    assert!(sandbox.deliveries().is_empty());

    // Past `not_after`: refused.
    let out = Session::new()
        .current_dir(root.path())
        .sandbox(&sandbox)
        .now("2026-11-24T07:00:00Z")
        .args(["apply", "later.yaml", "--yes"])
        .run_async()
        .await;
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("schedule.not_after"));

    // Without --no-wait it waits for `at` (the pinned clock lets the wait pass at once).
    let out = Session::new()
        .current_dir(root.path())
        .sandbox(&sandbox)
        .now(NOW)
        .args(["apply", "later.yaml", "--yes"])
        .run_async()
        .await;
    let stderr = &out.stderr;
    assert_eq!(out.code, 0, "{}{stderr}", out.stdout);
    assert!(stderr.contains("apply waits until then"), "{stderr}");
    assert_eq!(sandbox.deliveries().len(), 2);
}

#[test]
fn run_requires_due_and_a_readable_directory() {
    let out = Session::new().args(["run", "campaigns"]).run();
    assert_eq!(out.code, 1);
    let root = tempfile::tempdir().unwrap();
    let out = Session::new()
        .current_dir(root.path())
        .args(["run", "missing", "--due"])
        .run();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("cannot read the campaign directory missing")
    );
}
