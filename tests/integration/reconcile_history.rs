//! What the server's message history can tell a settle: the sandbox's history and its paging
//! (lost replies included, 13 KB per reply), histories of several pages read to the end, and
//! a send outside the retention that stays uncertain. Helpers are `reconcile`'s.

use crate::common::{self, ADMIN, CampaignWriter, Raw, Session};

use std::time::Duration;

use timcast::im::{Endpoint, GetRoamMsgRequest};
use timcast::journal::SendState;
use timcast::sandbox::{Clock, Faults, History, Injected, Limits};

use crate::reconcile::{
    PERSONAL, campaign_deliveries, delivery, options, records, rewind_uncertain, run, sandbox,
    sendmsg, uncertain,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_history_has_every_delivery_lost_replies_included_newest_first_in_pages() {
    let (mut config, clock) = common::config();
    config.history = History {
        retention: Duration::from_secs(3600),
        page_size: Some(3),
        ..History::documented()
    };
    let sandbox = common::start(config).await;
    let raw = Raw::new(&sandbox);
    let t0 = clock.now_secs();
    for i in 0..4u32 {
        if i == 2 {
            // Delivered, but the caller never hears of it.
            sandbox.inject(Some(Endpoint::SendMsg), Injected::LostReply, 1);
            let (status, _) = raw
                .post(
                    "openim/sendmsg",
                    &sendmsg("ann", 10 + i, 100 + i, "lost", 2),
                )
                .await;
            assert_eq!(status, 502);
        } else {
            let sync = if i == 0 { 1 } else { 2 };
            let body = sendmsg("ann", 10 + i, 100 + i, &format!("m{i}"), sync);
            assert_eq!(raw.code("openim/sendmsg", &body).await, 0);
        }
        clock.advance(Duration::from_secs(1));
    }
    let batch = format!(
        r#"{{"To_Account":["ann","ben"],"MsgSeq":77,"MsgRandom":88,"MsgBody":{}}}"#,
        common::text_body("to both")
    );
    let (_, reply) = raw.post("openim/batchsendmsg", &batch).await;
    let batch_key = reply["MsgKey"].as_str().unwrap().to_owned();

    let client = common::client(&sandbox);
    let all = client
        .roam_history(
            GetRoamMsgRequest::first_page("ann", ADMIN, t0, t0 + 60),
            100,
        )
        .await
        .unwrap();
    // Every delivery to ann, the lost reply's included, newest first.
    let seqs: Vec<u64> = all.iter().map(|m| m.msg_seq).collect();
    assert_eq!(seqs, [77, 13, 12, 11, 10]);
    assert_eq!(all[0].msg_key, batch_key);
    assert_eq!((all[0].msg_random, all[2].msg_random), (88, 102));
    assert!(
        all.iter()
            .all(|m| m.from_account == ADMIN && m.to_account == "ann")
    );
    assert!(
        all.windows(2)
            .all(|w| w[0].msg_time_stamp >= w[1].msg_time_stamp)
    );
    // Five messages at three a page: two pages, continued with MaxTime and LastMsgKey.
    assert_eq!(
        sandbox.stats().endpoints[&Endpoint::AdminGetRoamMsg].calls,
        2
    );
    // From the sender's side, SyncOtherMachine 2 kept its messages out (the batch gave none:
    // the server's default syncs it).
    let mine = client
        .roam_history(
            GetRoamMsgRequest::first_page(ADMIN, "ann", t0, t0 + 60),
            100,
        )
        .await
        .unwrap();
    let seqs: Vec<u64> = mine.iter().map(|m| m.msg_seq).collect();
    assert_eq!(seqs, [77, 10]);
    // The time range is honoured.
    let early = client
        .roam_history(GetRoamMsgRequest::first_page("ann", ADMIN, t0, t0 + 1), 100)
        .await
        .unwrap();
    assert_eq!(
        early.iter().map(|m| m.msg_seq).collect::<Vec<_>>(),
        [11, 10]
    );
    // Past the retention, nothing is left.
    clock.advance(Duration::from_secs(3601));
    let gone = client
        .roam_history(
            GetRoamMsgRequest::first_page("ann", ADMIN, 0, t0 + 7200),
            100,
        )
        .await
        .unwrap();
    assert!(gone.is_empty(), "{gone:?}");
    // Requests are checked as documented.
    for body in [
        r#"{"Peer_Account":"ann","MaxCnt":10,"MinTime":0,"MaxTime":1}"#,
        r#"{"Operator_Account":"ann","Peer_Account":"ben","MaxCnt":0,"MinTime":0,"MaxTime":1}"#,
        r#"{"Operator_Account":"ann","Peer_Account":"ben","MaxCnt":5,"MinTime":9,"MaxTime":1}"#,
    ] {
        assert_eq!(
            raw.code("openim/admin_getroammsg", body).await,
            90010,
            "{body}"
        );
    }
    assert_eq!(raw.code("openim/admin_getroammsg", "{").await, 90001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_holds_at_most_13_kb_of_history() {
    let (config, clock) = common::config();
    let sandbox = common::start(config).await;
    let raw = Raw::new(&sandbox);
    let text = "x".repeat(1000);
    for i in 0..30u32 {
        assert_eq!(
            raw.code("openim/sendmsg", &sendmsg("cat", i, i, &text, 2))
                .await,
            0
        );
    }
    let t = clock.now_secs();
    let mut body = format!(
        r#"{{"Operator_Account":"cat","Peer_Account":"{ADMIN}","MaxCnt":100,"MinTime":{},"MaxTime":{}}}"#,
        t - 5,
        t + 5
    );
    let mut seen = 0;
    let mut pages = 0;
    loop {
        let (status, reply) = raw.post("openim/admin_getroammsg", &body).await;
        assert_eq!(status, 200);
        pages += 1;
        let n = reply["MsgCnt"].as_u64().unwrap();
        assert!((1..30).contains(&n), "{n} messages in one page");
        assert!(
            reply.to_string().len() <= 13 * 1024,
            "{}",
            reply.to_string().len()
        );
        seen += n;
        if reply["Complete"] == 1 {
            break;
        }
        body = format!(
            r#"{{"Operator_Account":"cat","Peer_Account":"{ADMIN}","MaxCnt":100,"MinTime":{},"MaxTime":{},"LastMsgKey":{}}}"#,
            t - 5,
            reply["LastMsgTime"],
            reply["LastMsgKey"]
        );
    }
    assert_eq!(seen, 30);
    assert!(pages >= 3, "{pages} pages");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn histories_of_several_pages_are_read_to_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = CampaignWriter::new(dir.path(), "deep")
        .recipients(2)
        .text(PERSONAL)
        .delivery(&delivery("off", 1))
        .write();
    let history = History {
        page_size: Some(4),
        ..History::documented()
    };
    let sandbox = sandbox(history, Faults::none(), Limits::off()).await;
    let options = options(dir.path());
    sandbox.inject(Some(Endpoint::SendMsg), Injected::LostReply, 1);
    sandbox.inject(Some(Endpoint::SendMsg), Injected::HttpStatus(502), 1);
    let summary = run(&path, &options, common::client(&sandbox)).await;
    assert_eq!(summary.uncertain, 2, "{summary:?}");
    // Other messages from the same sender pile up in both conversations afterwards.
    let raw = Raw::new(&sandbox);
    for (k, who) in [(0, "deep-u0"), (100, "deep-u1")] {
        for i in 0..25u32 {
            let body = sendmsg(who, 1000 + k + i, 5000 + k + i, &format!("news {i}"), 2);
            assert_eq!(raw.code("openim/sendmsg", &body).await, 0);
        }
    }
    rewind_uncertain(&options.state, "deep", Duration::from_secs(600));
    let summary = run(&path, &options, common::client(&sandbox)).await;
    assert_eq!(
        (summary.settled_sent, summary.settled_not_sent),
        (1, 1),
        "{summary:?}"
    );
    // 26 and 25 messages at 4 a page: 7 pages each, the one that arrived found on its last.
    assert_eq!(
        sandbox.stats().endpoints[&Endpoint::AdminGetRoamMsg].calls,
        14
    );
    let per = campaign_deliveries(&sandbox, "your parcel");
    assert_eq!(per.len(), 2);
    assert!(per.values().all(|c| *c == 1), "{per:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_outside_the_retention_stays_uncertain_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let path = CampaignWriter::new(dir.path(), "old")
        .recipients(3)
        .text(PERSONAL)
        .delivery(&delivery("off", 1))
        .write();
    let sandbox = sandbox(History::documented(), Faults::none(), Limits::off()).await;
    let options = options(dir.path());
    sandbox.inject(Some(Endpoint::SendMsg), Injected::LostReply, 1);
    let summary = run(&path, &options, common::client(&sandbox)).await;
    assert_eq!(summary.uncertain, 1, "{summary:?}");
    let who = uncertain(&options.state, "old").pop().unwrap();
    // As if that send had been made eight days ago: beyond the 7 days the server keeps.
    rewind_uncertain(&options.state, "old", Duration::from_secs(8 * 86_400));

    let summary = run(&path, &options, common::client(&sandbox)).await;
    assert_eq!(
        (summary.sent, summary.settled_sent, summary.settled_not_sent),
        (0, 0, 0)
    );
    assert_eq!(summary.skipped_uncertain, 1, "{summary:?}");
    let calls = sandbox
        .stats()
        .endpoints
        .get(&Endpoint::AdminGetRoamMsg)
        .map(|e| e.calls);
    assert_eq!(calls, None, "nothing to look up beyond the retention");
    let state = options.state.to_string();
    let p = path.to_string_lossy().into_owned();
    // `reconcile` says why it stays uncertain, and exits 3.
    let out = Session::new()
        .current_dir(dir.path())
        .sandbox(&sandbox)
        .args(["reconcile", &p, "--state", &state])
        .run_async()
        .await
        .expect_code(3);
    assert!(
        out.stdout
            .contains("1 uncertain sends: 0 settled as sent, 0 as not sent, 1 still uncertain"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!("? {who} still uncertain: older than the server keeps one-to-one history (7d of roaming retention)")),
        "{}",
        out.stdout
    );
    // The report shows it too.
    let report = Session::new()
        .current_dir(dir.path())
        .args(["report", &p, "--state", &state])
        .run_async()
        .await
        .expect_code(0);
    assert!(
        report.stdout.contains("roaming retention"),
        "{}",
        report.stdout
    );
    // An app that keeps history longer says so, and the send is found.
    let out = Session::new()
        .current_dir(dir.path())
        .sandbox(&sandbox)
        .args([
            "reconcile",
            &p,
            "--state",
            &state,
            "--history-retention",
            "30d",
        ])
        .run_async()
        .await
        .expect_code(0);
    assert!(
        out.stdout
            .contains("1 settled as sent, 0 as not sent, 0 still uncertain"),
        "{}",
        out.stdout
    );
    assert_eq!(records(&options.state, "old")[&who].state, SendState::Sent);
    let per = campaign_deliveries(&sandbox, "your parcel");
    assert!(per.len() == 3 && per.values().all(|c| *c == 1), "{per:?}");
}
