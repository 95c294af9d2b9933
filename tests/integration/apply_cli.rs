#![allow(clippy::unwrap_used)]
//! `timcast apply` as a process: the sandbox demo on every example, kill -9 and resume,
//! Ctrl-C and resume, the campaign lock, confirmation off a terminal, and a secret that
//! appears in no output, journal or report.

use crate::common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use rand::RngExt;
use timcast::im::SecretKey;
use timcast::im::settings::{DEMO_SDKAPPID, DEMO_SECRET_KEY};
use timcast::sandbox::{Faults, Limits, SandboxHandle, SystemClock};

const BIN: &str = env!("CARGO_BIN_EXE_timcast");

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `timcast` with a clean environment pointing at `endpoint` with `secret`.
fn timcast(dir: &Path, endpoint: Option<&str>, secret: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_remove("TIMCAST_STATE")
        .env_remove("TIM_REGION")
        .env_remove("TIM_SECRET_KEY_FILE")
        .env_remove("TIM_ENDPOINT")
        .env("NO_COLOR", "1")
        .env("TIM_SDKAPPID", DEMO_SDKAPPID.to_string())
        .env("TIM_ADMIN", common::ADMIN)
        .env("TIM_SECRET_KEY", secret)
        .stdin(Stdio::null());
    if let Some(endpoint) = endpoint {
        cmd.env("TIM_ENDPOINT", endpoint);
    }
    cmd
}

async fn output(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn campaign(dir: &Path, name: &str, n: usize, delivery: &str) -> PathBuf {
    let mut csv = String::from("user_id,first_name\n");
    for i in 0..n {
        csv.push_str(&format!("{name}-u{i},Name{i}\n"));
    }
    std::fs::write(dir.join(format!("{name}.csv")), csv).unwrap();
    let yaml = format!(
        "version: 1\nname: {name}\naudience:\n  csv: {name}.csv\nmessage:\n  - text: \"Hi {{{{first_name}}}}, your order shipped\"\ndelivery:\n{delivery}\n"
    );
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, yaml).unwrap();
    path
}

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

fn per_recipient(sandbox: &SandboxHandle) -> HashMap<String, usize> {
    let mut map = HashMap::new();
    for d in sandbox.deliveries() {
        *map.entry(d.recipient).or_default() += 1;
    }
    map
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_sandbox_runs_every_example_offline_and_a_rerun_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    for example in ["welcome", "promotion", "announcement", "chatbot"] {
        let path = repo().join(format!("campaigns/{example}.yaml"));
        let mut cmd = timcast(dir.path(), None, "unused");
        cmd.env_remove("TIM_SECRET_KEY")
            .env_remove("TIM_SDKAPPID")
            .arg("apply")
            .arg("--sandbox")
            .arg(&path)
            .arg("--state")
            .arg(&state);
        let out = output(cmd).await;
        let stdout = text(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{example}: {stdout}\n{}",
            text(&out.stderr)
        );
        assert!(stdout.contains("failed 0, uncertain 0"), "{stdout}");
        assert!(
            stdout.contains("deliveries recorded by the emulator"),
            "{stdout}"
        );

        let mut again = timcast(dir.path(), None, "unused");
        again
            .arg("apply")
            .arg("--sandbox")
            .arg(&path)
            .arg("--state")
            .arg(&state);
        let out = output(again).await;
        assert_eq!(out.status.code(), Some(0));
        assert!(
            text(&out.stdout).contains("nothing to send"),
            "{}",
            text(&out.stdout)
        );
    }
    // The demo wrote its own journal, never the real one.
    assert!(dir.path().join("sandbox.db").exists());
    assert!(!state.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_a_terminal_apply_refuses_without_yes_and_a_bad_plan_file_is_refused() {
    let sandbox = sandbox_with(0, DEMO_SECRET_KEY).await;
    let dir = tempfile::tempdir().unwrap();
    let path = campaign(dir.path(), "ask", 3, "  rate: 50");
    let mut cmd = timcast(dir.path(), Some(&sandbox.base_url()), DEMO_SECRET_KEY);
    cmd.arg("apply").arg(&path);
    let out = output(cmd).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--yes"), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("ask: 3 to send"),
        "{}",
        text(&out.stderr)
    );
    assert!(sandbox.deliveries().is_empty());

    std::fs::write(dir.path().join("x.plan"), "{}").unwrap();
    let mut cmd = timcast(dir.path(), Some(&sandbox.base_url()), DEMO_SECRET_KEY);
    cmd.args(["apply", "x.plan", "--yes"]);
    let out = output(cmd).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("x.plan is not a timcast plan"),
        "{}",
        text(&out.stderr)
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
        let path = campaign(
            dir.path(),
            &format!("crash{trial}"),
            n,
            // 30 sends at 50/s take at least 0.6 s: every kill below lands mid-run.
            "  rate: 50\n  concurrency: 6\n  batch: off",
        );
        let mut cmd = timcast(dir.path(), Some(&sandbox.base_url()), DEMO_SECRET_KEY);
        cmd.arg("apply")
            .arg(&path)
            .arg("--yes")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().unwrap();
        let delay = Duration::from_millis(rng.random_range(20..450));
        tokio::time::sleep(delay).await;
        if child.try_wait().unwrap().is_none() {
            killed_mid_run += 1;
        }
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait();

        let mut resume = timcast(dir.path(), Some(&sandbox.base_url()), DEMO_SECRET_KEY);
        resume.arg("apply").arg(&path).arg("--yes");
        let out = output(resume).await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "trial {trial} (killed after {delay:?}): {}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        if text(&out.stdout).contains("resent inside the server's duplicate window") {
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
    let path = campaign(dir.path(), "slow", n, "  rate: 20\n  concurrency: 4");
    let mut cmd = timcast(dir.path(), Some(&sandbox.base_url()), DEMO_SECRET_KEY);
    cmd.arg("apply")
        .arg(&path)
        .arg("--yes")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while sandbox.deliveries().len() < 3 {
        assert!(Instant::now() < deadline, "the run never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let mut second = timcast(dir.path(), Some(&sandbox.base_url()), DEMO_SECRET_KEY);
    second.arg("apply").arg(&path).arg("--yes");
    let out = output(second).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("being applied by another process"),
        "{}",
        text(&out.stderr)
    );

    let interrupted_at = Instant::now();
    let status = Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(interrupted_at.elapsed() < Duration::from_secs(5));
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("Resume with the same command"), "{stderr}");
    let delivered = sandbox.deliveries().len();
    assert!(delivered < n, "the run finished before the interrupt");

    let mut resume = timcast(dir.path(), Some(&sandbox.base_url()), DEMO_SECRET_KEY);
    resume.arg("apply").arg(&path).arg("--yes");
    let out = output(resume).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let per = per_recipient(&sandbox);
    assert_eq!(per.len(), n);
    assert!(per.values().all(|c| *c == 1), "{per:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secret_key_appears_in_no_output_journal_or_report() {
    let secret = "s3cret-7f3a9c1e5b-do-not-leak-0042";
    let sandbox = sandbox_with(0, secret).await;
    let dir = tempfile::tempdir().unwrap();
    let path = campaign(dir.path(), "leak", 5, "  rate: 100");
    std::fs::write(dir.path().join("key.txt"), format!("{secret}\n")).unwrap();
    let mut outputs: Vec<String> = Vec::new();
    let run = |args: Vec<String>, env_secret: bool| {
        let mut cmd = timcast(dir.path(), Some(&sandbox.base_url()), secret);
        if !env_secret {
            cmd.env_remove("TIM_SECRET_KEY")
                .env("TIM_SECRET_KEY_FILE", dir.path().join("key.txt"));
        }
        cmd.args(args);
        cmd
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
        let out = output(run(args.clone(), env_secret)).await;
        outputs.push(format!(
            "{args:?}\n{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        ));
    }
    assert!(outputs[0].contains("70009"), "{}", outputs[0]);
    // Calls already in flight when the fatal answer came may have gone through; by the text
    // report every recipient was sent once.
    assert!(
        outputs[4].contains("5 recipients: 5 sent"),
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
