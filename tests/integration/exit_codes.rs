//! Exit codes a script can act on: 1 when the user must fix a file or a flag, 5 when the
//! environment failed (try again later), and a closed stdout that is not an error at all.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use timcast::im::Endpoint;
use timcast::journal::{SendRecord, SendState, State};

const BIN: &str = env!("CARGO_BIN_EXE_timcast");

fn timcast(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .env_remove("TIMCAST_STATE")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn example(dir: &Path) -> String {
    let campaigns = Path::new(env!("CARGO_MANIFEST_DIR")).join("campaigns");
    crate::common::copy_dir(&campaigns, &dir.join("campaigns"));
    "campaigns/welcome.yaml".to_owned()
}

#[test]
fn a_state_file_that_is_not_a_database_is_the_environment_exit_5() {
    let dir = tempfile::tempdir().unwrap();
    let campaign = example(dir.path());
    std::fs::write(
        dir.path().join("notes.txt"),
        "these are my notes, not a journal\n".repeat(100),
    )
    .unwrap();
    let run = timcast(dir.path(), &["plan", &campaign, "--state", "notes.txt"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("notes.txt"), "{stderr}");
    assert!(stderr.contains("try again"), "{stderr}");
    // The cause is printed once, not once per layer.
    assert_eq!(stderr.matches("not a database").count(), 1, "{stderr}");
}

#[test]
fn a_missing_campaign_file_is_a_user_error_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["plan", "apply", "preview", "recall"] {
        let run = timcast(dir.path(), &[command, "nowhere.yaml"]);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{command}: {stderr}");
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
        })
        .collect();
    State::sqlite(&state)
        .open()
        .unwrap()
        .upsert(&records)
        .unwrap();
    for format in ["text", "csv", "json"] {
        let mut child = Command::new(BIN)
            .current_dir(dir.path())
            .args(["report", "big", "--state", "state.db", "--format", format])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut first).unwrap();
        assert!(!first.is_empty(), "{format}");
        // `head -1` exits here: the rest of the report meets a closed pipe.
        drop(stdout);
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{format}: {stderr}");
        assert!(stderr.is_empty(), "{format}: {stderr}");
    }
}
