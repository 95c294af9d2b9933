//! `timcast apply` throughput against the in-process sandbox, with the real pipeline (planner,
//! limiter, journal, HTTP over 127.0.0.1):
//!
//! - `paced`: `delivery.rate: 200` against the documented limits with 30 ms of latency per call;
//!   prints the achieved rate (deliveries over the span from first to last) and the number of
//!   rate-limit rejections, which must be 0.
//! - `fast`: limits off, no latency, journal on; prints sends per second.
//!
//! Run with `bench/apply_throughput.sh` or `cargo bench --bench apply_throughput`.
//! Settings (environment): BENCH_MODE (paced, fast or both; default both), BENCH_SECONDS
//! (paced duration, default 30), BENCH_RECIPIENTS (fast run, default 100000),
//! BENCH_CONCURRENCY (fast run, default 128).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark may stop on setup failures

use std::path::Path;
use std::time::{Duration, Instant};

use timcast::apply::{ApplyOptions, Stop, apply_file};
use timcast::im::settings::{DEFAULT_ADMIN, DEMO_SDKAPPID, DEMO_SECRET_KEY};
use timcast::im::{BaseUrl, ClientConfig, Connection, Credentials, ImClient, SecretKey};
use timcast::sandbox::{Faults, Limits, Sandbox, SandboxConfig};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn write_campaign(dir: &Path, name: &str, n: usize, delivery: &str) -> std::path::PathBuf {
    let mut csv = String::with_capacity(n * 24);
    csv.push_str("user_id,first_name\n");
    for i in 0..n {
        csv.push_str(&format!("user{i},Name{i}\n"));
    }
    std::fs::write(dir.join(format!("{name}.csv")), csv).unwrap();
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &path,
        format!(
            "version: 1\nname: {name}\naudience:\n  csv: {name}.csv\nmessage:\n  - text: \"Hi {{{{first_name}}}}, 30% off until Sunday\"\ndelivery:\n{delivery}\n"
        ),
    )
    .unwrap();
    path
}

fn client(base_url: &str) -> ImClient {
    ImClient::new(ClientConfig::new(Connection {
        base_url: BaseUrl::parse(base_url).unwrap(),
        credentials: Credentials {
            sdkappid: DEMO_SDKAPPID,
            admin: DEFAULT_ADMIN.into(),
            secret: SecretKey::new(DEMO_SECRET_KEY),
        },
    }))
    .unwrap()
}

async fn paced(seconds: f64) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let n = (200.0 * seconds).round() as usize;
    let path = write_campaign(
        dir.path(),
        "paced",
        n,
        "  rate: 200\n  concurrency: 32\n  batch: off",
    );
    let mut config = SandboxConfig::demo();
    config.limits = Limits::documented();
    config.faults = Faults {
        latency: Duration::from_millis(30),
        ..Faults::none()
    };
    let sandbox = Sandbox::start(config).await.unwrap();
    let options = ApplyOptions::new(timcast::journal::State::sqlite(dir.path().join("state.db")));
    let started = Instant::now();
    let summary = apply_file(&path, &options, client(&sandbox.base_url()), Stop::new())
        .await
        .unwrap();
    let wall = started.elapsed().as_secs_f64();
    let stats = sandbox.stats();
    let times: Vec<u64> = sandbox.deliveries().iter().map(|d| d.time_ms).collect();
    let span = (times.iter().max().unwrap() - times.iter().min().unwrap()) as f64 / 1000.0;
    // n deliveries span n - 1 intervals.
    let achieved = (times.len() as f64 - 1.0) / span;
    println!(
        "paced: {} sends ({} delivered) at delivery.rate 200 with 30 ms latency: {achieved:.2} sends/s \
         over {span:.2} s ({:.2} % of 200), {} rate-limit rejections, {wall:.2} s wall",
        summary.sent,
        stats.deliveries,
        achieved / 2.0,
        stats.rate_limited
    );
    achieved >= 198.0 && stats.rate_limited == 0 && summary.sent == n as u64
}

async fn fast(n: usize, concurrency: u32) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let path = write_campaign(
        dir.path(),
        "fast",
        n,
        &format!("  rate: 10000000\n  concurrency: {concurrency}\n  batch: off"),
    );
    let mut config = SandboxConfig::demo();
    config.limits = Limits::off();
    let sandbox = Sandbox::start(config).await.unwrap();
    let options = ApplyOptions::new(timcast::journal::State::sqlite(dir.path().join("state.db")));
    let started = Instant::now();
    let summary = apply_file(&path, &options, client(&sandbox.base_url()), Stop::new())
        .await
        .unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    let rate = summary.sent as f64 / elapsed;
    println!(
        "fast: {} sends in {elapsed:.2} s with limits off, concurrency {concurrency}, journal on \
         (planning included): {rate:.0} sends/s; {} delivered",
        summary.sent,
        sandbox.stats().deliveries
    );
    rate >= 10_000.0 && summary.sent == n as u64
}

fn main() {
    let mode: String = env_or("BENCH_MODE", "both".to_owned());
    let seconds: f64 = env_or("BENCH_SECONDS", 30.0);
    let recipients: usize = env_or("BENCH_RECIPIENTS", 100_000);
    let concurrency: u32 = env_or("BENCH_CONCURRENCY", 128);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut ok = true;
    if mode == "paced" || mode == "both" {
        ok &= runtime.block_on(paced(seconds));
    }
    if mode == "fast" || mode == "both" {
        ok &= runtime.block_on(fast(recipients, concurrency));
    }
    if !ok {
        eprintln!("below target: paced needs >= 99 % of 200/s with no rejection, fast >= 10000/s");
        std::process::exit(1);
    }
}
