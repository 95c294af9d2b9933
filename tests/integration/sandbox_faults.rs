//! The sandbox's rate limits, transient, injected and hostile faults, latency, its delivery
//! and answer logs, and its loopback-only binding, over raw HTTP on 127.0.0.1 (split from
//! `sandbox_rules`, whose endpoint paths it shares). Time is a manual clock.

#![allow(clippy::unwrap_used)] // test helpers may unwrap

use crate::common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use timcast::im::Endpoint;
use timcast::im::settings::DEMO_SECRET_KEY;
use timcast::sandbox::{Directory, Faults, Injected, Limits, Sandbox, SandboxError, Transient};

use crate::sandbox_rules::{BATCH, OFFICIAL, SEND, WITHDRAW, query_with};

#[tokio::test]
async fn calls_over_200_per_second_get_60007_until_the_clock_moves() {
    let (config, clock) = config();
    let sandbox = start(config).await;
    let raw = Raw::new(&sandbox);
    let robots = "openim_robot_http_svc/get_all_robots";
    for _ in 0..200 {
        assert_eq!(raw.code(robots, "{}").await, 0);
    }
    assert_eq!(raw.code(robots, "{}").await, 60007);
    // Other endpoints have their own budget.
    assert_eq!(raw.code(SEND, &sendmsg_body("a", 1, "x")).await, 0);
    clock.advance(Duration::from_secs(1));
    assert_eq!(raw.code(robots, "{}").await, 0);
    assert_eq!(sandbox.stats().rate_limited, 1);
}

#[tokio::test]
async fn batch_recipients_are_limited_to_12000_per_minute() {
    let (config, clock) = config();
    let sandbox = start(config).await;
    let raw = Raw::new(&sandbox);
    let to: Vec<String> = (0..500).map(|i| format!("u{i}")).collect();
    let body = json!({"To_Account": to, "MsgRandom": 1, "MsgBody": [{"MsgType":"TIMTextElem","MsgContent":{"Text":"x"}}]}).to_string();
    for _ in 0..24 {
        assert_eq!(raw.code(BATCH, &body).await, 0);
    }
    assert_eq!(raw.code(BATCH, &body).await, 60007);
    clock.advance(Duration::from_secs(3));
    assert_eq!(
        raw.code(BATCH, &body).await,
        0,
        "200 recipients per second come back"
    );
}

#[tokio::test]
async fn limits_can_be_switched_off() {
    let (mut config, _) = config();
    config.limits = Limits::off();
    let sandbox = start(config).await;
    let raw = Raw::new(&sandbox);
    for i in 0..300 {
        assert_eq!(raw.code(SEND, &sendmsg_body("a", i, "x")).await, 0);
    }
}

#[tokio::test]
async fn transient_faults_have_no_effect_and_are_reproducible_with_a_seed() {
    async fn outcomes(seed: u64) -> (Vec<String>, usize) {
        let (mut config, _) = config();
        config.limits = Limits::off();
        config.faults = Faults {
            fault_rate: 0.5,
            seed,
            ..Faults::none()
        };
        let sandbox = start(config).await;
        let raw = Raw::new(&sandbox);
        let mut seen = Vec::new();
        for i in 0..40 {
            let (status, reply) = raw.post(SEND, &sendmsg_body("a", i, "x")).await;
            seen.push(if status == 200 {
                reply["ErrorCode"].to_string()
            } else {
                format!("HTTP {status}")
            });
        }
        (seen, sandbox.deliveries().len())
    }
    let (first, delivered) = outcomes(7).await;
    let (second, _) = outcomes(7).await;
    assert_eq!(first, second, "same seed, same faults");
    let ok = first.iter().filter(|o| *o == "0").count();
    assert_eq!(delivered, ok, "a failed call delivers nothing");
    assert!(ok > 5 && ok < 35, "{first:?}");
    for o in &first {
        assert!(
            ["0", "10002", "20004", "20005", "91000", "HTTP 502"].contains(&o.as_str()),
            "{o}"
        );
    }
}

#[tokio::test]
async fn a_lost_reply_delivers_but_answers_502() {
    let (mut config, _) = config();
    config.faults = Faults {
        lost_reply_rate: 1.0,
        ..Faults::none()
    };
    let sandbox = start(config).await;
    let raw = Raw::new(&sandbox);
    let (status, _) = raw
        .post(SEND, &sendmsg_body("alice", 1, "did it arrive?"))
        .await;
    assert_eq!(status, 502);
    assert_eq!(sandbox.deliveries_to("alice").len(), 1);
    assert_eq!(sandbox.stats().lost_replies, 1);
}

#[tokio::test]
async fn injected_faults_hit_the_next_matching_calls_only() {
    let sandbox = start(config().0).await;
    let raw = Raw::new(&sandbox);
    sandbox.inject(Some(Endpoint::SendMsg), Injected::Code(91000), 2);
    sandbox.inject(Some(Endpoint::GetAllRobots), Injected::HttpStatus(429), 1);
    let robots = "openim_robot_http_svc/get_all_robots";
    let (status, _) = raw.post(robots, "{}").await;
    assert_eq!(status, 429);
    assert_eq!(raw.code(SEND, &sendmsg_body("a", 1, "x")).await, 91000);
    assert_eq!(raw.code(SEND, &sendmsg_body("a", 1, "x")).await, 91000);
    assert_eq!(raw.code(SEND, &sendmsg_body("a", 1, "x")).await, 0);
    assert_eq!(raw.code(robots, "{}").await, 0);
    assert_eq!(sandbox.stats().error_codes.get(&91000), Some(&2));
}

#[tokio::test]
async fn latency_delays_every_call() {
    let (mut config, _) = config();
    config.faults = Faults {
        latency: Duration::from_millis(150),
        transients: vec![Transient::Http502],
        ..Faults::none()
    };
    let sandbox = start(config).await;
    let raw = Raw::new(&sandbox);
    let started = std::time::Instant::now();
    assert_eq!(
        raw.code("openim_robot_http_svc/get_all_robots", "{}").await,
        0
    );
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn the_delivery_log_has_one_json_line_per_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("deliveries.jsonl");
    let (mut config, _) = config();
    config.delivery_log = Some(log.clone());
    let sandbox = start(config).await;
    let raw = Raw::new(&sandbox);
    raw.post(SEND, &sendmsg_body("alice", 1, "one")).await;
    raw.post(SEND, &sendmsg_body("bob", 2, "two")).await;
    sandbox.shutdown().await;
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["recipient"], "alice");
    assert_eq!(lines[1]["body"][0]["MsgContent"]["Text"], "two");
}

#[tokio::test]
async fn it_refuses_to_bind_anything_but_loopback_unless_allowed() {
    let mut config = timcast::sandbox::SandboxConfig::demo();
    config.listen = "0.0.0.0:0".parse().unwrap();
    let err = Sandbox::start(config).await.unwrap_err();
    assert!(matches!(err, SandboxError::NotLoopback(_)));
    assert!(err.to_string().contains("--allow-non-loopback"));
    // The sandbox config never shows the key.
    let shown = format!("{:?}", timcast::sandbox::SandboxConfig::demo());
    assert!(!shown.contains(DEMO_SECRET_KEY));
}

fn answer_log_lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// What a client sees of one hostile reply, named like the sandbox's kinds; `well_formed`
/// when nothing is wrong with it.
async fn observe(http: &reqwest::Client, url: String, body: String) -> &'static str {
    let started = std::time::Instant::now();
    let response = match http.post(url).body(body).send().await {
        Ok(r) => r,
        // hyper may abort before the head goes out when the body fails at once.
        Err(e) => {
            assert!(!e.is_timeout(), "the reply hung: {e}");
            return "closed_connection";
        }
    };
    let status = response.status().as_u16();
    let header = |name: reqwest::header::HeaderName| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let content_type = header(reqwest::header::CONTENT_TYPE);
    let location = header(reqwest::header::LOCATION);
    let bytes = match response.bytes().await {
        Ok(b) => b,
        Err(e) => {
            assert!(!e.is_timeout(), "the reply hung: {e}");
            return "closed_connection";
        }
    };
    if status == 302 {
        assert!(
            location.starts_with("http://example.invalid/v4/openim/sendmsg"),
            "{location}"
        );
        return "redirect";
    }
    assert_eq!(status, 200);
    if content_type.starts_with("text/html") {
        return "html_page";
    }
    if bytes.is_empty() {
        return "empty_body";
    }
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return "non_utf8";
    };
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return "truncated_json";
    };
    let m = match value {
        Value::Array(_) => return "json_array",
        Value::Object(m) if m.is_empty() => return "empty_object",
        Value::Object(m) => m,
        other => panic!("{other}"),
    };
    let code = &m["ErrorCode"];
    if code.is_string() {
        "error_code_string"
    } else if code.is_u64() && code.as_i64().is_none() {
        "out_of_range_code"
    } else if code == -1 {
        "undocumented_code"
    } else if m["ActionStatus"] == "FAIL" && code == 0 {
        "fail_with_zero_code"
    } else if m["MsgKey"].is_number() {
        "msg_key_number"
    } else if m["MsgTime"].is_string() {
        "msg_time_string"
    } else if m["MsgKey"].as_str().is_some_and(|k| k.len() == 100_000) {
        "long_msg_key"
    } else if m["MsgTime"] == 99_999_999_999_999i64 || m["MsgTime"] == -5 {
        "implausible_msg_time"
    } else if started.elapsed() >= Duration::from_secs(5) {
        // 4 bytes every 300 ms: a ~100-byte reply takes over 7 s.
        "drip"
    } else {
        "well_formed"
    }
}

#[tokio::test]
async fn hostile_replies_break_in_many_ways_never_hang_and_are_logged() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("answers.jsonl");
    let (mut config, _) = config();
    config.limits = Limits::off();
    config.faults = Faults {
        hostile_rate: 1.0,
        seed: 15,
        ..Faults::none()
    };
    config.answer_log = Some(log.clone());
    let sandbox = start(config).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let url = format!("{}/v4/{SEND}?{}", sandbox.base_url(), Raw::good_query());
    // All at once, so the test waits for the slowest drip, not for every drip in turn.
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..60u32 {
        let (http, url) = (http.clone(), url.clone());
        calls.spawn(async move {
            let to = format!("u{i}");
            let seen = observe(&http, url, sendmsg_body(&to, i, "are you there?")).await;
            (to, seen)
        });
    }
    let mut seen = std::collections::BTreeMap::new();
    while let Some(call) = calls.join_next().await {
        let (to, kind) = call.unwrap();
        seen.insert(to, kind);
    }
    assert_eq!(sandbox.stats().hostile, 60);
    let lines = answer_log_lines(&log);
    assert_eq!(lines.len(), 60, "one line per call");
    let mut kinds = std::collections::BTreeSet::new();
    let mut effects = std::collections::BTreeSet::new();
    for line in &lines {
        assert_eq!(line["endpoint"], SEND);
        let to = line["to"][0].as_str().unwrap();
        assert_eq!(line["to"].as_array().unwrap().len(), 1, "{line}");
        let kind = line["kind"].as_str().unwrap();
        assert_eq!(seen[to], kind, "{to}: the client saw what the log says");
        let took_effect = line["took_effect"].as_bool().unwrap();
        assert_eq!(
            sandbox.deliveries_to(to).len(),
            usize::from(took_effect),
            "{line}"
        );
        if kind == "undocumented_code" {
            assert!(!took_effect, "a refusal has no effect");
        }
        assert_ne!(kind, "foreign_error_list", "batch only");
        kinds.insert(kind.to_owned());
        effects.insert(took_effect);
    }
    assert!(kinds.len() >= 10, "{kinds:?}");
    assert_eq!(effects.len(), 2, "some took effect, some did not");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn hostile_mode_spares_lookups_and_calls_refused_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("answers.jsonl");
    let (mut config, _) = config();
    config.directory = Directory::with_accounts(["alice", "@TOA#news 3"]);
    config.limits = Limits {
        calls_per_second: 1,
        ..Limits::documented()
    };
    config.faults = Faults {
        hostile_rate: 1.0,
        ..Faults::none()
    };
    config.answer_log = Some(log.clone());
    let sandbox = start(config).await;
    let raw = Raw::new(&sandbox);
    assert_eq!(
        raw.code("openim_robot_http_svc/get_all_robots", "{}").await,
        0
    );
    assert_eq!(
        raw.code(
            "im_open_login_svc/account_check",
            r#"{"CheckItem":[{"UserID":"alice"}]}"#
        )
        .await,
        0
    );
    assert_eq!(
        raw.code(
            "official_account_open_http_svc/get_official_account_info",
            r#"{"OfficialAccountIdList":[{"Official_Account":"@TOA#news"}]}"#,
        )
        .await,
        0
    );
    let bad_app = query_with("1400000001", ADMIN, "x");
    let (status, reply) = raw
        .post_query(SEND, &bad_app, &sendmsg_body("alice", 1, "x"))
        .await;
    assert_eq!((status, reply["ErrorCode"].as_i64()), (200, Some(60006)));
    assert_eq!(sandbox.stats().hostile, 0);
    // The first send of the second is hostile; the second is over the limit and says so.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let url = format!("{}/v4/{SEND}?{}", sandbox.base_url(), Raw::good_query());
    let hostile = observe(&http, url, sendmsg_body("alice", 2, "x")).await;
    assert_eq!(raw.code(SEND, &sendmsg_body("alice", 3, "x")).await, 60007);
    assert_eq!(sandbox.stats().hostile, 1);
    sandbox.shutdown().await;
    let lines = answer_log_lines(&log);
    let kinds: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.len(), 3, "lookups are not logged: {kinds:?}");
    assert_eq!(kinds[0], "code_60006");
    assert_eq!(kinds[1], hostile);
    assert_eq!(kinds[2], "code_60007");
    assert!(lines.iter().all(|l| l["to"] == json!(["alice"])));
    assert_eq!(lines[0]["took_effect"], false);
}

#[tokio::test]
async fn the_answer_log_records_normal_answers_too() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("answers.jsonl");
    let (mut config, _) = config();
    config.directory = Directory::with_accounts(["alice", "bob", "@TOA#news 3"]);
    config.answer_log = Some(log.clone());
    let sandbox = start(config).await;
    let raw = Raw::new(&sandbox);
    assert_eq!(raw.code(SEND, &sendmsg_body("alice", 1, "x")).await, 0);
    assert_eq!(raw.code(SEND, &sendmsg_body("zed", 2, "x")).await, 90012);
    sandbox.inject(Some(Endpoint::BatchSendMsg), Injected::LostReply, 1);
    let batch = json!({"To_Account": ["alice", "bob"], "MsgRandom": 3,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "x"}}]});
    let (status, _) = raw.post(BATCH, &batch.to_string()).await;
    assert_eq!(status, 502);
    let official = json!({"Official_Account": "@TOA#news", "Random": 4,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "x"}}]});
    assert_eq!(raw.code(OFFICIAL, &official.to_string()).await, 0);
    assert_eq!(raw.code(WITHDRAW, "{not json").await, 90001);
    assert_eq!(
        raw.code("openim_robot_http_svc/get_all_robots", "{}").await,
        0
    );
    sandbox.shutdown().await;
    let lines = answer_log_lines(&log);
    let expected = [
        json!({"endpoint": SEND, "to": ["alice"], "kind": "ok", "took_effect": true}),
        json!({"endpoint": SEND, "to": ["zed"], "kind": "code_90012", "took_effect": false}),
        json!({"endpoint": BATCH, "to": ["alice", "bob"], "kind": "lost_reply", "took_effect": true}),
        json!({"endpoint": OFFICIAL, "to": ["@TOA#news"], "kind": "ok", "took_effect": true}),
        json!({"endpoint": WITHDRAW, "to": [], "kind": "code_90001", "took_effect": false}),
    ];
    assert_eq!(lines, expected);
}
