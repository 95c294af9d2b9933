//! Exit codes a script can act on: 1 when the user must fix a file or a flag, 5 when the
//! environment failed (try again later), and a closed stdout that is not an error at all.

use crate::common::{self, Outcome, Session};

use std::io::{BufRead, BufReader};

use timcast::im::Endpoint;
use timcast::journal::{SendRecord, SendState, State};

#[test]
fn a_state_file_that_is_not_a_database_is_the_environment_exit_5() {
    let dir = common::workspace();
    let campaign = "campaigns/welcome.yaml";
    std::fs::write(
        dir.path().join("notes.txt"),
        "these are my notes, not a journal\n".repeat(100),
    )
    .unwrap();
    let Outcome { code, stderr, .. } = Session::new()
        .current_dir(dir.path())
        .args(["plan", campaign, "--state", "notes.txt"])
        .run();
    assert_eq!(code, 5, "{stderr}");
    assert!(stderr.contains("notes.txt"), "{stderr}");
    assert!(stderr.contains("try again"), "{stderr}");
    // The cause is printed once, not once per layer.
    assert_eq!(stderr.matches("not a database").count(), 1, "{stderr}");
}

#[test]
fn a_missing_campaign_file_is_a_user_error_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["plan", "apply", "preview", "recall"] {
        let Outcome { code, stderr, .. } = Session::new()
            .current_dir(dir.path())
            .args([command, "nowhere.yaml"])
            .run();
        assert_eq!(code, 1, "{command}: {stderr}");
        assert!(stderr.contains("nowhere.yaml"), "{command}: {stderr}");
    }
}

#[test]
fn a_report_piped_into_head_ends_quietly_with_0() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let records: Vec<SendRecord> = (0..20_000)
        .map(|i| SendRecord {
            campaign: "big".into(),
            recipient: format!("user-{i:06}"),
            content_hash: "ab".into(),
            state: SendState::Sent,
            endpoint: Endpoint::SendMsg,
            call_id: format!("user-{i:06}"),
            msg_random: 1,
            msg_seq: 1,
            msg_key: Some(format!("1_{i}_1795000000")),
            msg_time: Some(1_795_000_000),
            error_code: None,
            error_text: None,
            error_class: None,
            attempts: 1,
            intent_at_ms: 1_795_000_000_000,
            updated_at_ms: 1_795_000_000_000 + i,
            variant: None,
            locale: None,
        })
        .collect();
    State::sqlite(&state)
        .open()
        .unwrap()
        .upsert(&records)
        .unwrap();
    for format in ["text", "csv", "json"] {
        let mut child = Session::new()
            .current_dir(dir.path())
            .args(["report", "big", "--state", "state.db", "--format", format])
            .spawn();
        let mut first = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut first).unwrap();
        assert!(!first.is_empty(), "{format}");
        // `head -1` exits here: the rest of the report meets a closed pipe.
        drop(stdout);
        let Outcome { code, stderr, .. } = Outcome::wait(child);
        assert_eq!(code, 0, "{format}: {stderr}");
        assert!(stderr.is_empty(), "{format}: {stderr}");
    }
}
