//! The sandbox, spoken to over raw HTTP on 127.0.0.1: every documented refusal, the duplicate
//! rules, streams, recall, limits and faults. Time is a manual clock; nothing sleeps.

#![allow(clippy::unwrap_used)] // test helpers may unwrap

use crate::common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use timcast::im::Endpoint;
use timcast::im::SecretKey;
use timcast::im::settings::{DEMO_SDKAPPID, DEMO_SECRET_KEY};
use timcast::im::usersig;
use timcast::sandbox::{Directory, Faults, Injected, Limits, Sandbox, SandboxError, Transient};

const SEND: &str = "openim/sendmsg";
const BATCH: &str = "openim/batchsendmsg";
const OFFICIAL: &str = "official_account_open_http_svc/send_official_account_msg";
const STREAM: &str = "openim_robot_http_svc/send_stream_msg";
const WITHDRAW: &str = "openim/admin_msgwithdraw";

fn query_with(sdkappid: &str, identifier: &str, sig: &str) -> String {
    format!("sdkappid={sdkappid}&identifier={identifier}&usersig={sig}&random=1&contenttype=json")
}

/// A correctly signed document that claims TLS.ver 1.0.
fn version_one_usersig() -> String {
    use base64::Engine;
    use std::io::Write;
    let sig = usersig::hmac_sig(
        &demo_key(),
        ADMIN,
        DEMO_SDKAPPID,
        1_800_000_000,
        86_400,
        None,
    );
    let doc = json!({"TLS.ver": "1.0", "TLS.identifier": ADMIN, "TLS.sdkappid": DEMO_SDKAPPID,
        "TLS.expire": 86_400, "TLS.time": 1_800_000_000u64, "TLS.sig": sig});
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(doc.to_string().as_bytes()).unwrap();
    base64::engine::general_purpose::STANDARD
        .encode(z.finish().unwrap())
        .replace('+', "*")
        .replace('/', "-")
        .replace('=', "_")
}

#[tokio::test]
async fn query_string_and_usersig_refusals_use_the_public_codes() {
    let sandbox = start(config().0).await;
    let raw = Raw::new(&sandbox);
    let body = sendmsg_body("alice", 1, "hi");
    let key = demo_key();
    let good = usersig::generate(&key, DEMO_SDKAPPID, ADMIN, 86_400);
    let app = DEMO_SDKAPPID.to_string();

    let cases: Vec<(String, i64)> = vec![
        (
            format!("identifier={ADMIN}&usersig={good}&random=1&contenttype=json"),
            60012,
        ),
        (query_with("1400000001", ADMIN, &good), 60006),
        (query_with("abc", ADMIN, &good), 60006),
        (
            format!("sdkappid={app}&usersig={good}&random=1&contenttype=json"),
            60004,
        ),
        (query_with(&app, ADMIN, ""), 70002),
        (
            format!("sdkappid={app}&identifier={ADMIN}&usersig={good}&contenttype=json"),
            60002,
        ),
        (
            format!("sdkappid={app}&identifier={ADMIN}&usersig={good}&random=1"),
            60002,
        ),
        // Truncated or garbage signatures cannot be parsed.
        (query_with(&app, ADMIN, &good[..30]), 70003),
        (query_with(&app, ADMIN, "not-a-usersig"), 70003),
        // A valid signature for somebody else, used with the admin's name in the URL.
        (
            query_with(
                &app,
                ADMIN,
                &usersig::generate(&key, DEMO_SDKAPPID, "mallory", 86_400),
            ),
            70013,
        ),
        // Signed for another app.
        (
            query_with(
                &app,
                ADMIN,
                &usersig::generate(&key, 1_400_000_001, ADMIN, 86_400),
            ),
            70014,
        ),
        // Expired: signed in 2023 for one day (API.md §6.3 vector A time).
        (
            query_with(
                &app,
                ADMIN,
                &usersig::generate_at(&key, DEMO_SDKAPPID, ADMIN, 1_700_000_000, 86_400),
            ),
            70001,
        ),
        // Forged: signed with another key.
        (
            query_with(
                &app,
                ADMIN,
                &usersig::generate(&SecretKey::new("guess"), DEMO_SDKAPPID, ADMIN, 86_400),
            ),
            70009,
        ),
        // Well signed, but not a version-2.0 document.
        (query_with(&app, ADMIN, &version_one_usersig()), 70005),
        // A valid UserSig of an ordinary user is not an admin's.
        (
            query_with(
                &app,
                "bob",
                &usersig::generate(&key, DEMO_SDKAPPID, "bob", 86_400),
            ),
            60010,
        ),
    ];
    for (query, expected) in cases {
        let (status, reply) = raw.post_query(SEND, &query, &body).await;
        assert_eq!(status, 200);
        assert_eq!(reply["ActionStatus"], "FAIL", "{query}");
        assert_eq!(reply["ErrorCode"], expected, "{query}: {reply}");
    }
    assert!(sandbox.deliveries().is_empty());
    let (_, reply) = raw.post("openim/no_such_command", "{}").await;
    assert_eq!(reply["ErrorCode"], 60009);
}

#[tokio::test]
async fn sendmsg_body_refusals_use_the_documented_codes() {
    let (mut config, _) = config();
    config.directory = Directory::with_accounts(["alice", "bob"]);
    let sandbox = start(config).await;
    let raw = Raw::new(&sandbox);
    let text = text_body("hi");
    let big = "x".repeat(13 * 1024);
    let cases = vec![
        ("{not json".to_string(), 90001),
        ("[1,2]".to_string(), 90001),
        (r#"{"MsgRandom":1,"MsgBody":[]}"#.to_string(), 90003),
        (format!(r#"{{"To_Account":7,"MsgRandom":1,"MsgBody":{text}}}"#), 90003),
        (format!(r#"{{"To_Account":"alice","MsgBody":{text}}}"#), 90005),
        (format!(r#"{{"To_Account":"alice","MsgRandom":"1","MsgBody":{text}}}"#), 90005),
        (format!(r#"{{"To_Account":"alice","MsgRandom":4294967296,"MsgBody":{text}}}"#), 90005),
        (format!(r#"{{"To_Account":"alice","MsgRandom":1,"MsgTimeStamp":"now","MsgBody":{text}}}"#), 90006),
        (r#"{"To_Account":"alice","MsgRandom":1,"MsgBody":{"MsgType":"TIMTextElem"}}"#.to_string(), 90007),
        (r#"{"To_Account":"alice","MsgRandom":1}"#.to_string(), 90007),
        (r#"{"To_Account":"alice","MsgRandom":1,"MsgBody":[]}"#.to_string(), 90002),
        (r#"{"To_Account":"alice","MsgRandom":1,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"text":"lowercase"}}]}"#.to_string(), 90002),
        (r#"{"To_Account":"alice","MsgRandom":1,"MsgBody":[{"MsgType":"TIMGiftElem","MsgContent":{}}]}"#.to_string(), 90002),
        (r#"{"To_Account":"alice","MsgRandom":1,"MsgBody":[{"MsgType":"TIMCustomElem","MsgContent":{"Data":"a"}},{"MsgType":"TIMCustomElem","MsgContent":{"Data":"b"}}]}"#.to_string(), 90002),
        (r#"{"To_Account":"alice","MsgRandom":1,"MsgBody":[{"MsgType":"TIMSoundElem","MsgContent":{"Url":"u","UUID":"x","Download_Flag":1}}]}"#.to_string(), 90002),
        (format!(r#"{{"To_Account":"alice","MsgRandom":1,"MsgLifeTime":604801,"MsgBody":{text}}}"#), 90026),
        (format!(r#"{{"To_Account":"alice","MsgRandom":1,"MsgLifeTime":"1d","MsgBody":{text}}}"#), 90044),
        (format!(r#"{{"To_Account":"alice","MsgRandom":1,"SyncOtherMachine":"no","MsgBody":{text}}}"#), 90031),
        (format!(r#"{{"To_Account":"alice","MsgRandom":1,"SendMsgControl":["NoSuchControl"],"MsgBody":{text}}}"#), 90010),
        (format!(r#"{{"To_Account":"nobody","MsgRandom":1,"MsgBody":{text}}}"#), 90012),
        (format!(r#"{{"From_Account":"ghost","To_Account":"alice","MsgRandom":1,"MsgBody":{text}}}"#), 20003),
        (format!(r#"{{"To_Account":"alice","MsgRandom":1,"MsgBody":{}}}"#, text_body(&big)), 93000),
    ];
    for (body, expected) in cases {
        let code = raw.code(SEND, &body).await;
        assert_eq!(code, expected, "{}", &body[..body.len().min(200)]);
    }
    assert!(sandbox.deliveries().is_empty());
    // The largest documented lifetime is accepted.
    let ok =
        format!(r#"{{"To_Account":"alice","MsgRandom":1,"MsgLifeTime":604800,"MsgBody":{text}}}"#);
    assert_eq!(raw.code(SEND, &ok).await, 0);
}

#[tokio::test]
async fn sendmsg_replies_with_msgkey_and_msgtime_and_records_the_delivery() {
    let sandbox = start(config().0).await;
    let raw = Raw::new(&sandbox);
    let (_, reply) = raw
        .post(SEND, r#"{"From_Account":"shop","To_Account":"alice","MsgRandom":42,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"30% off"}}]}"#)
        .await;
    assert_eq!(reply["ActionStatus"], "OK");
    let key = reply["MsgKey"].as_str().unwrap();
    assert!(!key.is_empty() && key.len() <= 50);
    assert!(reply["MsgTime"].as_u64().unwrap() > 1_700_000_000);
    let got = sandbox.deliveries_to("alice");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].sender, "shop");
    assert_eq!(got[0].msg_key, key);
    assert_eq!(got[0].body[0]["MsgContent"]["Text"], "30% off");
    // The same through the HTTP view.
    let listed = raw.get("/sandbox/deliveries?recipient=alice").await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["msg_key"], key);
    let stats = raw.get("/sandbox/stats").await;
    assert_eq!(stats["deliveries"], 1);
    assert_eq!(stats["endpoints"]["send_msg"]["ok"], 1);
}

#[tokio::test]
async fn sendmsg_drops_a_repeat_within_120_seconds_and_delivers_it_after() {
    let (config, clock) = config();
    let sandbox = start(config).await;
    let raw = Raw::new(&sandbox);
    let body = r#"{"To_Account":"alice","MsgSeq":9,"MsgRandom":77,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"once"}}]}"#;
    let (_, first) = raw.post(SEND, body).await;
    clock.advance(Duration::from_secs(119));
    let (_, again) = raw.post(SEND, body).await;
    assert_eq!(again["ErrorCode"], 0);
    assert_eq!(
        again["MsgKey"], first["MsgKey"],
        "a repeat gets the original MsgKey"
    );
    assert_eq!(sandbox.deliveries_to("alice").len(), 1);
    assert_eq!(sandbox.stats().duplicates_dropped, 1);

    // Other content, MsgRandom or MsgSeq is another message.
    let other_random = body.replace("77", "78");
    raw.post(SEND, &other_random).await;
    let other_seq = body.replace("\"MsgSeq\":9", "\"MsgSeq\":10");
    raw.post(SEND, &other_seq).await;
    assert_eq!(sandbox.deliveries_to("alice").len(), 3);

    // Past the window the identical body is a second message.
    clock.advance(Duration::from_secs(2));
    let (_, late) = raw.post(SEND, body).await;
    assert_ne!(late["MsgKey"], first["MsgKey"]);
    assert_eq!(sandbox.deliveries_to("alice").len(), 4);
}

#[tokio::test]
async fn batch_reports_partial_failure_in_error_list_and_all_failed_as_90012() {
    let (mut config, _) = config();
    config.directory = Directory::with_accounts(["ann", "ben"]);
    config.scripted_errors.insert("ben".into(), 20007);
    let sandbox = start(config).await;
    let raw = Raw::new(&sandbox);
    let text = text_body("flash sale");
    let (_, reply) = raw
        .post(
            BATCH,
            &format!(
                r#"{{"To_Account":["ann","ben","rong","ann"],"MsgRandom":5,"MsgBody":{text}}}"#
            ),
        )
        .await;
    assert_eq!(reply["ActionStatus"], "OK");
    assert_eq!(reply["ErrorCode"], 0);
    let mut errors = reply["ErrorList"].as_array().unwrap().clone();
    errors.sort_by_key(|e| e["To_Account"].as_str().unwrap().to_owned());
    assert_eq!(
        errors,
        vec![
            json!({"To_Account": "ben", "ErrorCode": 20007}),
            json!({"To_Account": "rong", "ErrorCode": 70107}),
        ]
    );
    let ann = sandbox.deliveries_to("ann");
    assert_eq!(ann.len(), 1, "a repeated recipient receives once");
    assert_eq!(ann[0].msg_key, reply["MsgKey"].as_str().unwrap());

    let all_failed = format!(r#"{{"To_Account":["rong","zed"],"MsgRandom":5,"MsgBody":{text}}}"#);
    let (_, reply) = raw.post(BATCH, &all_failed).await;
    assert_eq!(reply["ActionStatus"], "FAIL");
    assert_eq!(reply["ErrorCode"], 90012);

    let too_many: Vec<String> = (0..501).map(|i| format!("u{i}")).collect();
    let body = json!({"To_Account": too_many, "MsgRandom": 1, "MsgBody": [{"MsgType":"TIMTextElem","MsgContent":{"Text":"x"}}]});
    assert_eq!(raw.code(BATCH, &body.to_string()).await, 90011);
    assert_eq!(
        raw.code(
            BATCH,
            &format!(r#"{{"To_Account":"ann","MsgRandom":1,"MsgBody":{text}}}"#)
        )
        .await,
        90003
    );
}

#[tokio::test]
async fn official_accounts_dedup_for_five_minutes_and_limit_each_account() {
    let (mut config, clock) = config();
    config
        .directory
        .official_accounts
        .insert("@TOA#news".into(), 1200);
    let sandbox = start(config).await;
    let raw = Raw::new(&sandbox);
    let send = |random: u32, text: &str| {
        format!(
            r#"{{"Official_Account":"@TOA#news","Random":{random},"MsgBody":{}}}"#,
            text_body(text)
        )
    };
    let (_, first) = raw.post(OFFICIAL, &send(1, "issue 1")).await;
    assert_eq!(first["ErrorCode"], 0);
    assert!(first["MsgKey"].as_str().unwrap().contains("_1_"));
    // A replay within 5 minutes is dropped, answered like the first, and costs no quota.
    clock.advance(Duration::from_secs(299));
    let (_, replay) = raw.post(OFFICIAL, &send(1, "issue 1")).await;
    assert_eq!(replay["MsgKey"], first["MsgKey"]);
    assert_eq!(sandbox.deliveries_to("@TOA#news").len(), 1);
    assert_eq!(
        sandbox.deliveries_to("@TOA#news")[0].subscribers,
        Some(1200)
    );

    // Second broadcast of the hour; a third one in the same second and in the same hour is refused.
    assert_eq!(raw.code(OFFICIAL, &send(2, "issue 2")).await, 0);
    assert_eq!(raw.code(OFFICIAL, &send(3, "issue 3")).await, 10023);
    clock.advance(Duration::from_secs(60));
    assert_eq!(raw.code(OFFICIAL, &send(3, "issue 3")).await, 10023);
    clock.advance(Duration::from_secs(3600));
    assert_eq!(raw.code(OFFICIAL, &send(3, "issue 3")).await, 0);
    // Past 5 minutes the first content with the same Random is a new broadcast.
    clock.advance(Duration::from_secs(2));
    let (_, again) = raw.post(OFFICIAL, &send(1, "issue 1")).await;
    assert_eq!(again["ErrorCode"], 0);
    assert_ne!(again["MsgKey"], first["MsgKey"]);
    assert_eq!(sandbox.stats().rate_limited, 2);
}

#[tokio::test]
async fn official_account_refusals() {
    let (mut config, _) = config();
    config
        .directory
        .official_accounts
        .insert("@TOA#news".into(), 3);
    let sandbox = start(config).await;
    let raw = Raw::new(&sandbox);
    let text = text_body("x");
    let big = text_body(&"y".repeat(13_000));
    let cases = vec![
        (
            format!(r#"{{"Official_Account":"@TOA#gone","Random":1,"MsgBody":{text}}}"#),
            10010,
        ),
        (
            format!(r#"{{"Official_Account":"news","Random":1,"MsgBody":{text}}}"#),
            10015,
        ),
        (
            format!(r#"{{"Official_Account":"@TOA#news","MsgBody":{text}}}"#),
            10004,
        ),
        (
            r#"{"Official_Account":"@TOA#news","Random":1,"MsgBody":"text"}"#.to_string(),
            10004,
        ),
        (
            format!(
                r#"{{"Official_Account":"@TOA#news","Random":1,"OnlineOnlyFlag":1,"SendMsgControl":["NoLastMsg"],"MsgBody":{text}}}"#
            ),
            10004,
        ),
        (
            format!(
                r#"{{"Official_Account":"@TOA#news","Random":1,"SendMsgControl":["NoUnread"],"MsgBody":{text}}}"#
            ),
            10004,
        ),
        ("{".to_string(), 10004),
        (
            format!(r#"{{"Official_Account":"@TOA#news","Random":1,"MsgBody":{big}}}"#),
            80002,
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(
            raw.code(OFFICIAL, &body).await,
            expected,
            "{}",
            &body[..body.len().min(120)]
        );
    }
    assert!(sandbox.deliveries().is_empty());
}

#[tokio::test]
async fn streams_chain_by_msgkey_and_refuse_unknown_or_finished_keys() {
    let (mut config, _) = config();
    config.directory = Directory::with_accounts(["user01", "@RBT#my_bot"]);
    let sandbox = start(config).await;
    let raw = Raw::new(&sandbox);
    let (_, first) = raw
        .post(
            STREAM,
            r#"{"From_Account":"@RBT#my_bot","To_Account":"user01","Chunk":"hello, "}"#,
        )
        .await;
    assert_eq!(first["ErrorCode"], 0);
    let key = first["MsgKey"].as_str().unwrap().to_owned();
    let (_, last) = raw
        .post(STREAM, &format!(r#"{{"From_Account":"@RBT#my_bot","To_Account":"user01","Chunk":"world","MsgKey":"{key}","Finish":1}}"#))
        .await;
    assert_eq!(last["MsgKey"], key.as_str());
    let chunks: Vec<String> = sandbox
        .deliveries_to("user01")
        .iter()
        .map(|d| d.body["Chunk"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(chunks.concat(), "hello, world");

    let after_finish = format!(
        r#"{{"From_Account":"@RBT#my_bot","To_Account":"user01","Chunk":"!","MsgKey":"{key}"}}"#
    );
    assert_eq!(raw.code(STREAM, &after_finish).await, 10004);
    let unknown =
        r#"{"From_Account":"@RBT#my_bot","To_Account":"user01","Chunk":"!","MsgKey":"1_2_3"}"#;
    assert_eq!(raw.code(STREAM, unknown).await, 10004);
    let not_a_robot = r#"{"From_Account":"user01","To_Account":"user01","Chunk":"hi"}"#;
    assert_eq!(raw.code(STREAM, not_a_robot).await, 10004);
    let no_chunk = r#"{"From_Account":"@RBT#my_bot","To_Account":"user01"}"#;
    assert_eq!(raw.code(STREAM, no_chunk).await, 10004);
    assert_eq!(sandbox.deliveries_to("user01").len(), 2);
}

#[tokio::test]
async fn recall_withdraws_once_then_answers_20023() {
    let sandbox = start(config().0).await;
    let raw = Raw::new(&sandbox);
    let (_, sent) = raw.post(SEND, &sendmsg_body("alice", 3, "oops")).await;
    let key = sent["MsgKey"].as_str().unwrap();
    let recall =
        format!(r#"{{"From_Account":"administrator","To_Account":"alice","MsgKey":"{key}"}}"#);
    assert_eq!(raw.code(WITHDRAW, &recall).await, 0);
    assert!(sandbox.deliveries_to("alice")[0].recalled);
    assert_eq!(raw.code(WITHDRAW, &recall).await, 20023);
    let unknown = r#"{"From_Account":"administrator","To_Account":"alice","MsgKey":"9_9_9"}"#;
    assert_eq!(raw.code(WITHDRAW, unknown).await, 20022);
    assert_eq!(
        raw.code(WITHDRAW, r#"{"To_Account":"alice","MsgKey":"9_9_9"}"#)
            .await,
        90008
    );
    assert_eq!(
        raw.code(WITHDRAW, r#"{"From_Account":"a","MsgKey":"9_9_9"}"#)
            .await,
        90003
    );
    assert_eq!(
        raw.code(WITHDRAW, r#"{"From_Account":"a","To_Account":"b"}"#)
            .await,
        90054
    );
    assert_eq!(raw.code(WITHDRAW, "nope").await, 90001);
    assert_eq!(sandbox.stats().recalls, 1);
}

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
async fn account_check_and_official_account_info() {
    let (mut config, _) = config();
    config.directory = Directory::with_accounts(["alice", "@TOA#news 12"]);
    let sandbox = start(config).await;
    let raw = Raw::new(&sandbox);
    let (_, reply) = raw
        .post(
            "im_open_login_svc/account_check",
            r#"{"CheckItem":[{"UserID":"alice"},{"UserID":"zed"}]}"#,
        )
        .await;
    assert_eq!(reply["ResultItem"][0]["AccountStatus"], "Imported");
    assert_eq!(reply["ResultItem"][1]["AccountStatus"], "NotImported");
    let many: Vec<Value> = (0..101)
        .map(|i| json!({"UserID": format!("u{i}")}))
        .collect();
    let body = json!({ "CheckItem": many }).to_string();
    assert_eq!(
        raw.code("im_open_login_svc/account_check", &body).await,
        70206
    );

    let info = "official_account_open_http_svc/get_official_account_info";
    let (_, reply) = raw
        .post(
            info,
            r#"{"OfficialAccountIdList":[{"Official_Account":"@TOA#news"}]}"#,
        )
        .await;
    assert_eq!(reply["OfficialAccountInfoList"][0]["SubscriberNum"], 12);
    assert_eq!(
        raw.code(info, r#"{"OfficialAccountIdList":["@TOA#nope"]}"#)
            .await,
        10010
    );
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
