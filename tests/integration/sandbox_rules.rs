//! The sandbox, spoken to over raw HTTP on 127.0.0.1: every documented refusal, the duplicate
//! rules, streams, recall and the account lookups. Limits, faults and logs are in
//! `sandbox_faults`. Time is a manual clock; nothing sleeps.

#![allow(clippy::unwrap_used)] // test helpers may unwrap

use crate::common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use timcast::im::SecretKey;
use timcast::im::settings::DEMO_SDKAPPID;
use timcast::im::usersig;
use timcast::sandbox::Directory;

pub(crate) const SEND: &str = "openim/sendmsg";
pub(crate) const BATCH: &str = "openim/batchsendmsg";
pub(crate) const OFFICIAL: &str = "official_account_open_http_svc/send_official_account_msg";
const STREAM: &str = "openim_robot_http_svc/send_stream_msg";
pub(crate) const WITHDRAW: &str = "openim/admin_msgwithdraw";

pub(crate) fn query_with(sdkappid: &str, identifier: &str, sig: &str) -> String {
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
