#![allow(clippy::unwrap_used)]
//! `timcast run DIR --due` and `timcast apply --no-wait` as processes, against the sandbox on
//! 127.0.0.1, with "now" pinned by the hidden `TIMCAST_NOW` testing aid: which campaigns are
//! applied and which skipped (and why), exit codes, the lock that keeps a second concurrent
//! run off a campaign, and a campaign that is not sent twice.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use timcast::im::settings::{DEMO_SDKAPPID, DEMO_SECRET_KEY};
use timcast::journal::State;
use timcast::sandbox::{SandboxHandle, SystemClock};

const BIN: &str = env!("CARGO_BIN_EXE_timcast");
/// A Tuesday, 03:00 UTC.
const NOW: &str = "2026-11-24T03:00:00Z";

fn timcast(dir: &Path, sandbox: &SandboxHandle, now: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_remove("TIMCAST_STATE")
        .env_remove("TIM_REGION")
        .env_remove("TIM_SECRET_KEY_FILE")
        .env("NO_COLOR", "1")
        .env("TIM_ENDPOINT", sandbox.base_url())
        .env("TIM_SDKAPPID", DEMO_SDKAPPID.to_string())
        .env("TIM_ADMIN", common::ADMIN)
        .env("TIM_SECRET_KEY", DEMO_SECRET_KEY)
        .env("TIMCAST_NOW", now)
        .stdin(Stdio::null());
    cmd
}

async fn output(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn sandbox() -> SandboxHandle {
    let (mut config, _) = common::config();
    config.clock = std::sync::Arc::new(SystemClock);
    common::start(config).await
}

/// Writes campaign `name` (2 recipients `{name}-a`, `{name}-b`) into `dir`.
fn campaign(dir: &Path, name: &str, schedule: &str) {
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(
        dir.join(format!("data/{name}.csv")),
        format!("user_id\n{name}-a\n{name}-b\n"),
    )
    .unwrap();
    let schedule = if schedule.is_empty() {
        String::new()
    } else {
        format!("schedule:\n{schedule}\n")
    };
    std::fs::write(
        dir.join(format!("{name}.yaml")),
        format!(
            "version: 1\nname: {name}\naudience:\n  csv: data/{name}.csv\nmessage:\n  - text: \"Hello\"\n{schedule}"
        ),
    )
    .unwrap();
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

    let mut cmd = timcast(root.path(), &sandbox, NOW);
    cmd.args(["run", "campaigns", "--due"]);
    let out = output(cmd).await;
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
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
    assert!(root.path().join(".timcast/state.db").exists());

    // The next call finds nothing left; a new invalid campaign makes it exit 1, and a dry run
    // says what it would do without sending.
    std::fs::write(dir.join("broken.yml"), "version: 1\nname: broken\n").unwrap();
    let mut cmd = timcast(root.path(), &sandbox, NOW);
    cmd.args(["run", "campaigns", "--due"]);
    let out = output(cmd).await;
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("skip campaigns/plain.yaml: nothing to send"),
        "{stdout}"
    );
    assert!(stderr.contains("error campaigns/broken.yml"), "{stderr}");
    assert_eq!(sandbox.deliveries().len(), 6, "nothing sent twice");

    // Later that evening the window is open.
    let mut cmd = timcast(root.path(), &sandbox, "2026-11-24T19:00:00Z");
    cmd.args(["run", "campaigns", "--due", "--dry-run"]);
    let out = output(cmd).await;
    let stdout = text(&out.stdout);
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

    let mut cmd = timcast(root.path(), &sandbox, NOW);
    cmd.args(["run", "campaigns", "--due", "--state"])
        .arg(&state);
    let out = output(cmd).await;
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
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
    let mut cmd = timcast(root.path(), &sandbox, NOW);
    cmd.env("TIMCAST_STATE", &state)
        .args(["run", "campaigns", "--due"]);
    let out = output(cmd).await;
    assert_eq!(out.status.code(), Some(0));
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

    let mut cmd = timcast(root.path(), &sandbox, NOW);
    cmd.args(["apply", "later.yaml", "--yes", "--no-wait"]);
    let out = output(cmd).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("later: not due until 2026-11-24T05:00:00Z; nothing sent (--no-wait)"),
        "{stdout}"
    );
    assert!(sandbox.deliveries().is_empty());

    // Past `not_after`: refused.
    let mut cmd = timcast(root.path(), &sandbox, "2026-11-24T07:00:00Z");
    cmd.args(["apply", "later.yaml", "--yes"]);
    let out = output(cmd).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("schedule.not_after"));

    // Without --no-wait it waits for `at` (the pinned clock lets the wait pass at once).
    let mut cmd = timcast(root.path(), &sandbox, NOW);
    cmd.args(["apply", "later.yaml", "--yes"]);
    let out = output(cmd).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{}{stderr}", text(&out.stdout));
    assert!(stderr.contains("apply waits until then"), "{stderr}");
    assert_eq!(sandbox.deliveries().len(), 2);
}

#[test]
fn run_requires_due_and_a_readable_directory() {
    let out = Command::new(BIN)
        .args(["run", "campaigns"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let root = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .current_dir(root.path())
        .args(["run", "missing", "--due"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot read the campaign directory missing"));
}
