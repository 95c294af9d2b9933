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
