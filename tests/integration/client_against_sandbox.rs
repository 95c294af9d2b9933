//! The typed client against the sandbox on 127.0.0.1: every endpoint, and every error class
//! as the executor will see it.

#![allow(clippy::unwrap_used)] // test helpers may unwrap

use crate::common;

use std::time::Duration;

use common::*;
use timcast::im::*;
use timcast::sandbox::{Directory, Injected};

fn every_element() -> Vec<MsgElement> {
    vec![
        MsgElement::text("Hi Ann, 30% off until Sunday"),
        MsgElement::Face(FaceElem {
            index: 6,
            data: Some("abc".into()),
        }),
        MsgElement::Location(LocationElem {
            desc: "Store".into(),
            latitude: 22.54,
            longitude: 113.93,
        }),
        MsgElement::Custom(CustomElem {
            data: r#"{"coupon":"X1"}"#.into(),
            desc: Some("coupon".into()),
            ext: Some(String::new()),
            sound: None,
        }),
        MsgElement::Image(ImageElem {
            uuid: "img-1".into(),
            image_format: Some(3),
            image_info_array: vec![ImageInfo {
                kind: 1,
                size: Some(1024),
                width: 640,
                height: 480,
                url: "https://example.com/a.png".into(),
            }],
        }),
        MsgElement::Sound(SoundElem {
            url: "https://example.com/a.mp3".into(),
            uuid: "snd-1".into(),
            size: Some(10),
            second: Some(3),
            download_flag: 2,
        }),
        MsgElement::File(FileElem {
            url: "https://example.com/a.pdf".into(),
            uuid: "file-1".into(),
            file_size: Some(99),
            file_name: Some("a.pdf".into()),
            download_flag: 2,
        }),
        MsgElement::VideoFile(VideoFileElem {
            video_url: "https://example.com/v.mp4".into(),
            video_uuid: "vid-1".into(),
            video_size: Some(1),
            video_second: Some(2),
            video_format: Some("mp4".into()),
            video_download_flag: 2,
            thumb_url: "https://example.com/t.jpg".into(),
            thumb_uuid: "th-1".into(),
            thumb_size: Some(3),
            thumb_width: Some(4),
            thumb_height: Some(5),
            thumb_format: Some("JPG".into()),
            thumb_download_flag: 2,
        }),
    ]
}

fn push() -> OfflinePushInfo {
    OfflinePushInfo {
        push_flag: Some(0),
        title: Some("30% off".into()),
        desc: Some("Your coupon is waiting".into()),
        ext: Some(r#"{"deeplink":"app://deals"}"#.into()),
        android_info: Some(AndroidInfo {
            sound: Some("android.mp3".into()),
            vivo_classification: Some(0),
            ..Default::default()
        }),
        apns_info: Some(ApnsInfo {
            sound: Some("apns.mp3".into()),
            badge_mode: Some(1),
            title: Some("Deals".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_message_with_every_element_type_and_push_info_is_accepted_and_delivered_as_sent() {
    let sandbox = start(config().0).await;
    let client = client(&sandbox);
    let mut req = SendMsgRequest::new("ann", 12345, every_element());
    req.from_account = Some("shop".into());
    req.sync_other_machine = Some(2);
    req.msg_life_time = Some(3 * 86_400);
    req.msg_seq = Some(7);
    req.send_msg_control = Some(vec![SendMsgControl::NoLastMsg]);
    req.forbid_callback_control = Some(vec![ForbidCallback::ForbidBeforeSendMsgCallback]);
    req.cloud_custom_data = Some(r#"{"campaign":"bf"}"#.into());
    req.offline_push_info = Some(push());
    let reply = client.send_msg(&req).await.unwrap();
    let key = reply.msg_key.unwrap();
    assert!(reply.msg_time.is_some());
    let got = sandbox.deliveries_to("ann");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].msg_key, key);
    assert_eq!(got[0].sender, "shop");
    // What arrived reads back into the same typed body.
    let body: Vec<MsgElement> = serde_json::from_value(got[0].body.clone()).unwrap();
    assert_eq!(body, every_element());
}

#[test]
fn wire_names_match_the_documents() {
    let mut req = SendMsgRequest::new("lumotuwe2", 1287657, vec![MsgElement::text("hi, beauty")]);
    req.sync_other_machine = Some(2);
    req.msg_life_time = Some(60);
    req.msg_time_stamp = Some(1557387418);
    let json = serde_json::to_value(&req).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "SyncOtherMachine": 2, "To_Account": "lumotuwe2", "MsgLifeTime": 60,
            "MsgRandom": 1287657, "MsgTimeStamp": 1557387418,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi, beauty"}}]
        })
    );
    // The seed's batch reply, partial failure.
    let reply: BatchSendMsgResponse = serde_json::from_str(
        r#"{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","MsgKey":"128493_903762_1572870301","ErrorList":[{"To_Account":"rong","ErrorCode":70107}]}"#,
    )
    .unwrap();
    assert_eq!(reply.error_list[0].to_account, "rong");
    assert_eq!(
        serde_json::to_string(&GetAllRobotsRequest {}).unwrap(),
        "{}"
    );
}

#[tokio::test]
async fn batch_outcomes_are_split_per_recipient() {
    let (mut config, _) = config();
    config.directory = Directory::with_accounts(["ann", "ben"]);
    config.scripted_errors.insert("ben".into(), 80001);
    let sandbox = start(config).await;
    let client = client(&sandbox);
    let to: Vec<String> = ["ann", "ben", "rong"].map(String::from).to_vec();
    let req = BatchSendMsgRequest::new(to.clone(), 9, vec![MsgElement::text("sale")]);
    let reply = client.batch_send_msg(&req).await.unwrap();
    let outcomes = batch_outcomes(&to, &reply);
    assert_eq!(
        outcomes[0],
        (
            "ann".into(),
            RecipientOutcome::Sent {
                msg_key: reply.msg_key.clone()
            }
        )
    );
    assert_eq!(
        outcomes[1],
        (
            "ben".into(),
            RecipientOutcome::Failed {
                code: 80001,
                class: ErrorClass::PermanentRecipient
            }
        )
    );
    assert_eq!(
        outcomes[2],
        (
            "rong".into(),
            RecipientOutcome::Failed {
                code: 70107,
                class: ErrorClass::PermanentRecipient
            }
        )
    );

    // Everybody failing is an error for the whole call.
    let none = BatchSendMsgRequest::new(vec!["rong".into()], 9, vec![MsgElement::text("sale")]);
    let err = client.batch_send_msg(&none).await.unwrap_err();
    assert_eq!(err.code(), Some(90012));
    assert_eq!(err.class(), ErrorClass::PermanentRecipient);
}

#[tokio::test]
async fn official_accounts_streams_robots_recall_and_account_checks() {
    let (mut config, _) = config();
    config.directory = Directory::with_accounts(["ann", "@RBT#deals_bot", "@TOA#news 5000"]);
    let sandbox = start(config).await;
    let client = client(&sandbox);

    let mut broadcast =
        SendOfficialAccountMsgRequest::new("@TOA#news", 9875, vec![MsgElement::text("red packet")]);
    broadcast.send_msg_control = Some(vec![SendMsgControl::NoLastMsg]);
    broadcast.offline_push_info = Some(push());
    let sent = client.send_official_account_msg(&broadcast).await.unwrap();
    assert_eq!(
        sandbox.deliveries_to("@TOA#news")[0].subscribers,
        Some(5000)
    );

    let info = client
        .get_official_account_info(&GetOfficialAccountInfoRequest {
            official_account_id_list: vec![OfficialAccountId {
                official_account: "@TOA#news".into(),
            }],
            response_filter: None,
        })
        .await
        .unwrap();
    assert_eq!(
        info.official_account_info_list[0].subscriber_num,
        Some(5000)
    );

    client
        .official_account_msg_recall(&OfficialAccountMsgRecallRequest::new(
            "@TOA#news",
            vec![sent.msg_key.unwrap()],
        ))
        .await
        .unwrap();
    assert!(sandbox.deliveries_to("@TOA#news")[0].recalled);

    let mut chunk = SendStreamMsgRequest {
        from_account: "@RBT#deals_bot".into(),
        to_account: "ann".into(),
        chunk: "Hello, ".into(),
        msg_key: None,
        finish: None,
    };
    let first = client.send_stream_msg(&chunk).await.unwrap();
    chunk.msg_key = first.msg_key.clone();
    chunk.chunk = "Ann".into();
    chunk.finish = Some(1);
    let last = client.send_stream_msg(&chunk).await.unwrap();
    assert_eq!(last.msg_key, first.msg_key);
    let err = client.send_stream_msg(&chunk).await.unwrap_err();
    assert_eq!(
        (err.code(), err.class()),
        (Some(10004), ErrorClass::PermanentRequest)
    );

    let robots = client.get_all_robots().await.unwrap();
    assert_eq!(robots.robot_account, vec!["@RBT#deals_bot".to_string()]);

    let checked = client
        .account_check(&AccountCheckRequest::new(["ann", "zed"]))
        .await
        .unwrap();
    assert_eq!(
        checked.result_item[0].account_status,
        Some(AccountStatus::Imported)
    );
    assert_eq!(
        checked.result_item[1].account_status,
        Some(AccountStatus::NotImported)
    );

    let msg = client
        .send_msg(&SendMsgRequest::new(
            "ann",
            1,
            vec![MsgElement::text("oops")],
        ))
        .await
        .unwrap();
    let recall = MsgWithdrawRequest {
        from_account: ADMIN.into(),
        to_account: "ann".into(),
        msg_key: msg.msg_key.unwrap(),
    };
    client.admin_msg_withdraw(&recall).await.unwrap();
    let again = client.admin_msg_withdraw(&recall).await.unwrap_err();
    assert_eq!(again.code(), Some(20023));
    assert_eq!(again.class(), ErrorClass::PermanentRecipient);
}

#[tokio::test]
async fn every_error_class_reaches_the_caller() {
    let (mut config, _) = config();
    config.directory = Directory::with_accounts(["ann"]);
    let sandbox = start(config).await;
    let client = client(&sandbox);
    let hello = SendMsgRequest::new("ann", 1, vec![MsgElement::text("hello")]);

    sandbox.inject(None, Injected::Code(20005), 1);
    let err = client.send_msg(&hello).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Retry);
    assert!(
        !err.is_uncertain(),
        "an API error means the server refused it"
    );

    sandbox.inject(None, Injected::Code(60007), 1);
    assert_eq!(
        client.send_msg(&hello).await.unwrap_err().class(),
        ErrorClass::RateLimited
    );

    sandbox.inject(None, Injected::HttpStatus(429), 1);
    let err = client.send_msg(&hello).await.unwrap_err();
    assert!(matches!(err, ClientError::HttpStatus { status: 429, .. }));
    assert_eq!(err.class(), ErrorClass::RateLimited);

    let err = client
        .send_msg(&SendMsgRequest::new("zed", 1, vec![MsgElement::text("x")]))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.class()),
        (Some(90012), ErrorClass::PermanentRecipient)
    );

    let mut too_long = hello.clone();
    too_long.msg_life_time = Some(700_000);
    let err = client.send_msg(&too_long).await.unwrap_err();
    assert_eq!(
        (err.code(), err.class()),
        (Some(90026), ErrorClass::PermanentRequest)
    );

    sandbox.inject(None, Injected::Code(45_678), 1);
    let err = client.send_msg(&hello).await.unwrap_err();
    assert_eq!(
        err.class(),
        ErrorClass::Unknown,
        "an undocumented code is of unknown class, not a permanent failure"
    );
    assert!(err.to_string().contains("45678"), "{err}");

    let forged = client_with(
        &sandbox,
        timcast::im::SecretKey::new("wrong key"),
        Duration::from_secs(5),
    );
    let err = forged.send_msg(&hello).await.unwrap_err();
    assert_eq!(
        (err.code(), err.class()),
        (Some(70009), ErrorClass::FatalRun)
    );
    assert!(!err.to_string().contains("wrong key"));

    assert_eq!(
        sandbox.deliveries().len(),
        0,
        "no failed call delivered anything"
    );
}

#[tokio::test]
async fn an_expired_usersig_is_renewed_once_and_a_repeat_is_fatal() {
    let sandbox = start(config().0).await;
    let client = client(&sandbox);
    let hello = SendMsgRequest::new("ann", 1, vec![MsgElement::text("hello")]);
    sandbox.inject(None, Injected::Code(70001), 1);
    client.send_msg(&hello).await.unwrap();
    assert_eq!(sandbox.stats().endpoints[&Endpoint::SendMsg].calls, 2);

    sandbox.inject(None, Injected::Code(70052), 2);
    let err = client
        .send_msg(&SendMsgRequest::new("ann", 2, vec![MsgElement::text("x")]))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.class()),
        (Some(70052), ErrorClass::FatalRun)
    );
    assert_eq!(sandbox.deliveries().len(), 1);
}

#[tokio::test]
async fn a_lost_reply_is_uncertain_and_an_identical_resend_inside_120_s_is_absorbed() {
    let sandbox = start(config().0).await;
    let client = client(&sandbox);
    let mut req = SendMsgRequest::new("ann", 4242, vec![MsgElement::text("exactly once")]);
    req.msg_seq = Some(1);
    sandbox.inject(Some(Endpoint::SendMsg), Injected::LostReply, 1);
    let err = client.send_msg(&req).await.unwrap_err();
    assert!(err.is_uncertain(), "{err}");
    assert_eq!(err.class(), ErrorClass::Retry);
    assert_eq!(sandbox.deliveries_to("ann").len(), 1, "it took effect");

    let resent = client.send_msg(&req).await.unwrap();
    assert_eq!(
        resent.msg_key.as_deref(),
        Some(sandbox.deliveries_to("ann")[0].msg_key.as_str())
    );
    assert_eq!(
        sandbox.deliveries_to("ann").len(),
        1,
        "the server dropped the repeat"
    );
}

#[tokio::test]
async fn an_http_502_without_effect_is_still_uncertain_to_the_client() {
    let sandbox = start(config().0).await;
    let client = client(&sandbox);
    sandbox.inject(None, Injected::HttpStatus(502), 1);
    let err = client.get_all_robots().await.unwrap_err();
    assert!(matches!(err, ClientError::LostReply { .. }));
    assert!(err.is_uncertain());
}

#[tokio::test]
async fn a_timeout_is_uncertain_and_a_refused_connection_is_not_sent() {
    let (mut config, _) = config();
    config.faults.latency = Duration::from_millis(800);
    let sandbox = start(config).await;
    let impatient = client_with(&sandbox, demo_key(), Duration::from_millis(200));
    let err = impatient.get_all_robots().await.unwrap_err();
    assert!(err.is_uncertain(), "{err}");
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(
        !err.to_string().contains("usersig="),
        "no URL, no UserSig in errors: {err}"
    );

    // A port nobody listens on: the request never left.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut config = ClientConfig::new(Connection {
        base_url: BaseUrl::parse(&format!("http://127.0.0.1:{port}")).unwrap(),
        credentials: Credentials {
            sdkappid: 1_400_000_000,
            admin: ADMIN.into(),
            secret: demo_key(),
        },
    });
    config.connect_timeout = Duration::from_secs(2);
    let nobody = ImClient::new(config).unwrap();
    let err = nobody.get_all_robots().await.unwrap_err();
    assert!(matches!(err, ClientError::NotSent { .. }), "{err}");
    assert!(!err.is_uncertain());
    assert_eq!(err.class(), ErrorClass::Retry);
}

#[tokio::test]
async fn the_client_rate_limit_error_comes_from_the_real_limiter_too() {
    let sandbox = start(config().0).await;
    let client = client(&sandbox);
    let mut last = None;
    for _ in 0..201 {
        last = Some(client.get_all_robots().await);
    }
    let err = last.unwrap().unwrap_err();
    assert_eq!(
        (err.code(), err.class()),
        (Some(60007), ErrorClass::RateLimited)
    );
}
