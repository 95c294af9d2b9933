//! Servers that answer badly: undocumented error codes, and the sandbox's hostile mode, which
//! answers at random with truncated JSON, wrong types, huge keys, HTML pages, redirects, closed
//! connections and drips. Nothing may panic or hang, every recipient ends in the report, and no
//! recipient whose last reply was malformed is reported as sent.

use std::sync::Arc;

use crate::common::{CampaignWriter, Session};

async fn sandbox_refusing(who: &str, code: i64) -> timcast::sandbox::SandboxHandle {
    let (mut config, _) = crate::common::config();
    config.clock = Arc::new(timcast::sandbox::SystemClock);
    config.scripted_errors.insert(who.to_owned(), code);
    crate::common::start(config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undocumented_code_is_journaled_as_unknown_listed_and_resent_with_retry_unknown() {
    let dir = tempfile::tempdir().unwrap();
    CampaignWriter::new(dir.path(), "odd")
        .recipients(3)
        .text("Hello {{first_name}}")
        .write();
    let refusing = sandbox_refusing("odd-u1", -1).await;
    let out = Session::new()
        .current_dir(dir.path())
        .sandbox(&refusing)
        .args(["apply", "odd.yaml", "--yes"])
        .run_async()
        .await;
    assert_eq!(out.code, 3, "{}", out.text());
    assert!(
        out.stdout
            .contains("undocumented error codes: -1 (1 recipients)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("--retry-unknown"), "{}", out.stdout);

    let report = Session::new()
        .current_dir(dir.path())
        .args(["report", "odd.yaml", "--format", "csv"])
        .run();
    let row = report
        .stdout
        .lines()
        .find(|l| l.starts_with("odd-u1,"))
        .unwrap_or_else(|| panic!("{}", report.text()));
    assert!(row.contains(",-1,") && row.contains(",unknown,"), "{row}");

    // Not resent by default: a permanent-looking failure, with a warning that says why.
    let plan = Session::new()
        .current_dir(dir.path())
        .args(["plan", "odd.yaml", "--detailed-exitcode"])
        .run();
    assert_eq!(plan.code, 0, "{}", plan.text());
    assert!(
        plan.stdout
            .contains("error code timcast does not know (-1)"),
        "{}",
        plan.stdout
    );
    let retry = Session::new()
        .current_dir(dir.path())
        .args(["plan", "odd.yaml", "--detailed-exitcode", "--retry-unknown"])
        .run();
    assert_eq!(retry.code, 2, "{}", retry.text());
    assert!(retry.stdout.contains("↻"), "{}", retry.stdout);

    let willing = sandbox_refusing("nobody", 20007).await;
    let again = Session::new()
        .current_dir(dir.path())
        .sandbox(&willing)
        .args(["apply", "odd.yaml", "--yes", "--retry-unknown"])
        .run_async()
        .await;
    assert_eq!(again.code, 0, "{}", again.text());
    assert!(again.stdout.contains("odd: sent 1,"), "{}", again.stdout);
    let delivered: Vec<String> = willing
        .deliveries()
        .into_iter()
        .map(|d| d.recipient)
        .collect();
    assert_eq!(delivered, ["odd-u1"]);
}

/// The last answer the sandbox gave for each recipient, from its answer log.
fn last_answers(log: &std::path::Path) -> std::collections::HashMap<String, String> {
    let mut last = std::collections::HashMap::new();
    for line in std::fs::read_to_string(log).unwrap_or_default().lines() {
        let entry: serde_json::Value = serde_json::from_str(line).unwrap();
        let kind = entry["kind"].as_str().unwrap_or_default().to_owned();
        for to in entry["to"].as_array().into_iter().flatten() {
            last.insert(to.as_str().unwrap_or_default().to_owned(), kind.clone());
        }
    }
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_a_hostile_server_nothing_panics_or_hangs_and_no_malformed_reply_counts_as_sent() {
    for (campaign, text) in [
        ("personal", "Hello {{first_name}}"),
        ("batch", "Sale today"),
    ] {
        for seed in [1, 2, 3] {
            let dir = tempfile::tempdir().unwrap();
            CampaignWriter::new(dir.path(), campaign)
                .recipients(40)
                .text(text)
                .delivery("  max_attempts: 3")
                .write();
            let log = dir.path().join("answers.jsonl");
            let (mut config, _) = crate::common::config();
            config.clock = Arc::new(timcast::sandbox::SystemClock);
            config.faults.hostile_rate = 0.3;
            config.faults.seed = seed;
            config.answer_log = Some(log.clone());
            let sandbox = crate::common::start(config).await;
            let file = format!("{campaign}.yaml");
            let apply = tokio::time::timeout(
                std::time::Duration::from_secs(180),
                Session::new()
                    .current_dir(dir.path())
                    .sandbox(&sandbox)
                    .args(["apply", &file, "--yes"])
                    .run_async(),
            )
            .await
            .unwrap_or_else(|_| panic!("{campaign} seed {seed}: apply hung"));
            assert!(
                [0, 3].contains(&apply.code),
                "{campaign} seed {seed}: {}",
                apply.text()
            );
            let plan = Session::new()
                .current_dir(dir.path())
                .args(["plan", &file])
                .run();
            assert_eq!(plan.code, 0, "{campaign} seed {seed}: {}", plan.text());
            for format in ["text", "json", "markdown", "html"] {
                let report = Session::new()
                    .current_dir(dir.path())
                    .args(["report", &file, "--format", format])
                    .run();
                assert_eq!(report.code, 0, "{format}: {}", report.text());
            }
            let csv = Session::new()
                .current_dir(dir.path())
                .args(["report", &file, "--format", "csv"])
                .run();
            assert_eq!(csv.code, 0, "{}", csv.text());
            let last = last_answers(&log);
            let mut reader = csv::Reader::from_reader(csv.stdout.as_bytes());
            let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
            assert_eq!(
                rows.len(),
                40,
                "{campaign} seed {seed}: every recipient is in the report"
            );
            for row in &rows {
                let (user, state, msg_key) = (&row[0], &row[1], &row[3]);
                let answer = last.get(user).map(String::as_str).unwrap_or("none");
                if state == "sent" {
                    // Sent on a good reply, or because the server's history shows the message
                    // (apply settles uncertain sends from it): then with the key the server
                    // gave it, never one from a broken reply.
                    let delivered = sandbox
                        .deliveries_to(user)
                        .iter()
                        .any(|d| d.msg_key == msg_key);
                    assert!(
                        answer == "ok" || answer == "drip" || delivered,
                        "{campaign} seed {seed}: {user} is reported sent after a {answer} reply"
                    );
                }
            }
        }
    }
}
