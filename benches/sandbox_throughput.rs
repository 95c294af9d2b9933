//! Sandbox throughput: sendmsg calls per second on loopback with limits off, sent by timcast's
//! own client (one shared reqwest client, many concurrent keep-alive connections).
//!
//! Run with `bench/sandbox_throughput.sh` or `cargo bench --bench sandbox_throughput`.
//! Settings (environment): BENCH_SECONDS (default 5), BENCH_CONCURRENCY (default 64),
//! BENCH_MIN_RATE (default 20000; exit 1 below it).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark may stop on setup failures

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use timcast::im::settings::{DEFAULT_ADMIN, DEMO_SDKAPPID, DEMO_SECRET_KEY};
use timcast::im::{
    BaseUrl, ClientConfig, Connection, Credentials, ImClient, MsgElement, SecretKey, SendMsgRequest,
};
use timcast::sandbox::{Limits, Sandbox, SandboxConfig};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is expected.
    let seconds: f64 = env_or("BENCH_SECONDS", 5.0);
    let concurrency: usize = env_or("BENCH_CONCURRENCY", 64);
    let min_rate: f64 = env_or("BENCH_MIN_RATE", 20_000.0);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (calls, errors, elapsed) = runtime.block_on(async {
        let mut config = SandboxConfig::demo();
        config.limits = Limits::off();
        let sandbox = Sandbox::start(config).await.expect("sandbox");
        let client = ImClient::new(ClientConfig::new(Connection {
            base_url: BaseUrl::parse(&sandbox.base_url()).unwrap(),
            credentials: Credentials {
                sdkappid: DEMO_SDKAPPID,
                admin: DEFAULT_ADMIN.into(),
                secret: SecretKey::new(DEMO_SECRET_KEY),
            },
        }))
        .expect("client");

        let calls = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        // Warm up: open the connections and verify the UserSig once.
        let warm = SendMsgRequest::new("warmup", 0, vec![MsgElement::text("warm up")]);
        client.send_msg(&warm).await.expect("a first call succeeds");

        let started = Instant::now();
        let mut tasks = Vec::new();
        for worker in 0..concurrency {
            let (client, calls, errors, stop) =
                (client.clone(), calls.clone(), errors.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                // Distinct MsgRandom per call: the server's dedup key ignores the recipient.
                let mut n = u32::try_from(worker).unwrap_or(0).wrapping_mul(10_000_000);
                while !stop.load(Ordering::Relaxed) {
                    n = n.wrapping_add(1);
                    let req = SendMsgRequest::new(
                        format!("user{worker}"),
                        n,
                        vec![MsgElement::text("Hi, 30% off until Sunday")],
                    );
                    match client.send_msg(&req).await {
                        Ok(_) => calls.fetch_add(1, Ordering::Relaxed),
                        Err(_) => errors.fetch_add(1, Ordering::Relaxed),
                    };
                }
            }));
        }
        tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            let _ = task.await;
        }
        let elapsed = started.elapsed();
        let delivered = sandbox.stats().deliveries;
        sandbox.shutdown().await;
        assert_eq!(
            delivered,
            calls.load(Ordering::Relaxed) + 1,
            "every successful call is one delivery"
        );
        (
            calls.load(Ordering::Relaxed),
            errors.load(Ordering::Relaxed),
            elapsed,
        )
    });
    let rate = calls as f64 / elapsed.as_secs_f64();
    println!(
        "sandbox_throughput: {calls} sendmsg calls in {:.2} s with {concurrency} concurrent \
         keep-alive connections, {errors} errors: {rate:.0} calls/s",
        elapsed.as_secs_f64()
    );
    if errors > 0 || rate < min_rate {
        eprintln!("below the target of {min_rate:.0} calls/s (or errors)");
        std::process::exit(1);
    }
}
