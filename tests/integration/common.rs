//! Helpers shared by the integration tests: a sandbox on 127.0.0.1 port 0 with a manual clock,
//! a typed client pointed at it, a raw HTTP caller for bodies the typed client would never
//! send, `Session` to run the `timcast` binary as a process, and `CampaignWriter` to write a
//! campaign into a scratch directory.

#![allow(dead_code, clippy::unwrap_used)] // each test binary uses part of this; helpers may unwrap

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use timcast::im::settings::{DEMO_SDKAPPID, DEMO_SECRET_KEY};
use timcast::im::usersig;
use timcast::im::{BaseUrl, ClientConfig, Connection, Credentials, ImClient, SecretKey};
use timcast::sandbox::{ManualClock, Sandbox, SandboxConfig, SandboxHandle};

pub(crate) const ADMIN: &str = "administrator";

pub(crate) fn demo_key() -> SecretKey {
    SecretKey::new(DEMO_SECRET_KEY)
}

/// The demo app with a manual clock (returned too, to step time).
pub(crate) fn config() -> (SandboxConfig, ManualClock) {
    let clock = ManualClock::new();
    let mut config = SandboxConfig::demo();
    config.clock = std::sync::Arc::new(clock.clone());
    (config, clock)
}

pub(crate) async fn start(config: SandboxConfig) -> SandboxHandle {
    Sandbox::start(config).await.unwrap()
}

pub(crate) fn client_with(sandbox: &SandboxHandle, key: SecretKey, timeout: Duration) -> ImClient {
    let mut config = ClientConfig::new(Connection {
        base_url: BaseUrl::parse(&sandbox.base_url()).unwrap(),
        credentials: Credentials {
            sdkappid: DEMO_SDKAPPID,
            admin: ADMIN.into(),
            secret: key,
        },
    });
    config.timeout = timeout;
    ImClient::new(config).unwrap()
}

pub(crate) fn client(sandbox: &SandboxHandle) -> ImClient {
    client_with(sandbox, demo_key(), Duration::from_secs(10))
}

/// Raw calls with a query string the test controls.
pub(crate) struct Raw {
    http: reqwest::Client,
    base: String,
}

impl Raw {
    pub(crate) fn new(sandbox: &SandboxHandle) -> Self {
        Raw {
            http: reqwest::Client::new(),
            base: sandbox.base_url(),
        }
    }

    /// The query string a correct client sends.
    pub(crate) fn good_query() -> String {
        let sig = usersig::generate(&demo_key(), DEMO_SDKAPPID, ADMIN, 86_400);
        format!(
            "sdkappid={DEMO_SDKAPPID}&identifier={ADMIN}&usersig={sig}&random=7&contenttype=json"
        )
    }

    /// POSTs `body` to `v4/{path}` with a correct query string; returns status and JSON body.
    pub(crate) async fn post(&self, path: &str, body: &str) -> (u16, Value) {
        self.post_query(path, &Self::good_query(), body).await
    }

    pub(crate) async fn post_query(&self, path: &str, query: &str, body: &str) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/v4/{path}?{query}", self.base))
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// The API `ErrorCode` of a call.
    pub(crate) async fn code(&self, path: &str, body: &str) -> i64 {
        let (status, reply) = self.post(path, body).await;
        assert_eq!(status, 200, "{reply}");
        reply["ErrorCode"].as_i64().unwrap()
    }

    pub(crate) async fn get(&self, path: &str) -> Value {
        let text = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        serde_json::from_str(&text).unwrap()
    }
}

pub(crate) fn text_body(text: &str) -> String {
    format!(r#"[{{"MsgType":"TIMTextElem","MsgContent":{{"Text":"{text}"}}}}]"#)
}

pub(crate) fn sendmsg_body(to: &str, random: u32, text: &str) -> String {
    format!(
        r#"{{"To_Account":"{to}","MsgRandom":{random},"MsgBody":{}}}"#,
        text_body(text)
    )
}

/// A scratch directory holding a copy of the example project (`timcast.toml`, the campaigns
/// under `campaigns/` and the shared `templates/`), so that tests can edit CSVs and write
/// journals.
pub(crate) fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("campaigns"), &dir.path().join("campaigns"));
    copy_dir(&repo().join("templates"), &dir.path().join("templates"));
    std::fs::copy(repo().join("timcast.toml"), dir.path().join("timcast.toml")).unwrap();
    dir
}

/// Copies a directory tree (the example campaigns into a test's scratch directory).
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// The repository root (the example campaigns, the schema, the README).
pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The timcast binary under test.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_timcast");

/// Every variable timcast reads: a `Session` removes each one the test does not set, so a
/// developer's own settings never leak into a test.
const TIMCAST_VARS: [&str; 8] = [
    "TIMCAST_STATE",
    "TIMCAST_NOW",
    "TIM_SDKAPPID",
    "TIM_ADMIN",
    "TIM_SECRET_KEY",
    "TIM_SECRET_KEY_FILE",
    "TIM_ENDPOINT",
    "TIM_REGION",
];

/// One run of the `timcast` binary as a process, built fluently (after casey/just's `Test`):
/// a clean environment (none of timcast's variables unless set here, `NO_COLOR=1`), stdin
/// from /dev/null, the test's working directory unless `current_dir` says otherwise.
///
/// ```ignore
/// Session::new()
///     .current_dir(dir.path())
///     .demo_app()
///     .endpoint(sandbox.base_url())
///     .secret(DEMO_SECRET_KEY)
///     .args(["apply", "c.yaml", "--yes"])
///     .run()
///     .expect_code(0);
/// ```
#[must_use]
pub(crate) struct Session {
    args: Vec<OsString>,
    current_dir: Option<PathBuf>,
    /// `None` removes the variable.
    env: BTreeMap<OsString, Option<OsString>>,
    stdout: Option<Stdio>,
    stderr: Option<Stdio>,
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

impl Session {
    pub(crate) fn new() -> Self {
        let mut env: BTreeMap<OsString, Option<OsString>> =
            TIMCAST_VARS.iter().map(|var| (var.into(), None)).collect();
        env.insert("NO_COLOR".into(), Some("1".into()));
        Session {
            args: Vec::new(),
            current_dir: None,
            env,
            stdout: None,
            stderr: None,
        }
    }

    pub(crate) fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub(crate) fn args<I>(mut self, args: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub(crate) fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.current_dir = Some(dir.as_ref().to_owned());
        self
    }

    pub(crate) fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .insert(key.as_ref().to_owned(), Some(value.as_ref().to_owned()));
        self
    }

    pub(crate) fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.env.insert(key.as_ref().to_owned(), None);
        self
    }

    /// `TIM_ENDPOINT`.
    pub(crate) fn endpoint(self, url: impl AsRef<OsStr>) -> Self {
        self.env("TIM_ENDPOINT", url)
    }

    /// `TIM_SECRET_KEY`.
    pub(crate) fn secret(self, key: impl AsRef<OsStr>) -> Self {
        self.env("TIM_SECRET_KEY", key)
    }

    /// `TIM_SECRET_KEY_FILE`.
    pub(crate) fn secret_file(self, path: impl AsRef<OsStr>) -> Self {
        self.env("TIM_SECRET_KEY_FILE", path)
    }

    /// `TIM_SDKAPPID`.
    pub(crate) fn sdkappid(self, sdkappid: impl ToString) -> Self {
        self.env("TIM_SDKAPPID", sdkappid.to_string())
    }

    /// `TIM_ADMIN`.
    pub(crate) fn admin(self, admin: impl AsRef<OsStr>) -> Self {
        self.env("TIM_ADMIN", admin)
    }

    /// The demo app: `TIM_SDKAPPID` and `TIM_ADMIN` of the sandbox's demo.
    pub(crate) fn demo_app(self) -> Self {
        self.sdkappid(DEMO_SDKAPPID).admin(ADMIN)
    }

    /// The demo app on `sandbox`: its endpoint, the demo sdkappid and admin, the demo key.
    pub(crate) fn sandbox(self, sandbox: &SandboxHandle) -> Self {
        self.endpoint(sandbox.base_url())
            .demo_app()
            .secret(DEMO_SECRET_KEY)
    }

    /// "Now" pinned with the hidden `TIMCAST_NOW` testing aid.
    pub(crate) fn now(self, now: impl AsRef<OsStr>) -> Self {
        self.env("TIMCAST_NOW", now)
    }

    /// Where a spawned process's stdout goes (piped unless set).
    pub(crate) fn stdout(mut self, stdout: Stdio) -> Self {
        self.stdout = Some(stdout);
        self
    }

    /// Where a spawned process's stderr goes (piped unless set).
    pub(crate) fn stderr(mut self, stderr: Stdio) -> Self {
        self.stderr = Some(stderr);
        self
    }

    fn command(&self) -> Command {
        let mut command = Command::new(BIN);
        command.args(&self.args).stdin(Stdio::null());
        if let Some(dir) = &self.current_dir {
            command.current_dir(dir);
        }
        for (key, value) in &self.env {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        command
    }

    /// Runs to the end and captures both streams.
    #[track_caller]
    pub(crate) fn run(self) -> Outcome {
        self.command().output().unwrap().into()
    }

    /// `run` off the async runtime's threads, for `#[tokio::test]`s whose sandbox must keep
    /// answering while the process runs.
    pub(crate) async fn run_async(self) -> Outcome {
        tokio::task::spawn_blocking(move || self.run())
            .await
            .unwrap()
    }

    /// Starts the process without waiting (stdout and stderr piped unless set), for tests that
    /// kill it, interrupt it or read its output as it comes.
    #[track_caller]
    pub(crate) fn spawn(mut self) -> Child {
        let mut command = self.command();
        command
            .stdout(self.stdout.take().unwrap_or_else(Stdio::piped))
            .stderr(self.stderr.take().unwrap_or_else(Stdio::piped));
        command.spawn().unwrap()
    }
}

/// What a `Session` printed and how it exited (`code` is -1 when a signal ended it).
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Outcome {
    fn from(output: Output) -> Self {
        Outcome {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).expect("stdout is not UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is not UTF-8"),
        }
    }
}

impl Outcome {
    /// Waits for a spawned process and captures what is left of its output.
    pub(crate) fn wait(child: Child) -> Outcome {
        child.wait_with_output().unwrap().into()
    }

    /// `wait` off the async runtime's threads.
    pub(crate) async fn wait_async(child: Child) -> Outcome {
        tokio::task::spawn_blocking(move || Outcome::wait(child))
            .await
            .unwrap()
    }

    /// Asserts the exit code, showing both streams if it differs.
    #[track_caller]
    pub(crate) fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// stdout then stderr, to look for something in either.
    pub(crate) fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Writes a campaign (its YAML and, unless the audience is an official account, its CSV)
/// into a directory:
///
/// ```yaml
/// version: 1
/// name: {name}
/// audience:
///   csv: {name}.csv          # or `official_account: "..."`
/// sender: "..."              # if set
/// message:
///   - text: "{text}"
/// {section}:                 # each section in the order given (delivery, schedule, stream...)
/// {body}
/// ```
#[must_use]
pub(crate) struct CampaignWriter {
    dir: PathBuf,
    name: String,
    csv: String,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
    official_account: Option<String>,
    sender: Option<String>,
    text: String,
    sections: Vec<(String, String)>,
}

impl CampaignWriter {
    /// Campaign `name` into `dir`: no recipients yet, the text "Hello", no other section.
    pub(crate) fn new(dir: impl AsRef<Path>, name: &str) -> Self {
        CampaignWriter {
            dir: dir.as_ref().to_owned(),
            name: name.to_owned(),
            csv: format!("{name}.csv"),
            columns: vec!["user_id".to_owned()],
            rows: Vec::new(),
            official_account: None,
            sender: None,
            text: "Hello".to_owned(),
            sections: Vec::new(),
        }
    }

    /// `n` recipients `{name}-u{i}` with a `first_name` of `Name{i}`.
    pub(crate) fn recipients(self, n: usize) -> Self {
        let name = self.name.clone();
        self.columns(["user_id", "first_name"])
            .rows((0..n).map(|i| [format!("{name}-u{i}"), format!("Name{i}")]))
    }

    /// Recipients given by user ID only (a one-column CSV).
    pub(crate) fn user_ids<I>(self, ids: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.columns(["user_id"])
            .rows(ids.into_iter().map(|id| [id.as_ref().to_owned()]))
    }

    /// The CSV's header.
    pub(crate) fn columns<I>(mut self, columns: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.columns = columns.into_iter().map(|c| c.as_ref().to_owned()).collect();
        self
    }

    /// The CSV's rows (replacing any given before), each in the header's order.
    pub(crate) fn rows<R, C>(mut self, rows: R) -> Self
    where
        R: IntoIterator<Item = C>,
        C: IntoIterator,
        C::Item: AsRef<str>,
    {
        self.rows = rows
            .into_iter()
            .map(|row| row.into_iter().map(|c| c.as_ref().to_owned()).collect())
            .collect();
        self
    }

    /// Where the CSV goes, relative to the directory (`{name}.csv` unless set).
    pub(crate) fn csv_at(mut self, path: &str) -> Self {
        self.csv = path.to_owned();
        self
    }

    /// The audience is an official account's subscribers: no CSV.
    pub(crate) fn official_account(mut self, account: &str) -> Self {
        self.official_account = Some(account.to_owned());
        self
    }

    pub(crate) fn sender(mut self, sender: &str) -> Self {
        self.sender = Some(sender.to_owned());
        self
    }

    /// The one text element (a handlebars template), written inside double quotes.
    pub(crate) fn text(mut self, text: &str) -> Self {
        self.text = text.to_owned();
        self
    }

    /// A top-level section: `key:` then `body` (indented lines, no trailing newline).
    pub(crate) fn section(mut self, key: &str, body: &str) -> Self {
        self.sections.push((key.to_owned(), body.to_owned()));
        self
    }

    pub(crate) fn delivery(self, body: &str) -> Self {
        self.section("delivery", body)
    }

    pub(crate) fn schedule(self, body: &str) -> Self {
        self.section("schedule", body)
    }

    /// Writes the files; returns the campaign's path.
    #[track_caller]
    pub(crate) fn write(self) -> PathBuf {
        std::fs::create_dir_all(&self.dir).unwrap();
        let audience = match &self.official_account {
            Some(account) => format!("  official_account: \"{account}\"\n"),
            None => {
                let csv_path = self.dir.join(&self.csv);
                std::fs::create_dir_all(csv_path.parent().unwrap()).unwrap();
                let mut csv = self.columns.join(",") + "\n";
                for row in &self.rows {
                    csv.push_str(&row.join(","));
                    csv.push('\n');
                }
                std::fs::write(csv_path, csv).unwrap();
                format!("  csv: {}\n", self.csv)
            }
        };
        let mut yaml = format!("version: 1\nname: {}\naudience:\n{audience}", self.name);
        if let Some(sender) = &self.sender {
            yaml.push_str(&format!("sender: \"{sender}\"\n"));
        }
        yaml.push_str(&format!("message:\n  - text: \"{}\"\n", self.text));
        for (key, body) in &self.sections {
            yaml.push_str(&format!("{key}:\n{body}\n"));
        }
        let path = self.dir.join(format!("{}.yaml", self.name));
        std::fs::write(&path, yaml).unwrap();
        path
    }
}

/// How many messages each recipient got from the sandbox.
pub(crate) fn per_recipient(
    sandbox: &timcast::sandbox::SandboxHandle,
) -> std::collections::HashMap<String, usize> {
    let mut map = std::collections::HashMap::new();
    for d in sandbox.deliveries() {
        *map.entry(d.recipient).or_default() += 1;
    }
    map
}

/// `git ARGS` in `dir` with a throwaway identity; the test fails if git does.
pub(crate) fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
        .args(args)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

/// `timcast ARGS` run in `cwd`, to the end.
pub(crate) fn timcast(cwd: &Path, args: &[&str]) -> Outcome {
    Session::new()
        .current_dir(cwd)
        .args(args.iter().copied())
        .run()
}
