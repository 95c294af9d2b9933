#![allow(clippy::unwrap_used)]
//! Schedules in the executor, on a virtual clock whose sleeps pass at once: waiting for
//! `schedule.at`, refusing past `not_after`, pausing outside the window and resuming, a window
//! that closes mid-run, per-recipient time zones, and an interrupted send that a wait would
//! carry past its duplicate window. Assertions are on what the sandbox delivered, and in which
//! order; nothing here sleeps on the wall clock.

use crate::common::{self, CampaignWriter};

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use timcast::apply::{ApplyOptions, RunSummary, Stop, apply_file};
use timcast::journal::State;
use timcast::sandbox::{SandboxHandle, SystemClock};
use timcast::schedule::{Clock, FixedClock, Sleep};

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Campaigns here have a `tz` column and send fast, one call at a time.
const COLUMNS: [&str; 2] = ["user_id", "tz"];
const DELIVERY: &str =
    "  rate: 100000\n  recipients_per_minute: 10000000\n  batch: auto\n  concurrency: 1";
/// Each recipient their own message: one sendmsg each.
const PERSONAL: &str = "Hi {{user_id}}, the sale is on";
/// A message they share: batches.
const SHARED: &str = "The sale is on";

fn users(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| (format!("u{i:02}"), String::new()))
        .collect()
}

async fn sandbox() -> SandboxHandle {
    let (mut config, _) = common::config();
    config.clock = Arc::new(SystemClock);
    common::start(config).await
}

fn options(dir: &Path, clock: Arc<dyn Clock>, wait: bool) -> ApplyOptions {
    let mut o = ApplyOptions::new(State::sqlite(dir.join("state.db")));
    o.clock = clock;
    o.wait_for_schedule = wait;
    o
}

async fn run(path: &Path, options: &ApplyOptions, sandbox: &SandboxHandle) -> RunSummary {
    // A wait on the wall clock would hang here: the virtual clock must make every wait instant.
    tokio::time::timeout(
        Duration::from_secs(20),
        apply_file(path, options, common::client(sandbox), Stop::new()),
    )
    .await
    .expect("the run waited on the wall clock")
    .unwrap()
}

/// Recipients in the order the sandbox received them.
fn delivered(sandbox: &SandboxHandle) -> Vec<String> {
    let mut d = sandbox.deliveries();
    d.sort_by_key(|d| d.seq);
    d.into_iter().map(|d| d.recipient).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_waits_for_schedule_at_and_no_wait_leaves_it_pending() {
    let dir = tempfile::tempdir().unwrap();
    let rows = users(3);
    let path = CampaignWriter::new(dir.path(), "start")
        .columns(COLUMNS)
        .rows(rows.iter().map(|(user, tz)| [user, tz]))
        .text(PERSONAL)
        .delivery(DELIVERY)
        .schedule("  at: 2026-11-27T09:00:00+08:00")
        .write();
    let sandbox = sandbox().await;
    let clock = FixedClock::new(t("2026-11-27T00:00:00Z"));

    let summary = run(
        &path,
        &options(dir.path(), Arc::new(clock.clone()), false),
        &sandbox,
    )
    .await;
    assert_eq!((summary.sent, summary.deferred), (0, 3), "{summary:?}");
    assert_eq!(summary.deferred_until, Some(t("2026-11-27T01:00:00Z")));
    assert!(sandbox.deliveries().is_empty());
    assert_eq!(
        clock.now(),
        t("2026-11-27T00:00:00Z"),
        "--no-wait never waits"
    );

    let summary = run(
        &path,
        &options(dir.path(), Arc::new(clock.clone()), true),
        &sandbox,
    )
    .await;
    assert_eq!((summary.sent, summary.deferred), (3, 0), "{summary:?}");
    assert_eq!(
        clock.now(),
        t("2026-11-27T01:00:00Z"),
        "waited exactly until `at`"
    );
    assert_eq!(delivered(&sandbox).len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_sent_past_not_after_on_the_run_clock() {
    let dir = tempfile::tempdir().unwrap();
    let rows = users(3);
    let path = CampaignWriter::new(dir.path(), "late")
        .columns(COLUMNS)
        .rows(rows.iter().map(|(user, tz)| [user, tz]))
        .text(PERSONAL)
        .delivery(DELIVERY)
        .schedule("  not_after: 2026-11-27T21:00:00+08:00")
        .write();
    let sandbox = sandbox().await;
    let clock = Arc::new(FixedClock::new(t("2026-11-27T13:00:01Z")));
    let summary = run(&path, &options(dir.path(), clock, true), &sandbox).await;
    assert_eq!((summary.sent, summary.not_started), (0, 3), "{summary:?}");
    assert!(
        summary.held_back.as_deref().unwrap().contains("not_after"),
        "{summary:?}"
    );
    assert!(sandbox.deliveries().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_the_window_apply_pauses_until_it_opens() {
    let dir = tempfile::tempdir().unwrap();
    let rows = users(4);
    let path = CampaignWriter::new(dir.path(), "window")
        .columns(COLUMNS)
        .rows(rows.iter().map(|(user, tz)| [user, tz]))
        .text(SHARED)
        .delivery(DELIVERY)
        .schedule("  window: { from: \"09:00\", to: \"17:00\", timezone: Asia/Shanghai }")
        .write();
    let sandbox = sandbox().await;
    // 22:00 in Shanghai.
    let clock = FixedClock::new(t("2026-11-24T14:00:00Z"));
    let summary = run(
        &path,
        &options(dir.path(), Arc::new(clock.clone()), false),
        &sandbox,
    )
    .await;
    assert_eq!((summary.sent, summary.deferred), (0, 4), "{summary:?}");
    assert_eq!(summary.deferred_until, Some(t("2026-11-25T01:00:00Z")));

    let summary = run(
        &path,
        &options(dir.path(), Arc::new(clock.clone()), true),
        &sandbox,
    )
    .await;
    assert_eq!(summary.sent, 4, "{summary:?}");
    assert_eq!(
        clock.now(),
        t("2026-11-25T01:00:00Z"),
        "resumed at 09:00 local"
    );
}

/// A clock that moves one minute on every look: the window closes while the run goes on.
#[derive(Debug)]
struct Ticking(Mutex<Timestamp>);

impl Clock for Ticking {
    fn now(&self) -> Timestamp {
        let mut now = self.0.lock().unwrap();
        let seen = *now;
        *now = seen + SignedDuration::from_mins(1);
        seen
    }
    fn sleep_until(&self, until: Timestamp) -> Sleep<'_> {
        let mut now = self.0.lock().unwrap();
        if *now < until {
            *now = until;
        }
        Box::pin(async {})
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_that_closes_mid_run_pauses_the_rest_until_it_opens_again() {
    let dir = tempfile::tempdir().unwrap();
    let rows = users(20);
    let schedule = "  window: { from: \"09:00\", to: \"09:10\", timezone: UTC }";
    let sandbox = sandbox().await;

    // Without waiting (run --due): ten minutes of window, one send a minute, the rest pending.
    let path = CampaignWriter::new(dir.path(), "closing")
        .columns(COLUMNS)
        .rows(rows.iter().map(|(user, tz)| [user, tz]))
        .text(PERSONAL)
        .delivery(DELIVERY)
        .schedule(schedule)
        .write();
    let clock = Arc::new(Ticking(Mutex::new(t("2026-11-24T09:00:00Z"))));
    let summary = run(&path, &options(dir.path(), clock, false), &sandbox).await;
    assert_eq!((summary.sent, summary.deferred), (10, 10), "{summary:?}");
    assert_eq!(summary.deferred_until, Some(t("2026-11-25T09:00:00Z")));
    let first: Vec<String> = rows[..10].iter().map(|r| r.0.clone()).collect();
    // concurrency 1: one call at a time, so deliveries come in row order.
    assert_eq!(delivered(&sandbox), first);

    // Waiting (apply): the same, then the rest the next morning.
    let path = CampaignWriter::new(dir.path(), "closing2")
        .columns(COLUMNS)
        .rows(rows.iter().map(|(user, tz)| [user, tz]))
        .text(PERSONAL)
        .delivery(DELIVERY)
        .schedule(schedule)
        .write();
    let clock = Arc::new(Ticking(Mutex::new(t("2026-11-24T09:00:00Z"))));
    let summary = run(&path, &options(dir.path(), clock.clone(), true), &sandbox).await;
    assert_eq!((summary.sent, summary.deferred), (20, 0), "{summary:?}");
    assert!(clock.now() > t("2026-11-25T09:00:00Z"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_recipient_is_sent_inside_their_own_window() {
    let dir = tempfile::tempdir().unwrap();
    // At 03:00 UTC: 12:00 in Tokyo and 11:00 in Shanghai (open); 03:00 in London, at +00:00
    // and in UTC, the fallback for an empty zone (opens 09:00 UTC); 22:00 in New York (opens
    // 14:00).
    let rows = [
        ("ny1", "America/New_York"),
        ("tokyo1", "Asia/Tokyo"),
        ("london1", "Europe/London"),
        ("offset1", "+00:00"),
        ("sh1", "Asia/Shanghai"),
        ("empty1", ""),
        ("tokyo2", "Asia/Tokyo"),
        ("ny2", "America/New_York"),
    ];
    let schedule = "  window:\n    from: \"09:00\"\n    to: \"17:00\"\n    timezone: UTC\n    \
                    recipient_timezone_column: tz";
    let sandbox = sandbox().await;
    let now = t("2026-11-24T03:00:00Z");

    // Shared content, so batches form, one per zone.
    let path = CampaignWriter::new(dir.path(), "zones")
        .columns(COLUMNS)
        .rows(rows.iter().map(|(user, tz)| [user, tz]))
        .text(SHARED)
        .delivery(DELIVERY)
        .schedule(schedule)
        .write();
    let summary = run(
        &path,
        &options(dir.path(), Arc::new(FixedClock::new(now)), false),
        &sandbox,
    )
    .await;
    assert_eq!((summary.sent, summary.deferred), (3, 5), "{summary:?}");
    assert_eq!(summary.deferred_until, Some(t("2026-11-24T09:00:00Z")));
    let mut open: Vec<String> = delivered(&sandbox);
    open.sort();
    assert_eq!(open, ["sh1", "tokyo1", "tokyo2"]);

    // Waiting: the rest as their windows open, London and the fallback zone before New York.
    let clock = FixedClock::new(now);
    let summary = run(
        &path,
        &options(dir.path(), Arc::new(clock.clone()), true),
        &sandbox,
    )
    .await;
    assert_eq!((summary.sent, summary.deferred), (5, 0), "{summary:?}");
    let order = delivered(&sandbox);
    let position = |who: &str| order.iter().position(|r| r == who).unwrap();
    for early in ["london1", "offset1", "empty1"] {
        for late in ["ny1", "ny2"] {
            assert!(position(early) < position(late), "{order:?}");
        }
    }
    assert_eq!(clock.now(), t("2026-11-24T14:00:00Z"));
    assert_eq!(order.len(), 8, "each recipient exactly once: {order:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_send_is_not_resent_after_waiting_for_the_window() {
    use timcast::journal::SendState;
    let dir = tempfile::tempdir().unwrap();
    let rows = users(2);
    let path = CampaignWriter::new(dir.path(), "resume")
        .columns(COLUMNS)
        .rows(rows.iter().map(|(user, tz)| [user, tz]))
        .text(PERSONAL)
        .delivery(DELIVERY)
        .schedule("  window: { from: \"09:00\", to: \"17:00\", timezone: UTC }")
        .write();
    let sandbox = sandbox().await;
    let inside = Arc::new(FixedClock::new(t("2026-11-24T10:00:00Z")));
    let options_inside = options(dir.path(), inside, true);
    assert_eq!(run(&path, &options_inside, &sandbox).await.sent, 2);

    // As if the run died with u00's call in flight a few seconds ago: inside the duplicate
    // window, an identical resend would be safe now, but not after a wait of hours.
    let mut journal = options_inside.state.open().unwrap();
    let mut record = journal
        .records("resume")
        .unwrap()
        .into_iter()
        .find(|r| r.recipient == "u00")
        .unwrap();
    let now = timcast::apply::now_ms();
    record.state = SendState::Intent;
    record.msg_key = None;
    record.intent_at_ms = now - 3_000;
    record.updated_at_ms = now - 3_000;
    journal.upsert(&[record]).unwrap();
    drop(journal);

    let outside = Arc::new(FixedClock::new(t("2026-11-24T20:00:00Z")));
    let summary = run(&path, &options(dir.path(), outside, true), &sandbox).await;
    assert_eq!(
        (
            summary.sent,
            summary.resent_in_window,
            summary.skipped_uncertain
        ),
        (0, 0, 1),
        "{summary:?}"
    );
    assert_eq!(delivered(&sandbox).len(), 2);
}
