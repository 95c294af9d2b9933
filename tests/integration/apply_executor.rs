#![allow(clippy::unwrap_used)]
//! The executor against the sandbox over loopback: exactly-once delivery under transient
//! faults and lost replies, permanent errors never retried, batches, streams, the rate limit,
//! fatal errors, canaries and recall. Assertions are on what the sandbox delivered, not on
//! timcast's own journal.

use crate::common::{self, CampaignWriter};

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use timcast::apply::{ApplyOptions, RunSummary, Stop, apply_file};
use timcast::im::{Endpoint, ImClient, SecretKey};
use timcast::journal::{SendState, State};
use timcast::sandbox::{Faults, Limits, SandboxHandle};

/// A text with a per-recipient field: one sendmsg per recipient.
const PERSONAL: &str = "Hi {{first_name}}, welcome aboard";
/// A text everyone shares: batches.
const SHARED: &str = "Hello everyone, the sale starts now";

fn fast_delivery(batch: &str, max_attempts: u32) -> String {
    format!(
        "  rate: 100000\n  recipients_per_minute: 10000000\n  concurrency: 48\n  batch: {batch}\n  max_attempts: {max_attempts}"
    )
}

fn options(dir: &Path) -> ApplyOptions {
    let mut o = ApplyOptions::new(State::sqlite(dir.join("state.db")));
    o.backoff_base = Duration::from_millis(5);
    o.backoff_cap = Duration::from_millis(50);
    o
}

async fn sandbox(faults: Faults, limits: Limits, scripted: &[(&str, i64)]) -> SandboxHandle {
    let (mut config, _clock) = common::config();
    // Real time: the executor's own clock decides duplicate windows.
    config.clock = std::sync::Arc::new(timcast::sandbox::SystemClock);
    config.faults = faults;
    config.limits = limits;
    for (who, code) in scripted {
        config.scripted_errors.insert((*who).to_owned(), *code);
    }
    common::start(config).await
}

fn faulty(seed: u64) -> Faults {
    Faults {
        fault_rate: 0.10,
        lost_reply_rate: 0.01,
        seed,
        ..Faults::none()
    }
}

fn deliveries_per_recipient(sandbox: &SandboxHandle) -> HashMap<String, usize> {
    let mut map = HashMap::new();
    for d in sandbox.deliveries() {
        *map.entry(d.recipient).or_default() += 1;
    }
    map
}

fn states(journal: &State, campaign: &str) -> BTreeMap<String, SendState> {
    journal
        .open_existing()
        .unwrap()
        .unwrap()
        .records(campaign)
        .unwrap()
        .into_iter()
        .map(|r| (r.recipient, r.state))
        .collect()
}

async fn run(path: &Path, options: &ApplyOptions, client: ImClient) -> RunSummary {
    apply_file(path, options, client, Stop::new())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_personalised_sends_arrive_exactly_once_despite_faults() {
    let dir = tempfile::tempdir().unwrap();
    let n = 10_000;
    let path = CampaignWriter::new(dir.path(), "bulk")
        .recipients(n)
        .text(PERSONAL)
        .delivery(&fast_delivery("auto", 12))
        .write();
    let scripted: Vec<(String, i64)> = [17, 4242, 9999]
        .iter()
        .map(|i| (format!("bulk-u{i}"), 20007))
        .collect();
    let scripted_refs: Vec<(&str, i64)> = scripted.iter().map(|(s, c)| (s.as_str(), *c)).collect();
    let sandbox = sandbox(faulty(7), Limits::off(), &scripted_refs).await;
    let options = options(dir.path());
    let summary = run(&path, &options, common::client(&sandbox)).await;

    let stats = sandbox.stats();
    assert!(stats.faults_injected > 500, "{stats:?}");
    assert!(stats.lost_replies > 50, "{stats:?}");
    let per = deliveries_per_recipient(&sandbox);
    for i in 0..n {
        let id = format!("bulk-u{i}");
        let expected = usize::from(!scripted.iter().any(|(s, _)| *s == id));
        assert_eq!(per.get(&id).copied().unwrap_or(0), expected, "{id}");
    }
    // A permanent error is answered once per scripted account: never retried.
    assert_eq!(stats.error_codes.get(&20007), Some(&3), "{stats:?}");
    assert_eq!(summary.sent, (n - 3) as u64);
    assert_eq!(summary.failed, 3);
    assert_eq!(summary.uncertain, 0);
    let journal = states(&options.state, "bulk");
    assert_eq!(journal.get("bulk-u17"), Some(&SendState::Failed));
    assert_eq!(
        journal.values().filter(|s| **s == SendState::Sent).count(),
        n - 3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_deliver_everyone_and_duplicates_only_come_from_uncertain_batches() {
    let dir = tempfile::tempdir().unwrap();
    let n = 10_000;
    let path = CampaignWriter::new(dir.path(), "promo")
        .recipients(n)
        .text(SHARED)
        .delivery(&fast_delivery("auto", 12))
        .write();
    let sandbox = sandbox(
        Faults {
            fault_rate: 0.10,
            // High enough that some batches surely end uncertain.
            lost_reply_rate: 0.3,
            seed: 3,
            ..Faults::none()
        },
        Limits::off(),
        &[],
    )
    .await;
    let mut options = options(dir.path());
    // Without the server's history to settle them (tests/integration/reconcile.rs has that).
    options.settle_uncertain = false;
    let first = run(&path, &options, common::client(&sandbox)).await;
    let stats = sandbox.stats();
    let batch_calls = stats.endpoints[&Endpoint::BatchSendMsg].calls;
    assert!(batch_calls >= 20, "{stats:?}");
    assert!(
        !stats.endpoints.contains_key(&Endpoint::SendMsg),
        "{stats:?}"
    );
    let uncertain: HashSet<String> = states(&options.state, "promo")
        .into_iter()
        .filter(|(_, s)| *s == SendState::Uncertain)
        .map(|(r, _)| r)
        .collect();
    assert_eq!(first.uncertain as usize, uncertain.len());
    assert!(!uncertain.is_empty(), "{stats:?}");
    // A batch's lost reply is never resent by the run that saw it.
    let per = deliveries_per_recipient(&sandbox);
    assert!(per.values().all(|n| *n == 1), "no duplicates in one run");

    // The user then resends the uncertain ones on purpose.
    let mut again = options.clone();
    again.resend_uncertain = true;
    let second = run(&path, &again, common::client(&sandbox)).await;
    assert_eq!(second.uncertain + second.failed, 0, "{second:?}");
    let per = deliveries_per_recipient(&sandbox);
    for i in 0..n {
        let id = format!("promo-u{i}");
        let count = per.get(&id).copied().unwrap_or(0);
        assert!(count >= 1, "{id} never delivered");
        if count > 1 {
            assert!(uncertain.contains(&id), "{id} delivered {count} times");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fatal_error_stops_the_run_quickly_and_leaves_the_rest_pending() {
    let dir = tempfile::tempdir().unwrap();
    let path = CampaignWriter::new(dir.path(), "fatal")
        .recipients(2000)
        .text(PERSONAL)
        .delivery(&fast_delivery("off", 5))
        .write();
    let sandbox = sandbox(Faults::none(), Limits::off(), &[]).await;
    // Signed with the wrong key: 70009 on every call.
    let client = common::client_with(
        &sandbox,
        SecretKey::new("not-the-apps-key"),
        Duration::from_secs(10),
    );
    let options = options(dir.path());
    let started = Instant::now();
    let summary = run(&path, &options, client).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        summary.fatal.as_deref().unwrap_or("").contains("70009"),
        "{summary:?}"
    );
    let calls = sandbox.stats().endpoints[&Endpoint::SendMsg].calls;
    assert!(calls <= 100, "{calls} calls after a fatal error");
    assert!(sandbox.deliveries().is_empty());
    // The refused sends are retryable; everyone else was never started.
    let plan = timcast::plan::build(
        &timcast::campaign::validate(&path).into_result().unwrap(),
        &timcast::plan::PlanOptions {
            state: options.state.clone(),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(plan.pending, 2000);
    assert_eq!(
        plan.count(timcast::plan::DiffState::Failed),
        0,
        "a fatal error is not the recipient's fault"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_rate_is_kept_without_a_single_rejection() {
    let dir = tempfile::tempdir().unwrap();
    let path = CampaignWriter::new(dir.path(), "paced")
        .recipients(300)
        .text(PERSONAL)
        .delivery("  rate: 200\n  concurrency: 16\n  batch: off")
        .write();
    let sandbox = sandbox(
        Faults {
            latency: Duration::from_millis(30),
            ..Faults::none()
        },
        Limits::documented(),
        &[],
    )
    .await;
    let summary = run(&path, &options(dir.path()), common::client(&sandbox)).await;
    assert_eq!(summary.sent, 300);
    assert_eq!(sandbox.stats().rate_limited, 0);
    // 300 calls at 200/s with a burst of one take about 1.5 s: never a burst.
    let times: Vec<u64> = sandbox.deliveries().iter().map(|d| d.time_ms).collect();
    let span = times.iter().max().unwrap() - times.iter().min().unwrap();
    assert!(span >= 1_300, "300 calls in {span} ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_rate_limit_answers_slow_the_run_down_and_are_retried() {
    let dir = tempfile::tempdir().unwrap();
    let path = CampaignWriter::new(dir.path(), "throttled")
        .recipients(50)
        .text(PERSONAL)
        .delivery(&fast_delivery("off", 8))
        .write();
    let sandbox = sandbox(Faults::none(), Limits::off(), &[]).await;
    sandbox.inject(
        Some(Endpoint::SendMsg),
        timcast::sandbox::Injected::Code(60007),
        5,
    );
    let summary = run(&path, &options(dir.path()), common::client(&sandbox)).await;
    assert_eq!(summary.sent, 50, "{summary:?}");
    let per = deliveries_per_recipient(&sandbox);
    assert_eq!(per.len(), 50);
    assert!(per.values().all(|n| *n == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_sends_to_the_first_n_and_leaves_the_rest_pending() {
    let dir = tempfile::tempdir().unwrap();
    let path = CampaignWriter::new(dir.path(), "canary")
        .recipients(40)
        .text(PERSONAL)
        .delivery(&fast_delivery("off", 5))
        .write();
    let sandbox = sandbox(Faults::none(), Limits::off(), &[]).await;
    let mut options = options(dir.path());
    options.limit = Some(5);
    let summary = run(&path, &options, common::client(&sandbox)).await;
    assert_eq!(summary.sent, 5);
    assert_eq!(summary.not_started, 35);
    let delivered: HashSet<String> = sandbox
        .deliveries()
        .into_iter()
        .map(|d| d.recipient)
        .collect();
    let first_five: HashSet<String> = (0..5).map(|i| format!("canary-u{i}")).collect();
    assert_eq!(delivered, first_five);
    let plan = timcast::plan::build(
        &timcast::campaign::validate(&path).into_result().unwrap(),
        &timcast::plan::PlanOptions {
            state: options.state.clone(),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(plan.count(timcast::plan::DiffState::New), 35);
    assert_eq!(plan.count(timcast::plan::DiffState::Unchanged), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chatbot_streams_its_chunks_in_order_and_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let path = CampaignWriter::new(dir.path(), "bot")
        .columns(["user_id", "first_name"])
        .rows([["ann", "Ann"], ["ben", "Ben"]])
        .sender("@RBT#helper")
        .text("Hi {{first_name}}, here is a tip that streams in pieces")
        .section("stream", "  chunk_chars: 10\n  interval_ms: 5")
        .delivery("  batch: off")
        .write();
    let sandbox = sandbox(Faults::none(), Limits::documented(), &[]).await;
    let summary = run(&path, &options(dir.path()), common::client(&sandbox)).await;
    assert_eq!(summary.sent, 2, "{summary:?}");
    for who in ["ann", "ben"] {
        let chunks = sandbox.deliveries_to(who);
        let text: String = chunks
            .iter()
            .map(|d| d.body["Chunk"].as_str().unwrap().to_owned())
            .collect();
        let name = if who == "ann" { "Ann" } else { "Ben" };
        assert_eq!(
            text,
            format!("Hi {name}, here is a tip that streams in pieces")
        );
        assert!(chunks.iter().all(|d| d.msg_key == chunks[0].msg_key));
        let finishes: Vec<u64> = chunks
            .iter()
            .map(|d| d.body["Finish"].as_u64().unwrap())
            .collect();
        assert_eq!(finishes.last(), Some(&1));
        assert!(finishes[..finishes.len() - 1].iter().all(|f| *f == 0));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recall_withdraws_sends_and_batches_per_recipient() {
    let dir = tempfile::tempdir().unwrap();
    let path = CampaignWriter::new(dir.path(), "oops")
        .recipients(30)
        .text(SHARED)
        .delivery(&fast_delivery("auto", 5))
        .write();
    let sandbox = sandbox(Faults::none(), Limits::off(), &[]).await;
    let options = options(dir.path());
    let summary = run(&path, &options, common::client(&sandbox)).await;
    assert_eq!(summary.sent, 30);
    let loaded = timcast::campaign::validate(&path).into_result().unwrap();
    let journal = options.state.open().unwrap();
    let targets = timcast::apply::recall::targets(journal.as_ref(), "oops").unwrap();
    assert_eq!(targets.len(), 30);
    drop(journal);
    let recalled = timcast::apply::recall::recall(
        &loaded,
        &options.state,
        targets,
        common::client(&sandbox),
        common::ADMIN,
    )
    .await
    .unwrap();
    assert_eq!(
        (recalled.recalled, recalled.failed),
        (30, 0),
        "{recalled:?}"
    );
    assert!(sandbox.deliveries().iter().all(|d| d.recalled));
    assert!(
        states(&options.state, "oops")
            .values()
            .all(|s| *s == SendState::Recalled)
    );
    // Withdrawn messages are not sent again by a later apply.
    let again = run(&path, &options, common::client(&sandbox)).await;
    assert_eq!(again.sent, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_official_account_is_held_back_after_two_broadcasts_in_the_hour() {
    let dir = tempfile::tempdir().unwrap();
    let path = CampaignWriter::new(dir.path(), "news")
        .official_account("@TOA#news")
        .text("Maintenance tonight")
        .write();
    let (mut config, _) = common::config();
    config.clock = std::sync::Arc::new(timcast::sandbox::SystemClock);
    config
        .directory
        .official_accounts
        .insert("@TOA#news".into(), 500);
    let sandbox = common::start(config).await;
    let options = options(dir.path());
    let now = timcast::apply::now_ms();
    let earlier = |campaign: &str, minutes_ago: i64| timcast::journal::SendRecord {
        campaign: campaign.into(),
        recipient: "@TOA#news".into(),
        content_hash: "ab".into(),
        state: SendState::Sent,
        endpoint: Endpoint::SendOfficialAccountMsg,
        call_id: "@TOA#news".into(),
        msg_random: 1,
        msg_seq: 1,
        msg_key: Some("1_1_1".into()),
        msg_time: None,
        error_code: None,
        error_text: None,
        error_class: None,
        attempts: 1,
        intent_at_ms: now - minutes_ago * 60_000,
        updated_at_ms: now - minutes_ago * 60_000,
        variant: None,
        locale: None,
    };
    options
        .state
        .open()
        .unwrap()
        .upsert(&[earlier("older", 30), earlier("old", 10)])
        .unwrap();
    let summary = run(&path, &options, common::client(&sandbox)).await;
    assert!(summary.held_back.is_some(), "{summary:?}");
    assert_eq!(summary.sent, 0);
    assert!(sandbox.stats().endpoints.is_empty(), "no call was made");

    // With one of them outside the hour, the broadcast goes out once.
    let mut journal = options.state.open().unwrap();
    journal.upsert(&[earlier("older", 90)]).unwrap();
    drop(journal);
    let summary = run(&path, &options, common::client(&sandbox)).await;
    assert_eq!(summary.sent, 1, "{summary:?}");
    let deliveries = sandbox.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].subscribers, Some(500));

    // Recall withdraws the broadcast with official_account_msg_recall.
    let loaded = timcast::campaign::validate(&path).into_result().unwrap();
    let journal = options.state.open().unwrap();
    let targets = timcast::apply::recall::targets(journal.as_ref(), "news").unwrap();
    drop(journal);
    let recalled = timcast::apply::recall::recall(
        &loaded,
        &options.state,
        targets,
        common::client(&sandbox),
        common::ADMIN,
    )
    .await
    .unwrap();
    assert_eq!((recalled.recalled, recalled.failed), (1, 0), "{recalled:?}");
    assert!(sandbox.deliveries()[0].recalled);
    assert_eq!(
        sandbox.stats().endpoints[&Endpoint::OfficialAccountMsgRecall].ok,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intents_without_outcome_are_resent_inside_the_window_and_skipped_outside_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = CampaignWriter::new(dir.path(), "resume")
        .recipients(4)
        .text(PERSONAL)
        .delivery(&fast_delivery("off", 5))
        .write();
    let sandbox = sandbox(Faults::none(), Limits::off(), &[]).await;
    let mut options = options(dir.path());
    // First without the server's history: what a resend alone can settle.
    options.settle_uncertain = false;
    assert_eq!(run(&path, &options, common::client(&sandbox)).await.sent, 4);

    // As if the process died after the calls went out but before their outcomes were written:
    // u0 a few seconds ago, u1 ten minutes ago.
    let mut journal = options.state.open().unwrap();
    let records = journal.records("resume").unwrap();
    let now = timcast::apply::now_ms();
    let rewind = |who: &str, ago_ms: i64| {
        let mut r = records.iter().find(|r| r.recipient == who).unwrap().clone();
        r.state = SendState::Intent;
        r.msg_key = None;
        r.intent_at_ms = now - ago_ms;
        r.updated_at_ms = now - ago_ms;
        r
    };
    journal
        .upsert(&[rewind("resume-u0", 3_000), rewind("resume-u1", 600_000)])
        .unwrap();
    drop(journal);

    let summary = run(&path, &options, common::client(&sandbox)).await;
    assert_eq!(summary.resent_in_window, 1, "{summary:?}");
    assert_eq!(summary.skipped_uncertain, 1, "{summary:?}");
    assert_eq!(summary.sent, 1);
    // The server dropped the identical resend: still one delivery each.
    assert_eq!(sandbox.stats().duplicates_dropped, 1);
    assert!(deliveries_per_recipient(&sandbox).values().all(|n| *n == 1));
    let states = states(&options.state, "resume");
    assert_eq!(states["resume-u0"], SendState::Sent);
    assert_eq!(states["resume-u1"], SendState::Intent);

    // Asked explicitly, the old one is resent too (a real server would deliver it again).
    let mut again = options.clone();
    again.resend_uncertain = true;
    let summary = run(&path, &again, common::client(&sandbox)).await;
    assert_eq!(summary.sent, 1, "{summary:?}");

    // With the history (the default), the old one is settled instead: the server has it.
    let mut journal = options.state.open().unwrap();
    journal.upsert(&[rewind("resume-u1", 600_000)]).unwrap();
    drop(journal);
    let delivered = sandbox.deliveries().len();
    options.settle_uncertain = true;
    let summary = run(&path, &options, common::client(&sandbox)).await;
    assert_eq!((summary.settled_sent, summary.sent), (1, 0), "{summary:?}");
    assert_eq!(summary.skipped_uncertain, 0, "{summary:?}");
    assert_eq!(sandbox.deliveries().len(), delivered, "nothing sent again");
    let journal = options.state.open_existing().unwrap().unwrap();
    let u1 = journal.records("resume").unwrap();
    let u1 = u1.iter().find(|r| r.recipient == "resume-u1").unwrap();
    assert_eq!(u1.state, SendState::Sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_sent_past_the_schedule_unless_the_schedule_is_not_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let path = CampaignWriter::new(dir.path(), "late")
        .recipients(3)
        .text(PERSONAL)
        .delivery(&fast_delivery("off", 5))
        .schedule("  not_after: 2020-01-01T00:00:00Z")
        .write();
    let sandbox = sandbox(Faults::none(), Limits::off(), &[]).await;
    let mut options = options(dir.path());
    let summary = run(&path, &options, common::client(&sandbox)).await;
    assert!(summary.held_back.is_some(), "{summary:?}");
    assert_eq!((summary.sent, summary.not_started), (0, 3));
    assert!(sandbox.deliveries().is_empty());
    options.enforce_schedule = false;
    assert_eq!(run(&path, &options, common::client(&sandbox)).await.sent, 3);
}
