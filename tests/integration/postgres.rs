//! A team's journal in PostgreSQL: `--state postgres://…` runs the same pipeline as SQLite,
//! a runner killed with -9 releases its campaign, two runners of one campaign send once, two
//! campaigns of one app share its rate, `state migrate` copies a journal both ways exactly, and
//! the password never shows.
//!
//! Needs `TIMCAST_TEST_POSTGRES` (see `.ci/postgres.sh`); without it each test says so and
//! returns, unless `TIMCAST_REQUIRE_POSTGRES=1` (CI) makes that a failure.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use rand::RngExt;
use timcast::im::Endpoint;
use timcast::journal::{JournalStore, SendRecord, SendState, SqliteJournal};
use timcast::sandbox::{Faults, LimitModel, Limits, SandboxHandle, SystemClock};

use crate::common::{self, CampaignWriter, Outcome, Session, per_recipient};

const PASSWORD: &str = "pg-Pa55word-never-shown";

/// The test server's URL with a schema of this test's own (and [`PASSWORD`] in it: the test
/// server trusts loopback, so any password works and every output can be checked for it).
pub(crate) fn postgres_url(test: &str) -> Option<String> {
    let url = match std::env::var("TIMCAST_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => url,
        _ if std::env::var("TIMCAST_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
            panic!("TIMCAST_REQUIRE_POSTGRES=1 but TIMCAST_TEST_POSTGRES names no server")
        }
        _ => {
            eprintln!("skipped {test}: set TIMCAST_TEST_POSTGRES (see .ci/postgres.sh)");
            return None;
        }
    };
    let with_password = url.replacen("postgres@", &format!("postgres:{PASSWORD}@"), 1);
    let sep = if url.contains('?') { '&' } else { '?' };
    Some(format!(
        "{with_password}{sep}schema=t_{test}_{:08x}",
        rand::random::<u32>()
    ))
}

fn assert_no_password(what: &str, text: &str) {
    assert!(
        !text.contains(PASSWORD),
        "the password shows in {what}:\n{text}"
    );
}

async fn sandbox(faults: Faults, limits: Limits) -> SandboxHandle {
    let (mut config, _) = common::config();
    config.clock = Arc::new(SystemClock);
    config.limits = limits;
    config.faults = faults;
    common::start(config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_and_resume_with_faults_sends_everyone_once_and_the_password_never_shows() {
    let Some(url) = postgres_url("resume") else {
        return;
    };
    let sandbox = sandbox(
        Faults {
            latency: Duration::from_millis(30),
            fault_rate: 0.05,
            lost_reply_rate: 0.02,
            seed: 7,
            ..Faults::none()
        },
        Limits::documented(),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    // TIMCAST_PG_KILLS=15 for the figure (bench/postgres_kill9.sh).
    let kills = std::env::var("TIMCAST_PG_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(4);
    // Enough recipients that every kill lands mid-run.
    let n = 15 * kills;
    let path = CampaignWriter::new(dir.path(), "team")
        .recipients(n)
        .text("Hi {{first_name}}, your order shipped")
        .delivery("  rate: 60\n  concurrency: 6\n  batch: off")
        .write();
    let apply = || {
        Session::new()
            .current_dir(dir.path())
            .sandbox(&sandbox)
            .env("TIMCAST_STATE", &url)
            .args(["apply", "--yes", "-vv"])
            .arg(&path)
    };
    let mut rng = rand::rng();
    let mut killed_mid_run = 0;
    for _ in 0..kills {
        let mut child = apply().stdout(Stdio::null()).stderr(Stdio::null()).spawn();
        tokio::time::sleep(Duration::from_millis(rng.random_range(150..700))).await;
        if child.try_wait().unwrap().is_none() {
            killed_mid_run += 1;
        }
        child.kill().unwrap(); // SIGKILL: the advisory lock goes with the connection
        let _ = child.wait();
    }
    assert!(
        killed_mid_run >= 2,
        "only {killed_mid_run} kills landed mid-run"
    );
    eprintln!("{kills} kills, {killed_mid_run} landed mid-run");
    let out = apply().run_async().await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_no_password("apply -vv", &out.text());
    let per = per_recipient(&sandbox);
    for i in 0..n {
        assert_eq!(per.get(&format!("team-u{i}")), Some(&1), "team-u{i}");
    }
    // Plans, reports and saved plans name the journal without its password.
    let plan_file = dir.path().join("again.plan");
    for args in [
        vec!["plan", "--format", "json"],
        vec!["plan", "--out", plan_file.to_str().unwrap()],
        vec!["report", "--format", "html"],
        vec!["report", "--format", "markdown"],
        vec!["report", "--format", "csv"],
    ] {
        let out = Session::new()
            .current_dir(dir.path())
            .env("TIMCAST_STATE", &url)
            .args(&args)
            .arg(&path)
            .run_async()
            .await;
        assert!(out.code == 0 || out.code == 2, "{args:?}: {}", out.stderr);
        assert_no_password(&format!("{args:?}"), &out.text());
    }
    assert_no_password(
        "the saved plan",
        &std::fs::read_to_string(&plan_file).unwrap(),
    );
    let info = Session::new()
        .args(["state", "info", "--state", &url])
        .run_async()
        .await
        .expect_code(0);
    let counted = format!("team: {n} recipients ({n} sent)");
    assert!(info.stdout.contains(&counted), "{}", info.stdout);
    assert!(info.stdout.contains("(postgresql)"), "{}", info.stdout);
    assert_no_password("state info", &info.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runners_started_together_on_one_campaign_send_each_recipient_once() {
    let Some(url) = postgres_url("together") else {
        return;
    };
    let sandbox = sandbox(
        Faults {
            latency: Duration::from_millis(20),
            ..Faults::none()
        },
        Limits::documented(),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = CampaignWriter::new(dir.path(), "twice")
        .recipients(80)
        .delivery("  rate: 100\n  batch: off")
        .write();
    // The password from PGPASSWORD this time.
    let url = url.replacen(&format!(":{PASSWORD}@"), "@", 1);
    let runner = || {
        Session::new()
            .current_dir(dir.path())
            .sandbox(&sandbox)
            .env("PGPASSWORD", PASSWORD)
            .args(["apply", "--yes", "-vv", "--state", &url])
            .arg(&path)
            .spawn()
    };
    let (a, b) = (runner(), runner());
    let (a, b) = (Outcome::wait_async(a).await, Outcome::wait_async(b).await);
    let codes = [a.code, b.code];
    assert!(codes.contains(&0), "{}\n{}", a.stderr, b.stderr);
    for out in [&a, &b] {
        assert!(
            out.code == 0 || out.stderr.contains("is being applied by another process"),
            "{}",
            out.stderr
        );
        assert_no_password("a runner", &out.text());
    }
    let per = per_recipient(&sandbox);
    assert_eq!(per.len(), 80);
    assert!(per.values().all(|&n| n == 1), "{per:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_campaigns_of_one_app_applied_at_once_share_its_rate_limit() {
    let Some(url) = postgres_url("budget") else {
        return;
    };
    // The server refuses the 201st call in any second, counted across both campaigns.
    let sandbox = sandbox(
        Faults {
            latency: Duration::from_millis(15),
            latency_jitter: Duration::from_millis(3),
            ..Faults::none()
        },
        Limits {
            model: LimitModel::Sliding,
            calls_per_second: 200,
            ..Limits::documented()
        },
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let runners: Vec<_> = ["spring", "autumn"]
        .into_iter()
        .map(|name| {
            let path = CampaignWriter::new(dir.path(), name)
                .recipients(500)
                .text("Hi {{first_name}}")
                // Each alone would go at 150/s: 300 together, if they did not split the 200.
                .delivery("  rate: 150\n  batch: off")
                .write();
            Session::new()
                .current_dir(dir.path())
                .sandbox(&sandbox)
                .args(["apply", "--yes", "--state", &url])
                .arg(&path)
                .spawn()
        })
        .collect();
    let mut shared = false;
    for child in runners {
        let out = Outcome::wait_async(child).await;
        assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
        shared |= out.stderr.contains("sharing the app's rate limits");
    }
    assert!(shared, "no runner saw the other");
    assert_eq!(sandbox.deliveries().len(), 1000);
    assert_eq!(
        sandbox.stats().rate_limited,
        0,
        "the two together went over 200/s"
    );
}

/// 100,000 records of three campaigns with every state and optional field.
fn journal_of_100k(path: &std::path::Path) -> Vec<SendRecord> {
    let mut journal = SqliteJournal::open(path).unwrap();
    let states = [
        SendState::Sent,
        SendState::Failed,
        SendState::Uncertain,
        SendState::Intent,
        SendState::Recalled,
    ];
    let all: Vec<SendRecord> = (0..100_000u32)
        .map(|i| {
            let mut r = SendRecord::intent(
                ["alpha", "beta", "gamma"][(i % 3) as usize],
                &format!("user-{i}-名前"),
                format!("hash{}", i % 17),
                [Endpoint::SendMsg, Endpoint::BatchSendMsg][(i % 2) as usize],
                &format!("call-{}", i / 7),
                (i.wrapping_mul(2_654_435_761), u32::MAX - i),
                1_700_000_000_000 + i64::from(i),
            );
            r.state = states[(i % 5) as usize];
            if i % 4 == 0 {
                r.msg_key = Some(format!("key-{i}"));
                r.msg_time = Some(1_700_000_000 + i64::from(i));
            }
            if r.state == SendState::Failed {
                r.error_code = Some(20003);
                r.error_text = Some(format!("invalid 'user' {i}; \"quoted\""));
                r.error_class = Some(timcast::im::ErrorClass::PermanentRecipient);
            }
            r.attempts = i % 4;
            r.updated_at_ms = r.intent_at_ms + i64::from(i % 1000);
            r
        })
        .collect();
    for chunk in all.chunks(10_000) {
        journal.upsert(chunk).unwrap();
    }
    journal.mark_plan_applied("plan-1", "alpha", 42).unwrap();
    journal.save_checkpoint("beta", &checkpoint()).unwrap();
    all
}

/// What a run checked of beta's inputs, which a copy keeps.
fn checkpoint() -> timcast::journal::Checkpoint {
    timcast::journal::Checkpoint {
        digest: "digest-of-beta".into(),
        settled_before_row: 33_334,
        shared: vec![0, 1, 2, 255],
        checked_at_ms: 1_700_000_000_000,
    }
}

fn all_records(path: &std::path::Path) -> Vec<SendRecord> {
    let journal = SqliteJournal::open_existing(path).unwrap().unwrap();
    let mut all = Vec::new();
    for campaign in ["alpha", "beta", "gamma"] {
        all.extend(journal.records(campaign).unwrap());
    }
    all.sort_by(|a, b| (&a.campaign, &a.recipient).cmp(&(&b.campaign, &b.recipient)));
    assert!(journal.plan_applied("plan-1").unwrap());
    assert_eq!(journal.checkpoint("beta").unwrap(), Some(checkpoint()));
    assert_eq!(journal.checkpoint("alpha").unwrap(), None);
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_migrate_round_trips_100000_records_between_sqlite_and_postgres_exactly() {
    let Some(url) = postgres_url("migrate") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (first, back) = (dir.path().join("first.db"), dir.path().join("back.db"));
    let mut written = journal_of_100k(&first);
    written.sort_by(|a, b| (&a.campaign, &a.recipient).cmp(&(&b.campaign, &b.recipient)));
    for (from, to) in [
        (first.to_str().unwrap(), url.as_str()),
        (&url, back.to_str().unwrap()),
    ] {
        let out = Session::new()
            .args(["state", "migrate", "--from", from, "--to", to])
            .run_async()
            .await
            .expect_code(0);
        assert!(
            out.stdout.contains("copied 3 campaign(s), 100000 records"),
            "{}",
            out.stdout
        );
        assert_no_password("state migrate", &out.text());
    }
    assert_eq!(all_records(&back), written);
    // Into a journal that already holds those campaigns: refused, nothing mixed.
    let again = Session::new()
        .args([
            "state",
            "migrate",
            "--from",
            first.to_str().unwrap(),
            "--to",
            &url,
        ])
        .run_async()
        .await
        .expect_code(1);
    assert!(
        again
            .stderr
            .contains("already holds records of alpha, beta, gamma"),
        "{}",
        again.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_reads_the_postgres_journal_in_one_stream_whatever_the_audiences_order_now() {
    let Some(url) = postgres_url("ordered") else {
        return;
    };
    a_plan_reads_the_journal_in_one_stream(Some(&url)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_reads_the_sqlite_journal_in_one_stream_whatever_the_audiences_order_now() {
    a_plan_reads_the_journal_in_one_stream(None).await;
}

/// A re-plan merges the journal's records, streamed in the order they were written, with an
/// audience that changed its order since; `url` is PostgreSQL's, or `None` for SQLite's file.
async fn a_plan_reads_the_journal_in_one_stream(url: Option<&str>) {
    let sandbox = sandbox(Faults::none(), Limits::off()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = CampaignWriter::new(dir.path(), "spring")
        .recipients(300)
        .text("Hello {{first_name}}")
        .write();
    let timcast = |args: &[&str]| {
        let session = Session::new()
            .current_dir(dir.path())
            .sandbox(&sandbox)
            .args(args.iter().copied())
            .arg(&path);
        match url {
            Some(url) => session.env("TIMCAST_STATE", url),
            None => session,
        }
    };
    timcast(&["apply", "--yes"])
        .run_async()
        .await
        .expect_code(0);
    // The audience now: 20 new recipients first, then the 300 sent, in the reverse order.
    let mut csv = String::from("user_id,first_name\n");
    for i in 0..20 {
        csv.push_str(&format!("new-u{i},New{i}\n"));
    }
    for i in (0..300).rev() {
        csv.push_str(&format!("spring-u{i},Name{i}\n"));
    }
    std::fs::write(dir.path().join("spring.csv"), csv).unwrap();
    let plan = timcast(&["-v", "plan", "--format", "json"])
        .run_async()
        .await
        .expect_code(0);
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(json["pending"], 20, "{}", plan.stdout);
    assert_eq!(json["states"]["unchanged"], 300, "{}", plan.stdout);
    assert_eq!(json["states"]["new"], 20, "{}", plan.stdout);
    assert!(
        plan.stderr.contains(
            "ordered join: 320 recipients answered by the journal's stream, 0 looked up by key"
        ),
        "{}",
        plan.stderr
    );
    assert_no_password("the plan's log", &plan.stderr);
}
