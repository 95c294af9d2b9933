//! `timcast sandbox`: the emulator as a long-running local server.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::error::{Error, Exit, Result};
use crate::im::SecretKey;
use crate::im::settings::{DEFAULT_ADMIN, DEMO_SDKAPPID, DEMO_SECRET_KEY};
use crate::sandbox::{Directory, Faults, History, LimitModel, Limits, Sandbox, SandboxConfig};

fn output(source: std::io::Error) -> Error {
    Error::Io {
        what: "cannot write to",
        path: PathBuf::from("standard output"),
        source,
    }
}

/// Arguments of `timcast sandbox`.
#[derive(Debug, Clone, Args)]
pub(crate) struct SandboxArgs {
    /// Address to listen on (loopback only unless --allow-non-loopback). Port 0 picks a free one.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8088")]
    pub listen: SocketAddr,
    /// Allow listening on a non-loopback address. The sandbox has no TLS.
    #[arg(long)]
    pub allow_non_loopback: bool,
    /// SDKAppID to emulate [default: 1400000000, the demo app].
    #[arg(long, env = "TIM_SDKAPPID", value_name = "ID")]
    pub sdkappid: Option<u64>,
    /// The App admin [default: administrator].
    #[arg(long, env = "TIM_ADMIN", value_name = "USERID")]
    pub admin: Option<String>,
    /// File holding the secret key UserSigs must be signed with (or TIM_SECRET_KEY). Without
    /// one, the public demo key is used.
    #[arg(long, env = "TIM_SECRET_KEY_FILE", value_name = "PATH")]
    pub secret_key_file: Option<PathBuf>,
    /// Accounts file, one entry per line: a UserID; `@RBT#name` for a chatbot;
    /// `@TOA#name SUBSCRIBERS` for an official account; `#` starts a comment line.
    /// When no accounts are given at all, any UserID is accepted.
    #[arg(long, value_name = "FILE")]
    pub accounts: Vec<PathBuf>,
    /// An imported account (repeatable).
    #[arg(long = "account", value_name = "USERID")]
    pub account: Vec<String>,
    /// A chatbot account, @RBT#… (repeatable).
    #[arg(long = "robot", value_name = "USERID")]
    pub robot: Vec<String>,
    /// An official account with its subscriber count, @TOA#name=SUBSCRIBERS (repeatable).
    #[arg(long = "official-account", value_name = "ID=SUBSCRIBERS")]
    pub official_account: Vec<String>,
    /// Accept any UserID even when accounts are listed.
    #[arg(long)]
    pub accept_any_account: bool,
    /// Calls per second per endpoint (the documented 200).
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub rate: u32,
    /// Batch recipients per minute (the documented 12,000).
    #[arg(long, value_name = "N", default_value_t = 12_000)]
    pub recipients_per_minute: u32,
    /// Broadcasts per hour per official account (the documented 2).
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub broadcasts_per_hour: u32,
    /// Switch every rate limit off.
    #[arg(long)]
    pub no_limits: bool,
    /// How --rate is counted: `sliding` refuses a call that would be the (N+1)th within any
    /// one-second window (the strictest reading of "N calls per second"); `fixed` counts per
    /// whole second of the clock; `gcra` is a token bucket of N refilled at N a second.
    #[arg(long, value_name = "MODEL", value_enum, default_value_t = LimitModel::Sliding)]
    pub limit_model: LimitModel,
    /// Delay added to every API call, in milliseconds, before it is counted.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub latency_ms: u64,
    /// Spread of --latency-ms: each call waits latency ± up to this many milliseconds,
    /// uniformly (e.g. --latency-ms 30 --latency-jitter-ms 10: 20 to 40 ms).
    #[arg(long, value_name = "J", default_value_t = 0)]
    pub latency_jitter_ms: u64,
    /// Probability that a call fails transiently without effect (HTTP 502, 10002, 20004,
    /// 20005 or 91000).
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub fault_rate: f64,
    /// Probability that a call takes effect but its reply is lost (HTTP 502): the case that
    /// makes duplicates.
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub lost_reply_rate: f64,
    /// Probability that a send or recall gets a broken reply: truncated JSON, fields of the
    /// wrong type, an out-of-range or undocumented code, a 100,000-character MsgKey, an
    /// implausible MsgTime, an HTML page, non-UTF-8 bytes, an empty body, a JSON array or `{}`,
    /// a redirect to another host, a connection closed mid-reply, a reply dripped 4 bytes every
    /// 300 ms, FAIL with code 0, or a batch ErrorList naming a stranger. Half of them take
    /// effect (all but the undocumented code), as on a real network. Lookups answer normally.
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub hostile_rate: f64,
    /// Seed of the fault generator, for reproducible runs.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// Append every delivery as a JSON line to this file.
    #[arg(long, value_name = "FILE")]
    pub delivery_log: Option<PathBuf>,
    /// Append one JSON line per answered send or recall to this file: endpoint, recipients
    /// (`to`), how it was answered (`kind`: ok, code_N, lost_reply or a hostile kind such as
    /// truncated_json) and whether it took effect.
    #[arg(long, value_name = "FILE")]
    pub answer_log: Option<PathBuf>,
    /// Stop by itself after this many seconds (for scripts and tests).
    #[arg(long, value_name = "SECONDS")]
    pub exit_after: Option<f64>,
    /// How long admin_getroammsg keeps one-to-one messages (roaming retention): `7d` as
    /// documented; shorten it to see what happens to older sends.
    #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = parse_duration)]
    pub history_retention: Duration,
    /// Most messages one admin_getroammsg page holds, whatever MaxCnt asks (besides the
    /// documented 13 KB a reply), so that short histories need several pages.
    #[arg(long, value_name = "N")]
    pub history_page_size: Option<usize>,
}

/// A duration flag: `30s`, `90m`, `12h`, `7d`.
pub(crate) fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    crate::campaign::model::HumanDuration::parse(text).map(|d| d.get())
}

impl SandboxArgs {
    /// The sandbox configuration these arguments describe, and whether it uses the demo key.
    pub(crate) fn config(&self) -> Result<(SandboxConfig, bool)> {
        let env_or_file = crate::im::ConnectionArgs {
            secret_key_file: self.secret_key_file.clone(),
            ..Default::default()
        }
        .secret_key()?;
        let (secret, demo_key) = match env_or_file {
            Some(key) => (key, false),
            None => (SecretKey::new(DEMO_SECRET_KEY), true),
        };
        let admin = self
            .admin
            .clone()
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_ADMIN.to_owned());
        let mut config = SandboxConfig::new(self.sdkappid.unwrap_or(DEMO_SDKAPPID), admin, secret);
        config.listen = self.listen;
        config.allow_non_loopback = self.allow_non_loopback;
        let mut directory = Directory::default();
        for path in &self.accounts {
            directory.load_file(path).map_err(|source| Error::Io {
                what: "cannot read the accounts file",
                path: path.clone(),
                source,
            })?;
        }
        for entry in self
            .account
            .iter()
            .chain(&self.robot)
            .chain(&self.official_account)
        {
            directory.add(entry);
        }
        directory.accept_any_account = self.accept_any_account || directory.accounts.is_empty();
        config.directory = directory;
        config.limits = Limits {
            enabled: !self.no_limits,
            model: self.limit_model,
            calls_per_second: self.rate,
            batch_recipients_per_minute: self.recipients_per_minute,
            official_broadcasts_per_hour: self.broadcasts_per_hour,
            ..Limits::documented()
        };
        for (name, p) in [
            ("--fault-rate", self.fault_rate),
            ("--lost-reply-rate", self.lost_reply_rate),
            ("--hostile-rate", self.hostile_rate),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(Error::user(format!(
                    "{name} must be a probability between 0 and 1"
                )));
            }
        }
        if self.latency_jitter_ms > self.latency_ms {
            return Err(Error::user(format!(
                "--latency-jitter-ms {} is larger than --latency-ms {}: a call cannot wait less than nothing",
                self.latency_jitter_ms, self.latency_ms
            )));
        }
        config.faults = Faults {
            latency: Duration::from_millis(self.latency_ms),
            latency_jitter: Duration::from_millis(self.latency_jitter_ms),
            fault_rate: self.fault_rate,
            lost_reply_rate: self.lost_reply_rate,
            hostile_rate: self.hostile_rate,
            seed: self.seed,
            ..Faults::none()
        };
        config.history = History {
            retention: self.history_retention,
            page_size: self.history_page_size.map(|n| n.max(1)),
            ..History::documented()
        };
        config.delivery_log = self.delivery_log.clone();
        config.answer_log = self.answer_log.clone();
        Ok((config, demo_key))
    }
}

/// Runs `timcast sandbox` until Ctrl-C or `--exit-after`.
pub(crate) async fn run(args: &SandboxArgs) -> Result {
    let out = &mut std::io::stdout();
    let err = &mut std::io::stderr();
    let (config, demo_key) = args.config()?;
    {
        let sdkappid = config.sdkappid;
        let admin = config.admins.iter().next().cloned().unwrap_or_default();
        let accept_any = config.directory.accept_any_account;
        let limits = config.limits.clone();
        let handle = Sandbox::start(config).await?;
        let url = handle.base_url();
        // Standard output holds only shell lines (`timcast sandbox > sandbox.env &`, then
        // `. ./sandbox.env`); everything meant for a person goes to standard error.
        let w = |out: &mut dyn Write, line: String| writeln!(out, "{line}").map_err(output);
        w(err, format!("timcast sandbox listening on {url}"))?;
        w(
            err,
            "Use it from another shell (these lines are on standard output):".into(),
        )?;
        w(out, format!("export TIM_ENDPOINT={url}"))?;
        w(out, format!("export TIM_SDKAPPID={sdkappid}"))?;
        w(out, format!("export TIM_ADMIN={admin}"))?;
        if demo_key {
            w(out, format!("export TIM_SECRET_KEY={DEMO_SECRET_KEY}"))?;
        } else {
            w(
                out,
                "# the secret key is the one you configured (TIM_SECRET_KEY or the key file); it is not shown"
                    .into(),
            )?;
        }
        out.flush().map_err(output)?;
        w(
            err,
            format!("Deliveries: GET {url}/sandbox/deliveries   counters: GET {url}/sandbox/stats"),
        )?;
        if demo_key {
            writeln!(
                err,
                "note: using the public demo secret key from Tencent's TLSSigAPIv2 samples; \
                 anyone can sign with it, so it is only for this sandbox"
            )
            .map_err(output)?;
        }
        if accept_any {
            writeln!(err, "note: every UserID is accepted as an imported account")
                .map_err(output)?;
        }
        if limits.enabled {
            writeln!(
                err,
                "limits: {} calls/s per API, counted by the {} model",
                limits.calls_per_second,
                limits.model.name()
            )
            .map_err(output)?;
        }
        writeln!(err, "Press Ctrl-C to stop.").map_err(output)?;
        let _ = err.flush();
        match args.exit_after {
            Some(secs) => {
                let wait = Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or(Duration::ZERO);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        let stats = handle.stats();
        handle.shutdown().await;
        writeln!(
            err,
            "sandbox stopped: {} deliveries, {} duplicates dropped, {} rate-limited, {} faults, {} lost replies, {} hostile replies",
            stats.deliveries,
            stats.duplicates_dropped,
            stats.rate_limited,
            stats.faults_injected,
            stats.lost_replies,
            stats.hostile
        )
        .map_err(output)?;
        Ok(Exit::Ok)
    }
}
