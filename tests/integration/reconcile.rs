//! Settling uncertain sends from the server's message history (`admin_getroammsg`): lost
//! replies on sendmsg past the duplicate window and on batchsendmsg, `timcast reconcile`, and
//! 2,000 recipients through batchsendmsg with lost replies and faults, killed with -9 and
//! resumed. The history itself is in `reconcile_history`. Assertions are on what the sandbox
//! delivered.

use crate::common::{self, ADMIN, CampaignWriter, Session};

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use rand::RngExt;
use timcast::apply::{ApplyOptions, RunSummary, Stop, apply_file};
use timcast::im::{Endpoint, ImClient};
use timcast::journal::{SendRecord, SendState, State};
use timcast::sandbox::{Faults, History, Injected, Limits, SandboxHandle, SystemClock};

/// A text with a per-recipient field: one sendmsg per recipient.
pub(crate) const PERSONAL: &str = "Hi {{first_name}}, your parcel is on its way";
/// A text everyone shares: batches.
const SHARED: &str = "The summer sale starts now";

pub(crate) fn delivery(batch: &str, max_attempts: u32) -> String {
    format!(
        "  rate: 100000\n  recipients_per_minute: 10000000\n  concurrency: 32\n  batch: {batch}\n  max_attempts: {max_attempts}"
    )
}

pub(crate) fn options(dir: &Path) -> ApplyOptions {
    let mut o = ApplyOptions::new(State::sqlite(dir.join("state.db")));
    o.backoff_base = Duration::from_millis(5);
    o.backoff_cap = Duration::from_millis(50);
    o.settle_grace = Duration::from_millis(200);
    o
}

pub(crate) async fn sandbox(history: History, faults: Faults, limits: Limits) -> SandboxHandle {
    let (mut config, _) = common::config();
    // Real time: the client's clock decides duplicate windows and what it looks up.
    config.clock = std::sync::Arc::new(SystemClock);
    config.history = history;
    config.faults = faults;
    config.limits = limits;
    common::start(config).await
}

pub(crate) async fn run(path: &Path, options: &ApplyOptions, client: ImClient) -> RunSummary {
    apply_file(path, options, client, Stop::new())
        .await
        .unwrap()
}

/// Deliveries of campaign messages (whose text starts with `prefix`) per recipient.
pub(crate) fn campaign_deliveries(sandbox: &SandboxHandle, prefix: &str) -> HashMap<String, usize> {
    let mut map = HashMap::new();
    for d in sandbox.deliveries() {
        if d.body.to_string().contains(prefix) {
            *map.entry(d.recipient).or_default() += 1;
        }
    }
    map
}

pub(crate) fn records(state: &State, campaign: &str) -> HashMap<String, SendRecord> {
    state
        .open_existing()
        .unwrap()
        .unwrap()
        .records(campaign)
        .unwrap()
        .into_iter()
        .map(|r| (r.recipient.clone(), r))
        .collect()
}

/// As if the uncertain sends of `campaign` were made `ago` before now: past sendmsg's window.
pub(crate) fn rewind_uncertain(state: &State, campaign: &str, ago: Duration) {
    let mut journal = state.open().unwrap();
    let then = timcast::apply::now_ms() - i64::try_from(ago.as_millis()).unwrap();
    let rewound: Vec<SendRecord> = journal
        .records(campaign)
        .unwrap()
        .into_iter()
        .filter(|r| matches!(r.state, SendState::Intent | SendState::Uncertain))
        .map(|mut r| {
            r.intent_at_ms = then;
            r.updated_at_ms = then;
            r
        })
        .collect();
    journal.upsert(&rewound).unwrap();
}

pub(crate) fn uncertain(state: &State, campaign: &str) -> Vec<String> {
    let mut who: Vec<String> = records(state, campaign)
        .into_values()
        .filter(|r| matches!(r.state, SendState::Intent | SendState::Uncertain))
        .map(|r| r.recipient)
        .collect();
    who.sort();
    who
}

pub(crate) fn sendmsg(to: &str, seq: u32, random: u32, text: &str, sync: u32) -> String {
    format!(
        r#"{{"To_Account":"{to}","MsgSeq":{seq},"MsgRandom":{random},"SyncOtherMachine":{sync},"MsgBody":{}}}"#,
        common::text_body(text)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_sendmsg_replies_past_the_duplicate_window_are_settled_from_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = CampaignWriter::new(dir.path(), "parcel")
        .recipients(6)
        .text(PERSONAL)
        .delivery(&delivery("off", 1))
        .write();
    let sandbox = sandbox(History::documented(), Faults::none(), Limits::off()).await;
    let options = options(dir.path());
    // Two calls take effect but their replies are lost; two more fail on the way (a 502
    // without effect, which looks the same to the client). One attempt each: all four end
    // uncertain.
    sandbox.inject(Some(Endpoint::SendMsg), Injected::LostReply, 2);
    sandbox.inject(Some(Endpoint::SendMsg), Injected::HttpStatus(502), 2);
    let summary = run(&path, &options, common::client(&sandbox)).await;
    assert_eq!((summary.sent, summary.uncertain), (2, 4), "{summary:?}");
    let open = uncertain(&options.state, "parcel");
    assert_eq!(open.len(), 4);
    let delivered: HashMap<String, String> = sandbox
        .deliveries()
        .into_iter()
        .map(|d| (d.recipient, d.msg_key))
        .collect();
    let arrived: Vec<&String> = open.iter().filter(|r| delivered.contains_key(*r)).collect();
    assert_eq!(arrived.len(), 2, "two of the uncertain ones arrived");

    // Ten minutes later the duplicate window is closed: resending blindly could deliver twice.
    rewind_uncertain(&options.state, "parcel", Duration::from_secs(600));
    // The lookups themselves meet faults and a lost reply, and are retried.
    sandbox.inject(Some(Endpoint::AdminGetRoamMsg), Injected::Code(10002), 2);
    sandbox.inject(Some(Endpoint::AdminGetRoamMsg), Injected::LostReply, 1);
    let summary = run(&path, &options, common::client(&sandbox)).await;
    assert_eq!(
        (summary.settled_sent, summary.settled_not_sent),
        (2, 2),
        "{summary:?}"
    );
    assert_eq!(
        (summary.sent, summary.uncertain, summary.skipped_uncertain),
        (2, 0, 0)
    );
    let per = campaign_deliveries(&sandbox, "your parcel");
    assert_eq!(per.len(), 6);
    assert!(per.values().all(|n| *n == 1), "{per:?}");
    assert_eq!(sandbox.stats().duplicates_dropped, 0);
    // Settled as sent with the server's MsgKey, so recall withdraws them.
    let journal = records(&options.state, "parcel");
    for who in &arrived {
        let r = &journal[*who];
        assert_eq!(r.state, SendState::Sent);
        assert_eq!(r.msg_key.as_ref(), delivered.get(*who));
        assert!(r.msg_time.is_some());
    }
    assert!(journal.values().all(|r| r.state == SendState::Sent));
    let loaded = timcast::campaign::validate(&path).into_result().unwrap();
    let targets =
        timcast::apply::recall::targets(options.state.open().unwrap().as_ref(), "parcel").unwrap();
    let recalled = timcast::apply::recall::recall(
        &loaded,
        &options.state,
        targets,
        common::client(&sandbox),
        ADMIN,
    )
    .await
    .unwrap();
    assert_eq!((recalled.recalled, recalled.failed), (6, 0), "{recalled:?}");
    assert!(sandbox.deliveries().iter().all(|d| d.recalled));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_batchsendmsg_replies_are_settled_per_recipient() {
    let dir = tempfile::tempdir().unwrap();
    let n = 700;
    let path = CampaignWriter::new(dir.path(), "sale")
        .recipients(n)
        .text(SHARED)
        .delivery(&delivery("auto", 3))
        .write();
    let sandbox = sandbox(History::documented(), Faults::none(), Limits::off()).await;
    let mut options = options(dir.path());
    // One batch of 500 delivered with its reply lost, the other (200) lost on the way.
    sandbox.inject(Some(Endpoint::BatchSendMsg), Injected::LostReply, 1);
    sandbox.inject(Some(Endpoint::BatchSendMsg), Injected::HttpStatus(502), 1);
    // Without settling, both batches stay uncertain: batchsendmsg has no duplicate window.
    options.settle_uncertain = false;
    let summary = run(&path, &options, common::client(&sandbox)).await;
    assert_eq!((summary.sent, summary.uncertain), (0, 700), "{summary:?}");
    let delivered = sandbox.deliveries().len();
    assert!(delivered == 500 || delivered == 200, "{delivered}");

    // The next apply looks each recipient up before sending anything.
    options.settle_uncertain = true;
    let summary = run(&path, &options, common::client(&sandbox)).await;
    assert_eq!(summary.settled_sent as usize, delivered, "{summary:?}");
    assert_eq!(summary.settled_not_sent as usize, n - delivered);
    assert_eq!(summary.uncertain, 0);
    let per = campaign_deliveries(&sandbox, "summer sale");
    assert_eq!(per.len(), n);
    assert!(per.values().all(|c| *c == 1), "someone got the sale twice");
    // Each recipient looked up once, and those missing once more after the grace period.
    let lookups = sandbox.stats().endpoints[&Endpoint::AdminGetRoamMsg].calls;
    assert!(
        lookups >= n as u64 && lookups <= (2 * n - delivered) as u64,
        "{lookups}"
    );
    let journal = records(&options.state, "sale");
    assert!(journal.values().all(|r| r.state == SendState::Sent));
    // The settled ones carry the batch's MsgKey, as the reply would have.
    let keys: std::collections::HashSet<&str> = journal
        .values()
        .filter_map(|r| r.msg_key.as_deref())
        .collect();
    assert_eq!(keys.len(), 2, "one key per batch that arrived: {keys:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_settles_its_own_lost_batch_replies_and_sends_what_did_not_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let n = 1200;
    let path = CampaignWriter::new(dir.path(), "flash")
        .recipients(n)
        .text(SHARED)
        .delivery(&delivery("auto", 3))
        .write();
    let sandbox = sandbox(History::documented(), Faults::none(), Limits::off()).await;
    let options = options(dir.path());
    sandbox.inject(Some(Endpoint::BatchSendMsg), Injected::LostReply, 1);
    sandbox.inject(Some(Endpoint::BatchSendMsg), Injected::HttpStatus(502), 1);
    let summary = run(&path, &options, common::client(&sandbox)).await;
    assert_eq!(summary.uncertain, 0, "{summary:?}");
    assert_eq!(summary.sent, n as u64, "{summary:?}");
    assert!(
        summary.settled_sent > 0 && summary.settled_not_sent > 0,
        "{summary:?}"
    );
    let per = campaign_deliveries(&sandbox, "summer sale");
    assert_eq!(per.len(), n);
    assert!(per.values().all(|c| *c == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_prints_what_changed_and_the_next_apply_sends_what_did_not_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let path = CampaignWriter::new(dir.path(), "promo")
        .recipients(5)
        .text(PERSONAL)
        .delivery(&delivery("off", 1))
        .write();
    let sandbox = sandbox(History::documented(), Faults::none(), Limits::off()).await;
    let options = options(dir.path());
    sandbox.inject(Some(Endpoint::SendMsg), Injected::LostReply, 1);
    sandbox.inject(Some(Endpoint::SendMsg), Injected::HttpStatus(502), 2);
    let summary = run(&path, &options, common::client(&sandbox)).await;
    assert_eq!(summary.uncertain, 3, "{summary:?}");
    let state = options.state.to_string();
    let p = path.to_string_lossy().into_owned();
    let cli = |args: &[&str]| {
        Session::new()
            .current_dir(dir.path())
            .sandbox(&sandbox)
            .args(args.iter().copied().chain(["--state", state.as_str()]))
    };
    // On demand, even inside the duplicate window.
    let out = cli(&["reconcile", &p]).run_async().await.expect_code(0);
    assert!(
        out.stdout.contains(
            "promo: 3 uncertain sends: 1 settled as sent, 2 as not sent, 0 still uncertain"
        ),
        "{}",
        out.stdout
    );
    assert_eq!(out.stdout.matches("  = ").count(), 1, "{}", out.stdout);
    assert!(out.stdout.contains("sent (MsgKey "), "{}", out.stdout);
    assert_eq!(
        out.stdout
            .matches(" not sent: the next apply sends it")
            .count(),
        2,
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("next: `timcast apply` sends the 2 not sent")
    );
    assert!(uncertain(&options.state, "promo").is_empty());
    // Nothing left to settle.
    let out = cli(&["reconcile", &p]).run_async().await.expect_code(0);
    assert!(out.stdout.contains("no uncertain sends"), "{}", out.stdout);
    let out = cli(&["apply", &p, "--yes"])
        .run_async()
        .await
        .expect_code(0);
    assert!(
        out.stdout.contains("sent 2, failed 0, uncertain 0"),
        "{}",
        out.stdout
    );
    let per = campaign_deliveries(&sandbox, "your parcel");
    assert!(per.len() == 5 && per.values().all(|c| *c == 1), "{per:?}");
}

/// Kills of the target test; `bench/reconcile_kill9.sh` runs it with a dozen.
fn kills() -> usize {
    std::env::var("TIMCAST_RECONCILE_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(4)
}

/// Sends without outcome in the journal at `state` intended since `since_ms` (0 when it
/// cannot be read yet).
fn intents_since(state: &State, campaign: &str, since_ms: i64) -> usize {
    let Ok(Some(journal)) = state.open_existing() else {
        return 0;
    };
    let mut n = 0;
    let _ = journal.for_each_record(campaign, &mut |r| {
        n += usize::from(r.state == SendState::Intent && r.intent_at_ms >= since_ms);
    });
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_recipients_by_batch_with_lost_replies_and_faults_killed_and_resumed_arrive_once()
 {
    let started = Instant::now();
    let (mut config, _) = common::config();
    config.clock = std::sync::Arc::new(SystemClock);
    config.faults = Faults {
        // Long enough that a kill can land while a batch call is on its way.
        latency: Duration::from_millis(60),
        fault_rate: 0.05,
        lost_reply_rate: 0.10,
        seed: rand::random(),
        ..Faults::none()
    };
    config.limits = Limits {
        calls_per_second: 2_000,
        batch_recipients_per_minute: 1_000_000,
        ..Limits::documented()
    };
    let sandbox = common::start(config).await;
    let dir = tempfile::tempdir().unwrap();
    let n = 2_000;
    let path = CampaignWriter::new(dir.path(), "target")
        .recipients(n)
        .text(SHARED)
        // 12,000 recipients a minute: the four batches go out over about 7.5 s, so the kills
        // land mid-run.
        .delivery("  rate: 500\n  recipients_per_minute: 12000\n  concurrency: 16\n  batch: auto")
        .write();
    // TIMCAST_RECONCILE_STATE=postgres://… runs it against a PostgreSQL journal (a fresh
    // schema each time): bench/reconcile_kill9.sh with BENCH_STATE.
    let state = match std::env::var("TIMCAST_RECONCILE_STATE") {
        Ok(url) if !url.is_empty() => {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}schema=kill9_{:08x}", rand::random::<u32>())
        }
        _ => dir.path().join("state.db").to_string_lossy().into_owned(),
    };
    let journal = State::from_arg(std::path::Path::new(&state));
    let p = path.to_string_lossy().into_owned();
    let apply = || {
        Session::new()
            .current_dir(dir.path())
            .sandbox(&sandbox)
            .args(["apply", p.as_str(), "--yes", "--state", state.as_str()])
    };
    let mut rng = rand::rng();
    let (mut killed_mid_run, mut left_in_flight) = (0, 0);
    let batch_calls = || {
        sandbox
            .stats()
            .endpoints
            .get(&Endpoint::BatchSendMsg)
            .map_or(0, |e| e.calls)
    };
    for k in 0..kills() {
        let spawned_ms = timcast::apply::now_ms();
        let calls_before = batch_calls();
        let mut child = apply().stdout(Stdio::null()).stderr(Stdio::null()).spawn();
        // The kills take turns: while this run has a batch between its intent and its outcome
        // (not yet sent, at the server, or answered but not journaled); at a random moment soon
        // after the start (often while it settles what the last kill left); and at a random
        // moment after one of its batches was answered (between batches, while the next is on
        // its way, or while it settles its own lost replies).
        let kind = k % 3;
        let after = Duration::from_millis(match kind {
            // Inside the 60 ms the batch spends on its way, so that it is still in flight.
            0 => rng.random_range(0..40),
            1 => rng.random_range(100..2_500),
            _ => rng.random_range(0..1_500),
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut kill_at = (kind == 1).then(|| Instant::now() + after);
        while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
            match kill_at {
                Some(at) if Instant::now() >= at => break,
                Some(_) => {}
                None if kind == 0 => {
                    if intents_since(&journal, "target", spawned_ms) > 0 {
                        kill_at = Some(Instant::now() + after);
                    }
                }
                None => {
                    if batch_calls() > calls_before {
                        kill_at = Some(Instant::now() + after);
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        if child.try_wait().unwrap().is_none() {
            killed_mid_run += 1;
        }
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait();
        if intents_since(&journal, "target", spawned_ms) > 0 {
            left_in_flight += 1;
        }
    }
    let delivered_before = sandbox.deliveries().len();
    let out = apply().run_async().await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let per = campaign_deliveries(&sandbox, "summer sale");
    assert_eq!(per.len(), n, "everyone got it");
    let twice: Vec<_> = per.iter().filter(|(_, c)| **c > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    let report = Session::new()
        .current_dir(dir.path())
        .args(["report", &p, "--state", &state, "--format", "json"])
        .run_async()
        .await
        .expect_code(0);
    // One JSON object a recipient.
    let states: Vec<String> = report
        .stdout
        .lines()
        .map(|l| {
            let row: serde_json::Value = serde_json::from_str(l).unwrap();
            row["state"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    let count = |state: &str| states.iter().filter(|s| *s == state).count();
    assert_eq!(count("sent"), n, "{states:?}");
    assert_eq!((count("uncertain"), count("in flight")), (0, 0));
    assert!(killed_mid_run >= 1, "no kill landed mid-run");
    assert!(left_in_flight >= 1, "no kill left a send in flight");
    let stats = sandbox.stats();
    let calls = |e: Endpoint| stats.endpoints.get(&e).map_or(0, |s| s.calls);
    eprintln!(
        "{} kills: {killed_mid_run} mid-run, {left_in_flight} left sends in flight; \
         {delivered_before} deliveries before the last apply; {} batch calls, {} sendmsg, \
         {} history lookups; {} lost replies, {} faults; {:.1} s",
        kills(),
        calls(Endpoint::BatchSendMsg),
        calls(Endpoint::SendMsg),
        calls(Endpoint::AdminGetRoamMsg),
        stats.lost_replies,
        stats.faults_injected,
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_settles_and_resends_counts_each_recipient_once_in_its_summary() {
    let dir = tempfile::tempdir().unwrap();
    let n = 1_000;
    let path = CampaignWriter::new(dir.path(), "promo")
        .recipients(n)
        .text(SHARED)
        .delivery(&delivery("auto", 1))
        .write();
    let sandbox = sandbox(History::documented(), Faults::none(), Limits::off()).await;
    let options = options(dir.path());
    // Two batches of 500, one attempt each: one answered 502 without effect (uncertain; a
    // batch has no duplicate window, so it is looked up at once and found missing), one refused
    // with a retryable code (failed). The run's second round sends both batches again.
    sandbox.inject(Some(Endpoint::BatchSendMsg), Injected::HttpStatus(502), 1);
    sandbox.inject(Some(Endpoint::BatchSendMsg), Injected::Code(10002), 1);
    let summary = run(&path, &options, common::client(&sandbox)).await;
    assert_eq!(campaign_deliveries(&sandbox, "summer sale").len(), n);
    let journal = records(&options.state, "promo");
    assert!(journal.values().all(|r| r.state == SendState::Sent));
    // Before: "sent 1000, failed 500": the retried failures were counted twice.
    assert_eq!(
        (summary.sent, summary.failed, summary.uncertain),
        (n as u64, 0, 0),
        "{summary:?}"
    );
}
