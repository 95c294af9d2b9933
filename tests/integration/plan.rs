//! `timcast plan` and `timcast preview` as a user runs them: the example campaigns planned in
//! every format, a journal holding every diff state, saved plans, comparisons with an older
//! version, bad rows, and the online checks against the sandbox.

#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use crate::common::{self, Outcome, Session, workspace};

use std::path::Path;

use timcast::journal::{SendRecord, SendState, State};
use timcast::plan::saved::{self, SavedSend};

#[test]
fn example_plans_in_every_format() {
    let dir = workspace();
    for campaign in ["welcome", "promotion", "announcement", "chatbot"] {
        let file = format!("campaigns/{campaign}.yaml");
        for format in ["text", "markdown", "json"] {
            let Outcome {
                code,
                stdout,
                stderr,
            } = Session::new()
                .current_dir(dir.path())
                // Before the promotion's schedule ends, so the snapshots do not age.
                .now("2026-11-26T00:00:00Z")
                .args(["plan", &file, "--format", format])
                .run();
            assert_eq!(code, 0, "{file} {format}: {stderr}");
            insta::assert_snapshot!(format!("example_{campaign}_{format}"), stdout);
        }
    }
}

fn saved_sends(path: &Path) -> Vec<SavedSend> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn record(campaign: &str, send: &SavedSend, state: SendState, hash: &str) -> SendRecord {
    SendRecord {
        campaign: campaign.into(),
        recipient: send.user_id.clone(),
        content_hash: hash.into(),
        state,
        endpoint: timcast::im::Endpoint::SendMsg,
        call_id: send.user_id.clone(),
        msg_random: 1,
        msg_seq: 2,
        msg_key: (state == SendState::Sent).then(|| format!("key-{}", send.user_id)),
        msg_time: Some(1_764_000_000),
        error_code: None,
        error_text: None,
        error_class: None,
        attempts: 1,
        intent_at_ms: 1_764_000_000_000,
        updated_at_ms: 1_764_000_000_000,
        variant: None,
        locale: None,
    }
}

/// A journal where the welcome campaign's recipients stand in every state the plan knows.
fn journal_with_every_state(dir: &Path) {
    let Outcome { code, stderr, .. } = Session::new()
        .current_dir(dir)
        .args(["plan", "campaigns/welcome.yaml", "--out", "first.plan"])
        .run();
    assert_eq!(code, 0, "{stderr}");
    let sends = saved_sends(&dir.join("first.plan"));
    assert_eq!(sends.len(), 8);
    let campaign = "welcome-2026-11";
    let mut journal = State::sqlite(dir.join(".timcast/state.db")).open().unwrap();
    let mut failed_retryable = record(
        campaign,
        &sends[2],
        SendState::Failed,
        &sends[2].content_hash,
    );
    failed_retryable.error_code = Some(20004);
    failed_retryable.error_text = Some("network error".into());
    failed_retryable.error_class = Some(timcast::im::ErrorClass::Retry);
    let mut failed_for_good = record(
        campaign,
        &sends[3],
        SendState::Failed,
        &sends[3].content_hash,
    );
    failed_for_good.error_code = Some(20007);
    failed_for_good.error_text = Some("recipient blocklisted the sender".into());
    failed_for_good.error_class = Some(timcast::im::ErrorClass::PermanentRecipient);
    let gone = SavedSend {
        row: None,
        user_id: "u0999".into(),
        state: timcast::plan::DiffState::New,
        pending: true,
        content_hash: "00".into(),
    };
    journal
        .upsert(&[
            record(campaign, &sends[0], SendState::Sent, &sends[0].content_hash),
            record(campaign, &sends[1], SendState::Sent, "an-older-version"),
            failed_retryable,
            failed_for_good,
            record(
                campaign,
                &sends[4],
                SendState::Intent,
                &sends[4].content_hash,
            ),
            record(campaign, &gone, SendState::Sent, "00"),
        ])
        .unwrap();
}

#[test]
fn a_journal_with_every_diff_state() {
    let dir = workspace();
    journal_with_every_state(dir.path());
    for format in ["text", "markdown", "json"] {
        let Outcome {
            code,
            stdout,
            stderr,
        } = Session::new()
            .current_dir(dir.path())
            .args([
                "plan",
                "campaigns/welcome.yaml",
                "--format",
                format,
                "--detailed-exitcode",
                "--previews",
                "1",
            ])
            .run();
        assert_eq!(code, 2, "sends are pending: {stderr}");
        insta::assert_snapshot!(format!("every_state_{format}"), stdout);
    }
    let Outcome { stdout: json, .. } = Session::new()
        .current_dir(dir.path())
        .args(["plan", "campaigns/welcome.yaml", "--format", "json"])
        .run();
    let plan: serde_json::Value = serde_json::from_str(&json).unwrap();
    let states = &plan["states"];
    for (state, n) in [
        ("new", 3),
        ("retry", 1),
        ("uncertain", 1),
        ("changed", 1),
        ("unchanged", 1),
        ("failed", 1),
        ("removed", 1),
    ] {
        assert_eq!(states[state], n, "{state} in {states}");
    }
    assert_eq!(plan["pending"], 4, "3 new + 1 retry");
    // Asked to, the plan also resends the changed and the uncertain.
    let Outcome { stdout: json, .. } = Session::new()
        .current_dir(dir.path())
        .args([
            "plan",
            "campaigns/welcome.yaml",
            "--format",
            "json",
            "--resend-changed",
            "--resend-uncertain",
        ])
        .run();
    let plan: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(plan["pending"], 6);
}

#[test]
fn detailed_exitcode_is_zero_when_everything_was_sent() {
    let dir = workspace();
    Session::new()
        .current_dir(dir.path())
        .args(["plan", "campaigns/welcome.yaml", "--out", "p.plan"])
        .run();
    let sends = saved_sends(&dir.path().join("p.plan"));
    let mut journal = State::sqlite(dir.path().join(".timcast/state.db"))
        .open()
        .unwrap();
    let records: Vec<SendRecord> = sends
        .iter()
        .map(|s| record("welcome-2026-11", s, SendState::Sent, &s.content_hash))
        .collect();
    journal.upsert(&records).unwrap();
    let Outcome { code, stdout, .. } = Session::new()
        .current_dir(dir.path())
        .args(["plan", "campaigns/welcome.yaml", "--detailed-exitcode"])
        .run();
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.starts_with("Plan: welcome-2026-11: nothing to send (8 already sent)"),
        "{stdout}"
    );
    // Rows added to the CSV are exactly what the next plan sends.
    let csv = dir.path().join("campaigns/data/new-users.csv");
    let mut text = std::fs::read_to_string(&csv).unwrap();
    text.push_str(
        "u2001,Niklaus,Zurich,WELCOME-AAAA,2026-11-24\nu2002,Tony,Oxford,WELCOME-BBBB,2026-11-24\n",
    );
    std::fs::write(&csv, text).unwrap();
    let Outcome {
        code, stdout: json, ..
    } = Session::new()
        .current_dir(dir.path())
        .args([
            "plan",
            "campaigns/welcome.yaml",
            "--detailed-exitcode",
            "--format",
            "json",
        ])
        .run();
    assert_eq!(code, 2);
    let plan: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(plan["pending"], 2);
    let new: Vec<&str> = plan["samples"]["new"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(new, ["u2001", "u2002"]);
}

#[test]
fn a_saved_plan_is_refused_once_stale_or_used() {
    let dir = workspace();
    let Outcome { code, stderr, .. } = Session::new()
        .current_dir(dir.path())
        .args(["plan", "campaigns/promotion.yaml", "--out", "promo.plan"])
        .run();
    assert_eq!(code, 0);
    assert!(stderr.contains("Saved the plan to promo.plan"), "{stderr}");
    let plan = dir.path().join("promo.plan");
    let sends = saved_sends(&plan);
    assert_eq!(sends.len(), 5, "five recipients after the suppression list");
    // The plan's paths are relative to where it was made: read it as `apply` would, there.
    let mut header = saved::read_header(&plan).unwrap();
    assert_eq!(header.pending, 5);
    // A used plan cannot be applied again.
    header.journal = State::sqlite(dir.path().join(header.journal.sqlite_path().unwrap()));
    saved::mark_applied(&header).unwrap();
    let Outcome { code, stderr, .. } = Session::new()
        .current_dir(dir.path())
        .args(["apply", "promo.plan"])
        .run();
    assert_eq!(code, 1);
    assert!(stderr.contains("already applied"), "{stderr}");
    // A plan whose CSV changed is stale.
    let Outcome { code, .. } = Session::new()
        .current_dir(dir.path())
        .args(["plan", "campaigns/promotion.yaml", "--out", "again.plan"])
        .run();
    assert_eq!(code, 0);
    let suppression = dir.path().join("campaigns/data/unsubscribed.csv");
    std::fs::write(
        &suppression,
        "user_id,unsubscribed_at\nu2004,2026-10-02\nu2005,2026-11-25\n",
    )
    .unwrap();
    let Outcome { code, stderr, .. } = Session::new()
        .current_dir(dir.path())
        .args(["apply", "again.plan"])
        .run();
    assert_eq!(code, 1);
    assert!(
        stderr.contains("exclude campaigns/data/unsubscribed.csv changed since it was made"),
        "{stderr}"
    );
}

#[test]
fn bad_rows_block_the_plan_or_are_skipped_as_the_campaign_says() {
    let dir = workspace();
    let csv = dir.path().join("campaigns/data/new-users.csv");
    let mut text = std::fs::read_to_string(&csv).unwrap();
    text.push_str(
        "u1009,TooFew\n,NoId,Paris,C-1,2026-11-24\nu1001,Duplicate,Paris,C-2,2026-11-24\n",
    );
    std::fs::write(&csv, text).unwrap();
    let Outcome { code, stdout, .. } = Session::new()
        .current_dir(dir.path())
        .args(["plan", "campaigns/welcome.yaml"])
        .run();
    assert_eq!(code, 1, "on_bad_row defaults to fail: {stdout}");
    assert!(
        stdout.contains("row 10: has 2 fields, the header has 5"),
        "{stdout}"
    );
    assert!(stdout.contains("row 11: the user ID is empty"), "{stdout}");
    assert!(stdout.contains("1 duplicates"), "{stdout}");
    let yaml = dir.path().join("campaigns/welcome.yaml");
    let text = std::fs::read_to_string(&yaml).unwrap().replace(
        "  user_id_column: user_id",
        "  user_id_column: user_id\n  on_bad_row: skip",
    );
    std::fs::write(&yaml, text).unwrap();
    let Outcome { code, stdout, .. } = Session::new()
        .current_dir(dir.path())
        .args(["plan", "campaigns/welcome.yaml"])
        .run();
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("2 rows cannot be sent and are skipped"),
        "{stdout}"
    );
    assert!(
        stdout.starts_with("Plan: welcome-2026-11: 8 to send"),
        "{stdout}"
    );
}

#[test]
fn a_message_over_the_size_limit_is_an_error_for_that_recipient() {
    let dir = workspace();
    let csv = dir.path().join("campaigns/data/new-users.csv");
    let mut text = std::fs::read_to_string(&csv).unwrap();
    text.push_str(&format!(
        "u1009,{},Paris,C-1,2026-11-24\n",
        "x".repeat(13_000)
    ));
    std::fs::write(&csv, text).unwrap();
    let Outcome { code, stdout, .. } = Session::new()
        .current_dir(dir.path())
        .args(["plan", "campaigns/welcome.yaml"])
        .run();
    assert_eq!(code, 1);
    assert!(
        stdout.contains("row 10 (u1009): the message is"),
        "{stdout}"
    );
    assert!(stdout.contains("at most 12288 (12 KB)"), "{stdout}");
}

#[test]
fn against_an_older_version_shows_settings_templates_and_audience() {
    let dir = workspace();
    let old = dir.path().join("campaigns/welcome-old.yaml");
    std::fs::copy(dir.path().join("campaigns/welcome.yaml"), &old).unwrap();
    let yaml = dir.path().join("campaigns/welcome.yaml");
    let text = std::fs::read_to_string(&yaml)
        .unwrap()
        .replace("lifetime: 3d", "lifetime: 2d")
        .replace("welcome aboard!", "welcome!");
    std::fs::write(&yaml, text).unwrap();
    let Outcome {
        code,
        stdout,
        stderr,
    } = Session::new()
        .current_dir(dir.path())
        .args([
            "plan",
            "campaigns/welcome.yaml",
            "--against",
            "campaigns/welcome-old.yaml",
            "--previews",
            "0",
            "--samples",
            "0",
        ])
        .run();
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!("against_file", stdout);
}

#[test]
fn against_a_git_revision() {
    let dir = workspace();
    let git = |args: &[&str]| common::git(dir.path(), args);
    git(&["init", "-q", "."]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "first"]);
    let csv = dir.path().join("campaigns/data/new-users.csv");
    let text = std::fs::read_to_string(&csv)
        .unwrap()
        .replace("u1008,Dennis,Jakarta,WELCOME-5E21,2026-11-23\n", "");
    std::fs::write(&csv, format!("{text}u1009,Niklaus,Zurich,WELCOME-AAAA,2026-11-24\nu1010,Tony,Oxford,WELCOME-BBBB,2026-11-24\n")).unwrap();
    let yaml = dir.path().join("campaigns/welcome.yaml");
    let text = std::fs::read_to_string(&yaml)
        .unwrap()
        .replace("rate: 200", "rate: 150");
    std::fs::write(&yaml, text).unwrap();
    let Outcome {
        code,
        stdout,
        stderr,
    } = Session::new()
        .current_dir(dir.path())
        .args([
            "plan",
            "campaigns/welcome.yaml",
            "--against-git",
            "HEAD",
            "--format",
            "markdown",
            "--previews",
            "0",
            "--samples",
            "0",
        ])
        .run();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("Changes since <code>HEAD:campaigns/welcome.yaml</code>"),
        "{stdout}"
    );
    assert!(
        stdout.contains("| `delivery.rate` | `200.0` | `150.0` |"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Audience: **+2** added, **-1** removed, 7 kept"),
        "{stdout}"
    );
}

#[test]
fn preview_shows_what_one_recipient_receives() {
    let dir = workspace();
    let Outcome { code, stdout, .. } = Session::new()
        .current_dir(dir.path())
        .args(["preview", "campaigns/welcome.yaml", "--recipient", "u1003"])
        .run();
    assert_eq!(code, 0);
    insta::assert_snapshot!("preview_u1003", stdout);
    let Outcome { code, stderr, .. } = Session::new()
        .current_dir(dir.path())
        .args(["preview", "campaigns/welcome.yaml", "--recipient", "nobody"])
        .run();
    assert_eq!(code, 1);
    assert!(stderr.contains("`nobody` is not in the campaign's audience"));
}

#[test]
fn online_checks_ask_the_api_which_recipients_exist() {
    use timcast::im::settings::{DEMO_SDKAPPID, DEMO_SECRET_KEY};
    use timcast::sandbox::{Directory, Sandbox, SandboxConfig};
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut config = SandboxConfig::demo();
    let mut directory = Directory::with_accounts([
        "u1001", "u1002", "u1003", "u1004", "u1005", "u1006", "u1007",
    ]);
    directory.add("@RBT#someone_else");
    config.directory = directory;
    let sandbox = runtime.block_on(Sandbox::start(config)).unwrap();
    let dir = workspace();
    let Outcome { code, stdout, .. } = Session::new()
        .current_dir(dir.path())
        .endpoint(sandbox.base_url())
        .sdkappid(DEMO_SDKAPPID)
        .secret(DEMO_SECRET_KEY)
        .args([
            "plan",
            "campaigns/welcome.yaml",
            "--online",
            "--previews",
            "0",
        ])
        .run();
    assert_eq!(code, 1, "the chatbot sender does not exist: {stdout}");
    assert!(
        stdout.contains(
            "the sender @RBT#welcome_bot is not one of the app's chatbots (@RBT#someone_else)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("row 9: u1008 is not an imported account"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 recipients are not imported accounts"),
        "{stdout}"
    );
    assert!(!stdout.contains(DEMO_SECRET_KEY));
}

#[test]
fn online_checks_that_all_pass_say_what_they_checked() {
    use timcast::im::settings::{DEMO_SDKAPPID, DEMO_SECRET_KEY};
    use timcast::sandbox::{Directory, Sandbox, SandboxConfig};
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut config = SandboxConfig::demo();
    let mut directory = Directory::accept_any();
    directory.add("@RBT#welcome_bot");
    config.directory = directory;
    let sandbox = runtime.block_on(Sandbox::start(config)).unwrap();
    let dir = workspace();
    let out = Session::new()
        .current_dir(dir.path())
        .endpoint(sandbox.base_url())
        .sdkappid(DEMO_SDKAPPID)
        .secret(DEMO_SECRET_KEY)
        .args(["plan", "campaigns/welcome.yaml", "--online"])
        .run()
        .expect_code(0);
    for line in [
        "Online checks (--online):",
        "  • the chatbot sender @RBT#welcome_bot exists (get_all_robots)",
        "  • all 8 recipients are imported accounts (account_check, 1 call)",
    ] {
        assert!(out.stdout.contains(line), "no `{line}` in:\n{}", out.stdout);
    }
}

#[test]
fn the_send_count_includes_the_uncertain_sends_apply_resends_inside_the_duplicate_window() {
    let dir = workspace();
    Session::new()
        .current_dir(dir.path())
        .args(["plan", "campaigns/welcome.yaml", "--out", "p.plan"])
        .run()
        .expect_code(0);
    let sends = saved_sends(&dir.path().join("p.plan"));
    let mut journal = State::sqlite(dir.path().join(".timcast/state.db"))
        .open()
        .unwrap();
    // Two sends were in flight when a run was killed; the rest went out.
    let records: Vec<SendRecord> = sends
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let state = if i < 2 {
                SendState::Intent
            } else {
                SendState::Sent
            };
            record("welcome-2026-11", s, state, &s.content_hash)
        })
        .collect();
    journal.upsert(&records).unwrap();
    drop(journal);
    let plan = |now: &str| {
        Session::new()
            .current_dir(dir.path())
            .now(now)
            .args(["plan", "campaigns/welcome.yaml", "--detailed-exitcode"])
            .run()
    };
    // 30 s after the intents: inside sendmsg's 120 s window, so apply resends them.
    let inside = plan("2025-11-24T16:00:30Z");
    assert_eq!(inside.code, 2, "{}", inside.text());
    assert!(
        inside.stdout.starts_with(
            "Plan: welcome-2026-11: 2 to send (with 2 interrupted sends resent inside the \
             duplicate window) in 2 API calls"
        ),
        "{}",
        inside.stdout
    );
    // An hour later the window is gone: apply leaves them uncertain.
    let outside = plan("2025-11-24T17:00:00Z");
    assert_eq!(outside.code, 0, "{}", outside.text());
    assert!(
        outside.stdout.contains("nothing to send"),
        "{}",
        outside.stdout
    );
}

#[test]
fn the_plan_shows_the_sender_the_lifetime_and_whether_push_is_on() {
    let dir = workspace();
    let out = Session::new()
        .current_dir(dir.path())
        .args(["plan", "campaigns/welcome.yaml"])
        .run()
        .expect_code(0);
    assert!(
        out.stdout
            .contains("Message:  from @RBT#welcome_bot · lifetime 3d · offline push on: Welcome"),
        "{}",
        out.stdout
    );
    crate::common::CampaignWriter::new(dir.path(), "quiet")
        .recipients(2)
        .text("Hello {{first_name}}")
        .section("push", "  enabled: false")
        .write();
    let quiet = Session::new()
        .current_dir(dir.path())
        .args(["plan", "quiet.yaml"])
        .run()
        .expect_code(0);
    assert!(
        quiet
            .stdout
            .contains("Message:  from the app admin · lifetime 7d · offline push off"),
        "{}",
        quiet.stdout
    );
}

/// The plan joins the audience to the journal a batch at a time; recipients the journal has
/// but the audience no longer does are found by a second read of the journal, counted in full
/// and sampled by user ID (the first five), whatever order they were sent in.
#[test]
fn recipients_gone_from_the_audience_are_counted_and_sampled_by_user_id() {
    let dir = workspace();
    let Outcome { code, stderr, .. } = Session::new()
        .current_dir(dir.path())
        .args(["plan", "campaigns/welcome.yaml", "--out", "first.plan"])
        .run();
    assert_eq!(code, 0, "{stderr}");
    let sends = saved_sends(&dir.path().join("first.plan"));
    let campaign = "welcome-2026-11";
    let gone = |user_id: String| SavedSend {
        row: None,
        user_id,
        state: timcast::plan::DiffState::New,
        pending: true,
        content_hash: "00".into(),
    };
    let mut records = vec![record(
        campaign,
        &sends[0],
        SendState::Sent,
        &sends[0].content_hash,
    )];
    // Sent in the reverse of their names' order, and later than the one still in the audience.
    for (i, n) in (0..8).rev().enumerate() {
        let mut sent = record(
            campaign,
            &gone(format!("gone-{n}")),
            SendState::Sent,
            "an-older-version",
        );
        sent.intent_at_ms += i as i64;
        records.push(sent);
    }
    for n in [1, 0] {
        records.push(record(
            campaign,
            &gone(format!("withdrawn-{n}")),
            SendState::Recalled,
            "00",
        ));
    }
    // Failed and in-flight sends of recipients gone from the audience are not listed.
    records.push(record(
        campaign,
        &gone("failed-gone".into()),
        SendState::Failed,
        "00",
    ));
    records.push(record(
        campaign,
        &gone("in-flight-gone".into()),
        SendState::Intent,
        "00",
    ));
    let mut journal = State::sqlite(dir.path().join(".timcast/state.db"))
        .open()
        .unwrap();
    journal.upsert(&records).unwrap();
    drop(journal);
    let Outcome { stdout: json, .. } = Session::new()
        .current_dir(dir.path())
        .args(["plan", "campaigns/welcome.yaml", "--format", "json"])
        .run();
    let plan: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(plan["journal"]["records"], 13, "{}", plan["journal"]);
    let states = &plan["states"];
    assert_eq!(states["removed"], 8, "{states}");
    assert_eq!(states["recalled"], 2, "{states}");
    assert_eq!(states["unchanged"], 1, "{states}");
    assert_eq!(states["new"], 7, "{states}");
    let names = |state: &str| -> Vec<String> {
        plan["samples"][state]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["user_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names("removed"),
        ["gone-0", "gone-1", "gone-2", "gone-3", "gone-4"]
    );
    assert_eq!(names("recalled"), ["withdrawn-0", "withdrawn-1"]);
}
