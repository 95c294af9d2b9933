#![allow(clippy::unwrap_used)]
//! `timcast apply` as a process: the sandbox demo on every example, kill -9 and resume,
//! Ctrl-C and resume, the campaign lock, confirmation off a terminal, and a secret that
//! appears in no output, journal or report.

use crate::common::{self, CampaignWriter, Outcome, Session, per_recipient};

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::RngExt;
use timcast::im::SecretKey;
use timcast::im::settings::DEMO_SECRET_KEY;
use timcast::sandbox::{Faults, Limits, SandboxHandle, SystemClock};

/// The campaigns' one text, personalised.
const SHIPPED: &str = "Hi {{first_name}}, your order shipped";

async fn sandbox_with(latency_ms: u64, secret: &str) -> SandboxHandle {
    let (mut config, _) = common::config();
    config.clock = std::sync::Arc::new(SystemClock);
    config.secret = SecretKey::new(secret);
    config.limits = Limits::documented();
    config.faults = Faults {
        latency: Duration::from_millis(latency_ms),
        ..Faults::none()
    };
    common::start(config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_sandbox_runs_every_example_offline_and_a_rerun_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    for example in ["welcome", "promotion", "announcement", "chatbot"] {
        let path = common::repo().join(format!("campaigns/{example}.yaml"));
        // No app and no key: the demo needs neither.
        let out = Session::new()
            .current_dir(dir.path())
            .admin(common::ADMIN)
            .arg("apply")
            .arg("--sandbox")
            .arg(&path)
            .arg("--state")
            .arg(&state)
            .run_async()
            .await;
        assert_eq!(out.code, 0, "{example}: {}\n{}", out.stdout, out.stderr);
        assert!(
            out.stdout.contains("failed 0, uncertain 0"),
            "{}",
            out.stdout
        );
        assert!(
            out.stdout.contains("deliveries recorded by the emulator"),
            "{}",
            out.stdout
        );

        let out = Session::new()
            .current_dir(dir.path())
            .demo_app()
            .secret("unused")
            .arg("apply")
            .arg("--sandbox")
            .arg(&path)
            .arg("--state")
            .arg(&state)
            .run_async()
            .await;
        assert_eq!(out.code, 0);
        assert!(out.stdout.contains("nothing to send"), "{}", out.stdout);
    }
    // The demo wrote its own journal, never the real one.
    assert!(dir.path().join("sandbox.db").exists());
    assert!(!state.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_a_terminal_apply_refuses_without_yes_and_a_bad_plan_file_is_refused() {
    let sandbox = sandbox_with(0, DEMO_SECRET_KEY).await;
    let dir = tempfile::tempdir().unwrap();
    let path = CampaignWriter::new(dir.path(), "ask")
        .recipients(3)
        .text(SHIPPED)
        .delivery("  rate: 50")
        .write();
    let out = Session::new()
        .current_dir(dir.path())
        .sandbox(&sandbox)
        .arg("apply")
        .arg(&path)
        .run_async()
        .await;
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);
    assert!(out.stderr.contains("ask: 3 to send"), "{}", out.stderr);
    assert!(sandbox.deliveries().is_empty());

    std::fs::write(dir.path().join("x.plan"), "{}").unwrap();
    let out = Session::new()
        .current_dir(dir.path())
        .sandbox(&sandbox)
        .args(["apply", "x.plan", "--yes"])
        .run_async()
        .await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("x.plan is not a timcast plan"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_moments_then_resume_delivers_everyone_exactly_once() {
    let mut rng = rand::rng();
    let mut killed_mid_run = 0;
    let (mut resumed_in_window, mut duplicates_absorbed) = (0, 0);
    for trial in 0..12 {
        // Latency keeps calls in flight, so a kill lands between intent and outcome.
        let sandbox = sandbox_with(40, DEMO_SECRET_KEY).await;
        let dir = tempfile::tempdir().unwrap();
        let n = 30;
        let path = CampaignWriter::new(dir.path(), &format!("crash{trial}"))
            .recipients(n)
            .text(SHIPPED)
            // 30 sends at 50/s take at least 0.6 s: every kill below lands mid-run.
            .delivery("  rate: 50\n  concurrency: 6\n  batch: off")
            .write();
        let mut child = Session::new()
            .current_dir(dir.path())
            .sandbox(&sandbox)
            .arg("apply")
            .arg(&path)
            .arg("--yes")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let delay = Duration::from_millis(rng.random_range(20..450));
        tokio::time::sleep(delay).await;
        if child.try_wait().unwrap().is_none() {
            killed_mid_run += 1;
        }
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait();

        let out = Session::new()
            .current_dir(dir.path())
            .sandbox(&sandbox)
            .arg("apply")
            .arg(&path)
            .arg("--yes")
            .run_async()
            .await;
        assert_eq!(
            out.code, 0,
            "trial {trial} (killed after {delay:?}): {}\n{}",
            out.stdout, out.stderr
        );
        if out
            .stdout
            .contains("resent inside the server's duplicate window")
        {
            resumed_in_window += 1;
        }
        duplicates_absorbed += sandbox.stats().duplicates_dropped;
        let per = per_recipient(&sandbox);
        for i in 0..n {
            let id = format!("crash{trial}-u{i}");
            assert_eq!(
                per.get(&id),
                Some(&1),
                "trial {trial} (killed after {delay:?}): {id}"
            );
        }
    }
    assert!(
        killed_mid_run >= 5,
        "only {killed_mid_run} kills landed mid-run"
    );
    // The interesting case happened: intents without outcome were resent identically.
    assert!(resumed_in_window >= 1, "no kill left an intent in flight");
    eprintln!(
        "{resumed_in_window} resumes resent in-flight intents; the sandbox absorbed {duplicates_absorbed} repeats"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_exits_4_a_second_apply_is_refused_and_the_same_command_resumes() {
    let sandbox = sandbox_with(10, DEMO_SECRET_KEY).await;
    let dir = tempfile::tempdir().unwrap();
    // 100 sends at 20/s take at least 5 s: the interrupt surely lands mid-run.
    let n = 100;
    let path = CampaignWriter::new(dir.path(), "slow")
        .recipients(n)
        .text(SHIPPED)
        .delivery("  rate: 20\n  concurrency: 4")
        .write();
    let apply = || {
        Session::new()
            .current_dir(dir.path())
            .sandbox(&sandbox)
            .arg("apply")
            .arg(&path)
            .arg("--yes")
    };
    let child = apply().spawn();
    let deadline = Instant::now() + Duration::from_secs(20);
    while sandbox.deliveries().len() < 3 {
        assert!(Instant::now() < deadline, "the run never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let out = apply().run_async().await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("being applied by another process"),
        "{}",
        out.stderr
    );

    let interrupted_at = Instant::now();
    let status = Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let out = Outcome::wait_async(child).await;
    assert!(interrupted_at.elapsed() < Duration::from_secs(5));
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr.contains("Resume with the same command"),
        "{}",
        out.stderr
    );
    let delivered = sandbox.deliveries().len();
    assert!(delivered < n, "the run finished before the interrupt");

    let out = apply().run_async().await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let per = per_recipient(&sandbox);
    assert_eq!(per.len(), n);
    assert!(per.values().all(|c| *c == 1), "{per:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secret_key_appears_in_no_output_journal_or_report() {
    let secret = "s3cret-7f3a9c1e5b-do-not-leak-0042";
    let sandbox = sandbox_with(0, secret).await;
    let dir = tempfile::tempdir().unwrap();
    let path = CampaignWriter::new(dir.path(), "leak")
        .recipients(5)
        .text(SHIPPED)
        .delivery("  rate: 100")
        .write();
    std::fs::write(dir.path().join("key.txt"), format!("{secret}\n")).unwrap();
    let mut outputs: Vec<String> = Vec::new();
    let run = |args: Vec<String>, env_secret: bool| {
        let session = Session::new()
            .current_dir(dir.path())
            .sandbox(&sandbox)
            .secret(secret)
            .args(args);
        if env_secret {
            session
        } else {
            session
                .env_remove("TIM_SECRET_KEY")
                .secret_file(dir.path().join("key.txt"))
        }
    };
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    let p = path.to_string_lossy().into_owned();
    // A fatal answer first, so the error path prints with the secret in the environment.
    sandbox.inject(
        Some(timcast::im::Endpoint::SendMsg),
        timcast::sandbox::Injected::Code(70009),
        1,
    );
    let commands = vec![
        (s(&["apply", &p, "--yes"]), true),
        (s(&["plan", &p]), true),
        (s(&["apply", &p, "--yes", "--limit", "2"]), false),
        (s(&["apply", &p, "--yes"]), true),
        (s(&["report", &p]), true),
        (s(&["report", &p, "--format", "csv"]), true),
        (s(&["report", &p, "--format", "json"]), true),
        (s(&["report", &p, "--format", "markdown"]), true),
        (s(&["report", &p, "--format", "html"]), true),
        (s(&["recall", &p, "--yes"]), true),
    ];
    for (args, env_secret) in commands {
        let out = run(args.clone(), env_secret).run_async().await;
        outputs.push(format!("{args:?}\n{}\n{}", out.stdout, out.stderr));
    }
    assert!(outputs[0].contains("70009"), "{}", outputs[0]);
    // Calls already in flight when the fatal answer came may have gone through; by the text
    // report every recipient was sent once.
    assert!(
        outputs[4].contains("5 audience, 5 sent, 0 failed"),
        "{}",
        outputs[4]
    );
    assert!(outputs[9].contains("recalled 5"), "{}", outputs[9]);
    for out in &outputs {
        assert!(!out.contains(secret), "the secret leaked: {out}");
    }
    for entry in std::fs::read_dir(dir.path().join(".timcast")).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the secret is in {}",
            path.display()
        );
    }
}
