//! What the sandbox emulates: the app (SDKAppID, admins, key), its accounts, robots and official
//! accounts, the documented limits, and the faults to inject.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::im::settings::{DEFAULT_ADMIN, DEMO_SDKAPPID, DEMO_SECRET_KEY};
use crate::im::{MAX_MESSAGE_BYTES, SecretKey};

use super::clock::{Clock, SystemClock};

/// Everything the sandbox needs to start.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Allow binding an address other than loopback.
    pub allow_non_loopback: bool,
    pub sdkappid: u64,
    /// App admin accounts: the only identifiers the URL may carry.
    pub admins: BTreeSet<String>,
    pub secret: SecretKey,
    pub directory: Directory,
    pub limits: Limits,
    pub faults: Faults,
    /// Largest body of a message send (93000 / 80002 beyond it).
    pub max_body_bytes: usize,
    /// Append every delivery as a JSON line to this file.
    pub delivery_log: Option<PathBuf>,
    /// Append one JSON line per answered send or recall call to this file: the endpoint, the
    /// recipients, how it was answered (`ok`, `code_<N>`, `lost_reply` or a hostile kind) and
    /// whether it took effect, so a test can hold a client's view against what happened.
    pub answer_log: Option<PathBuf>,
    /// Recipients (or official accounts) whose sends fail with a given code, e.g. 20007 for
    /// "blocklisted the sender" or 80001 for "sensitive words". In a batch they land in
    /// `ErrorList`.
    pub scripted_errors: HashMap<String, i64>,
    /// How `admin_getroammsg` keeps and pages one-to-one history.
    pub history: History,
    pub clock: Arc<dyn Clock>,
}

impl SandboxConfig {
    /// A sandbox for this app on 127.0.0.1, port 0, with the documented limits, no faults and
    /// any account accepted.
    pub fn new(sdkappid: u64, admin: impl Into<String>, secret: SecretKey) -> Self {
        SandboxConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            allow_non_loopback: false,
            sdkappid,
            admins: BTreeSet::from([admin.into()]),
            secret,
            directory: Directory::accept_any(),
            limits: Limits::documented(),
            faults: Faults::none(),
            max_body_bytes: MAX_MESSAGE_BYTES,
            delivery_log: None,
            answer_log: None,
            scripted_errors: HashMap::new(),
            history: History::documented(),
            clock: Arc::new(SystemClock),
        }
    }

    /// The demo app: SDKAppID 1400000000, admin `administrator`, the public sample key.
    pub fn demo() -> Self {
        SandboxConfig::new(
            DEMO_SDKAPPID,
            DEFAULT_ADMIN,
            SecretKey::new(DEMO_SECRET_KEY),
        )
    }
}

/// Accounts the sandbox knows.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    /// Imported user accounts.
    pub accounts: BTreeSet<String>,
    /// Accept any UserID as an imported account (robots then only need the `@RBT#` prefix).
    pub accept_any_account: bool,
    /// Chatbot accounts, `@RBT#…`.
    pub robots: BTreeSet<String>,
    /// Official accounts, `@TOA#…`, with their subscriber counts.
    pub official_accounts: BTreeMap<String, u64>,
}

impl Directory {
    /// Every UserID exists.
    pub fn accept_any() -> Self {
        Directory {
            accept_any_account: true,
            ..Directory::default()
        }
    }

    /// Only these accounts exist.
    pub fn with_accounts<I: IntoIterator<Item = S>, S: Into<String>>(ids: I) -> Self {
        let mut d = Directory::default();
        for id in ids {
            d.add(&id.into());
        }
        d
    }

    /// Adds one entry: `@RBT#…` is a robot, `@TOA#…[ SUBSCRIBERS]` an official account, anything
    /// else a user account.
    pub fn add(&mut self, entry: &str) {
        let entry = entry.trim();
        if entry.is_empty() {
            return;
        }
        if entry.starts_with("@TOA#") {
            let mut parts = entry.split(|c: char| c.is_whitespace() || c == '=');
            let id = parts.next().unwrap_or(entry).to_owned();
            let subscribers = parts
                .find(|p| !p.is_empty())
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            self.official_accounts.insert(id, subscribers);
        } else if entry.starts_with("@RBT#") {
            self.robots.insert(entry.to_owned());
        } else {
            self.accounts.insert(entry.to_owned());
        }
    }

    /// Reads a file with one entry per line (see [`Directory::add`]); `#` starts a comment line.
    pub fn load_file(&mut self, path: &Path) -> std::io::Result<()> {
        let text = std::fs::read_to_string(path)?;
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            self.add(line);
        }
        Ok(())
    }

    /// Whether `id` is an imported user account (or a robot).
    pub fn is_account(&self, id: &str) -> bool {
        self.accounts.contains(id)
            || self.is_robot(id)
            || (self.accept_any_account && valid_user_id(id))
    }

    /// Whether `id` is a robot.
    pub fn is_robot(&self, id: &str) -> bool {
        self.robots.contains(id)
            || (self.accept_any_account && id.starts_with("@RBT#") && valid_user_id(id))
    }
}

/// A UserID the server would accept: 1–32 bytes, no control characters.
pub fn valid_user_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && !id.chars().any(char::is_control)
}

/// How the calls of one endpoint are counted against its per-second limit. The documents say
/// "200 calls per second" without saying how a second is counted, so a client has to hold
/// the strictest reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LimitModel {
    /// A call that would be the (N+1)th within any one-second window is refused: the last N
    /// accepted calls are remembered, and the oldest must be a full second old. The strictest.
    #[default]
    Sliding,
    /// N calls per whole second of the clock (windows aligned to the second); a burst that
    /// straddles a boundary may carry up to 2N calls in one second.
    Fixed,
    /// A token bucket (GCRA) of N calls refilled at N a second: after an idle second a burst of
    /// N passes, and the long-run rate is N a second.
    Gcra,
}

impl LimitModel {
    /// The name the command line uses.
    pub fn name(self) -> &'static str {
        match self {
            LimitModel::Sliding => "sliding",
            LimitModel::Fixed => "fixed",
            LimitModel::Gcra => "gcra",
        }
    }
}

/// The documented rate limits; paid editions raise them, so each is a setting.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Switch every limit off (benchmarks, bulk tests).
    pub enabled: bool,
    /// How `calls_per_second` and `account_check_per_second` are counted (sliding).
    pub model: LimitModel,
    /// Calls per second per endpoint (200).
    pub calls_per_second: u32,
    /// Calls per second of `account_check` (100).
    pub account_check_per_second: u32,
    /// Batch recipients per minute, each recipient counting once (12,000).
    pub batch_recipients_per_minute: u32,
    /// Messages per second per official account (1).
    pub official_messages_per_second: u32,
    /// Broadcasts per hour per official account (2).
    pub official_broadcasts_per_hour: u32,
}

impl Limits {
    /// The documented defaults.
    pub fn documented() -> Self {
        Limits {
            enabled: true,
            model: LimitModel::Sliding,
            calls_per_second: 200,
            account_check_per_second: 100,
            batch_recipients_per_minute: 12_000,
            official_messages_per_second: 1,
            official_broadcasts_per_hour: 2,
        }
    }

    /// No limits at all.
    pub fn off() -> Self {
        Limits {
            enabled: false,
            ..Limits::documented()
        }
    }
}

/// The one-to-one history `admin_getroammsg` reads: every sendmsg and batchsendmsg delivery
/// (lost replies included: those were delivered), kept for the roaming retention and paged.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    /// How long messages stay in the history (roaming retention: 7 days by default; paid
    /// editions keep them longer). Older ones are no longer returned.
    pub retention: Duration,
    /// Largest reply body, in bytes (the documented 13 KB): a page ends before the message
    /// that would make it larger (it holds at least one).
    pub reply_bytes: usize,
    /// Most messages a page holds whatever `MaxCnt` asks, so tests can make histories of a
    /// few messages need several pages; `None`: only `MaxCnt` and `reply_bytes` limit it.
    pub page_size: Option<usize>,
}

impl History {
    /// The documented behaviour: 7 days, 13 KB a reply.
    pub fn documented() -> Self {
        History {
            retention: Duration::from_secs(7 * 86_400),
            reply_bytes: 13 * 1024,
            page_size: None,
        }
    }
}

/// A transient failure the sandbox can inject (no effect takes place).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transient {
    /// HTTP 502 with no API body.
    Http502,
    /// An API error code, e.g. 10002, 20004, 20005, 91000.
    Code(i64),
}

/// Faults injected at random, from a seeded generator so tests are reproducible.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Added to every API call, before the call is counted against the rate limits.
    pub latency: Duration,
    /// Spread of `latency`: each call waits `latency` ± up to this much, uniformly (never less
    /// than zero), so calls sent evenly arrive unevenly, as over a real network.
    pub latency_jitter: Duration,
    /// Probability that a call fails transiently without effect.
    pub fault_rate: f64,
    /// Probability that a call takes effect but its reply is lost (HTTP 502).
    pub lost_reply_rate: f64,
    /// The failures `fault_rate` picks from.
    pub transients: Vec<Transient>,
    /// Probability that a send or recall is answered with a broken reply (truncated JSON,
    /// wrong field types, an HTML page, a redirect, a dropped connection, a drip...). Half of
    /// them take effect first; see `server/hostile.rs` for the kinds.
    pub hostile_rate: f64,
    pub seed: u64,
}

impl Faults {
    /// This call's latency: `latency` moved by `jitter` in [-1, 1] times `latency_jitter`.
    pub fn latency_with(&self, jitter: f64) -> Duration {
        let base = self.latency.as_secs_f64();
        let spread = self.latency_jitter.as_secs_f64() * jitter.clamp(-1.0, 1.0);
        Duration::try_from_secs_f64((base + spread).max(0.0)).unwrap_or(Duration::ZERO)
    }

    /// No faults.
    pub fn none() -> Self {
        Faults {
            latency: Duration::ZERO,
            latency_jitter: Duration::ZERO,
            fault_rate: 0.0,
            lost_reply_rate: 0.0,
            transients: vec![
                Transient::Http502,
                Transient::Code(10002),
                Transient::Code(20004),
                Transient::Code(20005),
                Transient::Code(91000),
            ],
            hostile_rate: 0.0,
            seed: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_accounts_file_sorts_users_robots_and_official_accounts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accounts.txt");
        std::fs::write(
            &path,
            "# campaign recipients\nann\n  ben  \n\n@RBT#deals_bot\n@TOA#news 1200\n@TOA#tips=7\n@TOA#quiet\n",
        )
        .unwrap();
        let mut d = Directory::default();
        d.load_file(&path).unwrap();
        assert_eq!(
            d.accounts,
            BTreeSet::from(["ann".to_string(), "ben".to_string()])
        );
        assert!(d.is_robot("@RBT#deals_bot") && d.is_account("@RBT#deals_bot"));
        assert_eq!(d.official_accounts.get("@TOA#news"), Some(&1200));
        assert_eq!(d.official_accounts.get("@TOA#tips"), Some(&7));
        assert_eq!(d.official_accounts.get("@TOA#quiet"), Some(&0));
        assert!(!d.is_account("zed"));
        assert!(!d.is_robot("@RBT#other"));
    }

    #[test]
    fn accept_any_still_checks_the_user_id_shape() {
        let d = Directory::accept_any();
        assert!(d.is_account("anyone"));
        assert!(d.is_robot("@RBT#any"));
        assert!(!d.is_robot("anyone"));
        assert!(!d.is_account(""));
        assert!(!d.is_account(&"x".repeat(33)));
    }
}
