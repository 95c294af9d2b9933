//! Notifications when a run ends: a webhook on 127.0.0.1 (an axum server on port 0), named by
//! the environment variable in `webhook_env`, receives one POST per run end in the shape of
//! its format; a webhook that is down, unset or plain http elsewhere is a warning naming the
//! variable (never the URL, which carries a token) and the run ends as it would have.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::Uri;
use axum::routing::post;
use serde_json::Value;
use timcast::sandbox::{Directory, Faults, Limits, SandboxHandle, SystemClock};

use crate::common::{self, CampaignWriter, Outcome, Session};

/// The token every webhook URL of these tests carries in its path.
const TOKEN: &str = "T0K3N-s3cr3t-4f9c1e77";

type Received = Arc<Mutex<Vec<(String, Value)>>>;

/// A webhook receiver on 127.0.0.1: every POST is recorded with its path. It answers as the
/// services do: WeCom `{"errcode":0}`, Feishu `{"code":0}`, anything else `ok` (Slack).
struct Hooks {
    base: String,
    received: Received,
}

impl Hooks {
    async fn start() -> Hooks {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let received: Received = Arc::default();
        let app = Router::new()
            .route("/{*path}", post(record))
            .with_state(received.clone());
        // Ends with the test's runtime.
        tokio::spawn(async move { axum::serve(listener, app).await });
        Hooks { base, received }
    }

    /// The URL of hook `name`, with the token in its path.
    fn url(&self, name: &str) -> String {
        format!("{}/{name}/services/{TOKEN}", self.base)
    }

    fn received(&self) -> Vec<(String, Value)> {
        self.received.lock().unwrap().clone()
    }
}

async fn record(State(received): State<Received>, uri: Uri, body: String) -> String {
    let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    let path = uri.path().to_owned();
    received.lock().unwrap().push((path.clone(), value));
    if path.starts_with("/wecom/") {
        r#"{"errcode":0,"errmsg":"ok"}"#.into()
    } else if path.starts_with("/feishu/") {
        r#"{"code":0,"msg":"success","data":{}}"#.into()
    } else {
        "ok".into()
    }
}

async fn sandbox(fault_rate: f64, directory: Directory) -> SandboxHandle {
    let (mut config, _) = common::config();
    config.clock = Arc::new(SystemClock);
    config.limits = Limits::off();
    config.directory = directory;
    config.faults = Faults {
        fault_rate,
        ..Faults::none()
    };
    common::start(config).await
}

/// `timcast <flags> apply --yes CAMPAIGN` with `env` set, against `sandbox`.
async fn apply(
    sandbox: &SandboxHandle,
    dir: &std::path::Path,
    campaign: &std::path::Path,
    env: &[(&str, String)],
    flags: &[&str],
) -> Outcome {
    let mut session = Session::new().current_dir(dir).sandbox(sandbox);
    for (key, value) in env {
        session = session.env(key, value);
    }
    session
        .args(flags)
        .args(["apply", "--yes"])
        .arg(campaign)
        .run_async()
        .await
}

#[track_caller]
fn assert_no_url(out: &Outcome, url: &str) {
    let all = out.text();
    assert!(
        !all.contains(TOKEN),
        "the webhook's token was printed:\n{all}"
    );
    assert!(!all.contains(url), "the webhook's URL was printed:\n{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_sends_with_faults_post_exactly_one_json_summary() {
    let sandbox = sandbox(0.05, Directory::accept_any()).await;
    let hooks = Hooks::start().await;
    let dir = tempfile::tempdir().unwrap();
    let campaign = CampaignWriter::new(dir.path(), "notify-2000")
        .recipients(2000)
        .text("Hi {{first_name}}")
        .delivery("  rate: 1000\n  batch: off")
        .section("notify", "  - webhook_env: TIMCAST_TEST_HOOK")
        .write();
    let url = hooks.url("json");
    let out = apply(
        &sandbox,
        dir.path(),
        &campaign,
        &[("TIMCAST_TEST_HOOK", url.clone())],
        &["-vv"],
    )
    .await
    .expect_code(0);
    assert!(
        out.stdout.contains("notify-2000: sent 2000, failed 0"),
        "{}",
        out.stdout
    );
    let received = hooks.received();
    assert_eq!(received.len(), 1, "one POST per run end: {received:?}");
    let (path, body) = &received[0];
    assert_eq!(path, &format!("/json/services/{TOKEN}"));
    assert_eq!(body["event"], "finished");
    assert_eq!(body["campaign"], "notify-2000");
    assert_eq!(body["sent"], 2000);
    assert_eq!(body["failed"], 0);
    assert_eq!(body["uncertain"], 0);
    assert_eq!(body["not_started"], 0);
    assert!(body["duration_ms"].as_u64().unwrap() > 0, "{body}");
    let report = body["report"].as_str().unwrap();
    assert!(
        report.starts_with("timcast report ") && report.contains("notify-2000.yaml"),
        "{report}"
    );
    assert!(
        sandbox.stats().faults_injected > 0,
        "the sandbox injected faults"
    );
    assert_no_url(&out, &url);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_wecom_and_feishu_get_their_documented_shapes() {
    let sandbox = sandbox(0.0, Directory::accept_any()).await;
    let hooks = Hooks::start().await;
    let dir = tempfile::tempdir().unwrap();
    let campaign = CampaignWriter::new(dir.path(), "formats")
        .recipients(3)
        .section(
            "notify",
            "  - { webhook_env: HOOK_SLACK, format: slack }\n  - { webhook_env: HOOK_WECOM, format: wecom }\n  - { webhook_env: HOOK_FEISHU, format: feishu }",
        )
        .write();
    let env = [
        ("HOOK_SLACK", hooks.url("slack")),
        // WeCom's robot URLs carry their key in the query string.
        (
            "HOOK_WECOM",
            format!("{}/wecom/send?key={TOKEN}", hooks.base),
        ),
        ("HOOK_FEISHU", hooks.url("feishu")),
    ];
    let out = apply(&sandbox, dir.path(), &campaign, &env, &["-vv"])
        .await
        .expect_code(0);
    for (_, url) in &env {
        assert_no_url(&out, url);
    }
    assert!(
        !out.stderr.contains("notify: could not")
            && out.stderr.matches("notify: posted to").count() == 3,
        "no notification problem:\n{}",
        out.stderr
    );
    let mut received = hooks.received();
    received.sort_by(|a, b| a.0.cmp(&b.0));
    let bodies: Vec<&Value> = received.iter().map(|(_, b)| b).collect();
    let [feishu, slack, wecom] = bodies[..] else {
        panic!("three posts: {received:?}");
    };
    // Slack incoming webhook: {"text": "..."}.
    let keys: Vec<&String> = slack.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["text"], "{slack}");
    let text = slack["text"].as_str().unwrap();
    assert!(
        text.starts_with("timcast: formats finished: sent 3, failed 0, uncertain 0"),
        "{text}"
    );
    assert!(text.contains("report: `timcast report "), "{text}");
    // WeCom group robot: {"msgtype":"markdown","markdown":{"content":"..."}}.
    assert_eq!(wecom["msgtype"], "markdown", "{wecom}");
    assert_eq!(wecom.as_object().unwrap().len(), 2, "{wecom}");
    let content = wecom["markdown"]["content"].as_str().unwrap();
    assert!(
        content.contains("**timcast: formats**") && content.contains("> sent: 3"),
        "{content}"
    );
    // Feishu/Lark custom bot: {"msg_type":"text","content":{"text":"..."}}.
    assert_eq!(feishu["msg_type"], "text", "{feishu}");
    assert_eq!(feishu.as_object().unwrap().len(), 2, "{feishu}");
    let text = feishu["content"]["text"].as_str().unwrap();
    assert!(
        text.starts_with("timcast: formats finished: sent 3"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_failed_fires_only_when_a_run_fails() {
    let sandbox = sandbox(0.0, Directory::with_accounts(["u1", "u2"])).await;
    let hooks = Hooks::start().await;
    let dir = tempfile::tempdir().unwrap();
    let notify = "  - { webhook_env: HOOK_ON_FAILED, on: [failed] }\n  - { webhook_env: HOOK_ON_FINISHED, on: [finished] }";
    let env = [
        ("HOOK_ON_FAILED", hooks.url("failed")),
        ("HOOK_ON_FINISHED", hooks.url("finished")),
    ];
    let clean = CampaignWriter::new(dir.path(), "clean")
        .user_ids(["u1", "u2"])
        .section("notify", notify)
        .write();
    apply(&sandbox, dir.path(), &clean, &env, &[])
        .await
        .expect_code(0);
    let received = hooks.received();
    let paths: Vec<&str> = received.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [format!("/finished/services/{TOKEN}")],
        "a clean run: only `finished`"
    );

    // `ghost` is no account of the app: a permanent failure, exit 3, a failed run.
    let failing = CampaignWriter::new(dir.path(), "failing")
        .user_ids(["u1", "ghost"])
        .section("notify", notify)
        .write();
    apply(&sandbox, dir.path(), &failing, &env, &[])
        .await
        .expect_code(3);
    let received = hooks.received();
    assert_eq!(received.len(), 2, "{received:?}");
    let (path, body) = &received[1];
    assert_eq!(path, &format!("/failed/services/{TOKEN}"));
    assert_eq!(body["event"], "failed");
    assert_eq!(body["campaign"], "failing");
    assert_eq!(
        (body["sent"].as_u64(), body["failed"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(body["reason"], "1 sends failed, 0 uncertain");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_that_is_down_unset_or_plain_http_is_a_warning_and_the_run_succeeds() {
    let sandbox = sandbox(0.0, Directory::accept_any()).await;
    // A port that was free a moment ago and is closed now.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let down = format!("http://{closed}/hook/{TOKEN}");
    let elsewhere = format!("http://example.com/hook/{TOKEN}");
    let dir = tempfile::tempdir().unwrap();
    let campaign = CampaignWriter::new(dir.path(), "down")
        .recipients(5)
        .section(
            "notify",
            "  - webhook_env: HOOK_DOWN\n  - webhook_env: HOOK_PLAIN_HTTP\n    format: slack\n  - webhook_env: HOOK_NEVER_SET",
        )
        .write();
    let env = [
        ("HOOK_DOWN", down.clone()),
        ("HOOK_PLAIN_HTTP", elsewhere.clone()),
    ];
    let started = std::time::Instant::now();
    let out = apply(&sandbox, dir.path(), &campaign, &env, &["-vv"])
        .await
        .expect_code(0);
    assert!(
        out.stdout.contains("down: sent 5, failed 0"),
        "{}",
        out.stdout
    );
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("notify:"))
        .collect();
    let find = |needle: &str| {
        warnings
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no warning with {needle:?}:\n{}", out.stderr))
    };
    assert!(
        find("could not post to the webhook in $HOOK_DOWN (json)")
            .contains("the run's own result is not affected")
    );
    assert!(find("$HOOK_PLAIN_HTTP holds a plain http URL").contains("https"));
    find("$HOOK_NEVER_SET is not set");
    assert!(!out.text().contains("example.com"), "{}", out.stderr);
    assert_no_url(&out, &down);
    // Three short attempts, not a hang.
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timcast_toml_notify_applies_to_every_campaign_and_a_campaign_can_turn_it_off() {
    let sandbox = sandbox(0.0, Directory::accept_any()).await;
    let hooks = Hooks::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("timcast.toml"),
        "# project settings\n[[notify]]\nwebhook_env = \"HOOK_PROJECT\"\nformat = \"json\"\non = [\"finished\", \"failed\"]\n",
    )
    .unwrap();
    let campaigns = dir.path().join("campaigns");
    let plain = CampaignWriter::new(&campaigns, "plain")
        .recipients(2)
        .write();
    let quiet = CampaignWriter::new(&campaigns, "quiet")
        .recipients(2)
        .section("notify", "  - { webhook_env: HOOK_PROJECT, on: [] }")
        .write();
    let env = [("HOOK_PROJECT", hooks.url("project"))];
    apply(&sandbox, dir.path(), &plain, &env, &[])
        .await
        .expect_code(0);
    apply(&sandbox, dir.path(), &quiet, &env, &[])
        .await
        .expect_code(0);
    let received = hooks.received();
    assert_eq!(
        received.len(),
        1,
        "only the campaign that kept the project's hook: {received:?}"
    );
    assert_eq!(received[0].1["campaign"], "plain");
    assert_eq!(received[0].1["sent"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_due_posts_once_for_each_campaign_it_applies() {
    let sandbox = sandbox(0.0, Directory::accept_any()).await;
    let hooks = Hooks::start().await;
    let dir = tempfile::tempdir().unwrap();
    let notify = "  - webhook_env: HOOK_RUN_DUE";
    for name in ["due-a", "due-b"] {
        CampaignWriter::new(dir.path(), name)
            .recipients(3)
            .section("notify", notify)
            .write();
    }
    // Not due: skipped, so no run and no notification.
    CampaignWriter::new(dir.path(), "due-later")
        .recipients(3)
        .schedule("  at: 2099-01-01T00:00:00Z")
        .section("notify", notify)
        .write();
    let url = hooks.url("run");
    let out = Session::new()
        .current_dir(dir.path())
        .sandbox(&sandbox)
        .env("HOOK_RUN_DUE", &url)
        .args(["run", ".", "--due"])
        .run_async()
        .await
        .expect_code(0);
    assert!(
        out.stdout.contains("run: 2 applied, 1 skipped"),
        "{}",
        out.stdout
    );
    let mut campaigns: Vec<String> = hooks
        .received()
        .iter()
        .map(|(_, body)| format!("{} {} {}", body["campaign"], body["event"], body["sent"]))
        .collect();
    campaigns.sort();
    assert_eq!(
        campaigns,
        [r#""due-a" "finished" 3"#, r#""due-b" "finished" 3"#]
    );
    assert_no_url(&out, &url);
}

#[test]
fn an_unknown_key_in_timcast_toml_is_a_located_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("timcast.toml"),
        "[[notify]]\nwebhook_env = \"HOOK\"\nformt = \"slack\"\n",
    )
    .unwrap();
    let campaign = CampaignWriter::new(dir.path(), "c").recipients(1).write();
    let out = Session::new()
        .current_dir(dir.path())
        .args(["validate"])
        .arg(&campaign)
        .run()
        .expect_code(1);
    let text = out.text();
    assert!(
        text.contains("error: timcast.toml:3:1: unknown key `formt` in timcast.toml\n"),
        "{text}"
    );
    assert!(
        text.contains("help: did you mean `format`? (valid keys here: webhook_env, format, on)"),
        "{text}"
    );
    // The campaign cannot be applied with a broken project file either.
    let out = Session::new()
        .current_dir(dir.path())
        .args(["apply", "--sandbox"])
        .arg(&campaign)
        .run()
        .expect_code(1);
    assert!(
        out.text().contains("timcast.toml:3:1: unknown key `formt`"),
        "{}",
        out.text()
    );
}
