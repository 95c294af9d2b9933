//! Pacing against a strict server: the sandbox counts calls in a sliding one-second window and
//! refuses the one that would be the limit's + 1st, with latency that varies from call to call
//! (so calls sent evenly arrive unevenly), as the independent emulator of issue 11 did.
//!
//! A test binary of its own: cargo runs test binaries one after another, so these runs, bound
//! to the wall clock, do not share the cores with the integration suite's processes (under
//! that load a call delayed by a stalled thread arrives next to the following one).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

#[path = "../integration/common.rs"]
mod common;

use std::sync::Arc;
use std::time::Duration;

use timcast::sandbox::{LimitModel, Limits, SandboxHandle};

use common::{CampaignWriter, Session};

const PERSONAL: &str = "Hi {{first_name}}, 30% off until Sunday";

async fn strict_sandbox(calls_per_second: u32, latency_ms: u64, jitter_ms: u64) -> SandboxHandle {
    let (mut config, _) = common::config();
    config.clock = Arc::new(timcast::sandbox::SystemClock);
    config.limits = Limits {
        model: LimitModel::Sliding,
        calls_per_second,
        ..Limits::documented()
    };
    config.faults.latency = Duration::from_millis(latency_ms);
    config.faults.latency_jitter = Duration::from_millis(jitter_ms);
    common::start(config).await
}

async fn apply(sandbox: &SandboxHandle, recipients: usize, rate: u32) -> common::Outcome {
    let dir = tempfile::tempdir().unwrap();
    let path = CampaignWriter::new(dir.path(), "paced")
        .recipients(recipients)
        .text(PERSONAL)
        .delivery(&format!("  rate: {rate}\n  batch: off"))
        .write();
    Session::new()
        .current_dir(dir.path())
        .sandbox(sandbox)
        .args(["apply", "--yes"])
        .arg(&path)
        .run_async()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sliding_window_with_jittered_arrivals_refuses_no_call_at_the_documented_rate() {
    // 20 ± 10 ms: at exactly 200/s some second always holds 201 arrivals.
    let sandbox = strict_sandbox(200, 20, 10).await;
    let out = apply(&sandbox, 600, 200).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(sandbox.deliveries().len(), 600);
    assert_eq!(sandbox.stats().rate_limited, 0, "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_stricter_than_the_campaign_says_gets_a_slower_pace_not_a_stream_of_refusals() {
    // The campaign says 200/s; the server takes 120 in any second.
    let sandbox = strict_sandbox(120, 10, 2).await;
    let out = apply(&sandbox, 480, 200).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(sandbox.deliveries().len(), 480, "everyone once");
    let refused = sandbox.stats().rate_limited;
    assert!(
        refused >= 1,
        "the server did refuse: the pace had to step down"
    );
    assert!(
        refused <= 48,
        "{refused} of 480 refused: the pace should step down, not keep hitting the limit"
    );
}
