//! Logs for CI and log shippers: `--log-format json` writes nothing but JSON objects on
//! stderr, and no log level ever shows the secret key or a UserSig.

use std::sync::Arc;

use timcast::im::SecretKey;
use timcast::sandbox::{Faults, Limits, SandboxHandle, SystemClock};

use crate::common::{self, CampaignWriter, Outcome, Session};

const SECRET: &str = "s3cr3t-key-that-must-never-be-logged-0123456789abcdef";

async fn sandbox(fault_rate: f64) -> SandboxHandle {
    let (mut config, _) = common::config();
    config.clock = Arc::new(SystemClock);
    config.secret = SecretKey::new(SECRET);
    config.limits = Limits::off();
    config.faults = Faults {
        fault_rate,
        ..Faults::none()
    };
    common::start(config).await
}

/// `timcast <flags> apply --yes` of a campaign of `recipients`, signed with [`SECRET`].
async fn apply(sandbox: &SandboxHandle, name: &str, recipients: usize, flags: &[&str]) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let path = CampaignWriter::new(dir.path(), name)
        .recipients(recipients)
        .text("Hi {{first_name}}")
        .delivery("  rate: 1000\n  batch: off")
        .write();
    Session::new()
        .current_dir(dir.path())
        .sandbox(sandbox)
        .secret(SECRET)
        .args(flags)
        .args(["apply", "--yes"])
        .arg(&path)
        .run_async()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_with_json_logs_writes_only_json_objects_with_level_and_message() {
    let sandbox = sandbox(0.05).await;
    // Faults are retried: debug lines for the calls, their retries and the summary.
    let out = apply(&sandbox, "jsonlogs", 200, &["--log-format", "json", "-v"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(!lines.is_empty(), "-v logs something");
    for line in &lines {
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON object ({e}): {line}"));
        assert!(value["level"].is_string(), "{line}");
        assert!(value["message"].is_string(), "{line}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.contains("\"campaign\":\"jsonlogs\"")),
        "lines inside the run name their campaign:\n{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_log_level_or_format_shows_the_secret_key_or_a_usersig() {
    let sandbox = sandbox(0.1).await;
    for format in ["text", "json"] {
        let out = apply(&sandbox, "secret", 50, &["--log-format", format, "-vv"]).await;
        assert_eq!(out.code, 0, "{}", out.stderr);
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(all.len() > 200, "-vv logs the calls:\n{all}");
        assert!(!all.contains(SECRET), "{format}: the secret key was logged");
        assert!(
            !all.to_lowercase().contains("usersig="),
            "{format}: a UserSig was logged"
        );
    }
}
