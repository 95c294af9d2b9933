//! Helpers shared by the integration tests: a sandbox on 127.0.0.1 port 0 with a manual clock,
//! a typed client pointed at it, and a raw HTTP caller for bodies the typed client would
//! never send.

#![allow(dead_code, clippy::unwrap_used)] // each test binary uses part of this; helpers may unwrap

use std::time::Duration;

use serde_json::Value;
use timcast::im::settings::{DEMO_SDKAPPID, DEMO_SECRET_KEY};
use timcast::im::usersig;
use timcast::im::{BaseUrl, ClientConfig, Connection, Credentials, ImClient, SecretKey};
use timcast::sandbox::{ManualClock, Sandbox, SandboxConfig, SandboxHandle};

pub const ADMIN: &str = "administrator";

pub fn demo_key() -> SecretKey {
    SecretKey::new(DEMO_SECRET_KEY)
}

/// The demo app with a manual clock (returned too, to step time).
pub fn config() -> (SandboxConfig, ManualClock) {
    let clock = ManualClock::new();
    let mut config = SandboxConfig::demo();
    config.clock = std::sync::Arc::new(clock.clone());
    (config, clock)
}

pub async fn start(config: SandboxConfig) -> SandboxHandle {
    Sandbox::start(config).await.unwrap()
}

pub fn client_with(sandbox: &SandboxHandle, key: SecretKey, timeout: Duration) -> ImClient {
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

pub fn client(sandbox: &SandboxHandle) -> ImClient {
    client_with(sandbox, demo_key(), Duration::from_secs(10))
}

/// Raw calls with a query string the test controls.
pub struct Raw {
    http: reqwest::Client,
    base: String,
}

impl Raw {
    pub fn new(sandbox: &SandboxHandle) -> Self {
        Raw {
            http: reqwest::Client::new(),
            base: sandbox.base_url(),
        }
    }

    /// The query string a correct client sends.
    pub fn good_query() -> String {
        let sig = usersig::generate(&demo_key(), DEMO_SDKAPPID, ADMIN, 86_400);
        format!(
            "sdkappid={DEMO_SDKAPPID}&identifier={ADMIN}&usersig={sig}&random=7&contenttype=json"
        )
    }

    /// POSTs `body` to `v4/{path}` with a correct query string; returns status and JSON body.
    pub async fn post(&self, path: &str, body: &str) -> (u16, Value) {
        self.post_query(path, &Self::good_query(), body).await
    }

    pub async fn post_query(&self, path: &str, query: &str, body: &str) -> (u16, Value) {
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
    pub async fn code(&self, path: &str, body: &str) -> i64 {
        let (status, reply) = self.post(path, body).await;
        assert_eq!(status, 200, "{reply}");
        reply["ErrorCode"].as_i64().unwrap()
    }

    pub async fn get(&self, path: &str) -> Value {
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

pub fn text_body(text: &str) -> String {
    format!(r#"[{{"MsgType":"TIMTextElem","MsgContent":{{"Text":"{text}"}}}}]"#)
}

pub fn sendmsg_body(to: &str, random: u32, text: &str) -> String {
    format!(
        r#"{{"To_Account":"{to}","MsgRandom":{random},"MsgBody":{}}}"#,
        text_body(text)
    )
}

/// Copies a directory tree (the example campaigns into a test's scratch directory).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
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
