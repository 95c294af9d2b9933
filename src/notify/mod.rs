//! Notifications when a run ends: one POST per matching `notify` entry (the campaign's and
//! `timcast.toml`'s), with the run's summary, for cron and CI runs that nobody watches.
//!
//! A notification never changes how the run ends: each webhook gets a few short attempts
//! ([`ATTEMPTS`] of at most [`ATTEMPT_TIMEOUT`], a few seconds in all), and whatever goes
//! wrong — the variable unset, a plain http URL to another host, the service down or refusing
//! — is one `warn` line that names the variable, never the URL: webhook URLs carry their
//! token in the path or query string.
//!
//! When a run is `finished` or `failed` is decided here ([`RunOutcome::of_summary`]): finished
//! is exactly the runs that exit 0.

mod format;

use std::time::Duration;

use tracing::Instrument;

use crate::apply::RunSummary;
use crate::campaign::model::{Notify, NotifyFormat, RunEnd};

/// Attempts per webhook: a service that is down for longer is not worth holding a cron job.
pub(crate) const ATTEMPTS: u32 = 3;
/// How long one attempt may take, connecting included.
pub(crate) const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// The pause before the second attempt; doubled before the third.
const BACKOFF: Duration = Duration::from_millis(250);
/// The longest answer body read (an error's text).
const MAX_ANSWER_BYTES: usize = 2048;

/// What a run's notification says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunOutcome {
    pub end: RunEnd,
    pub campaign: String,
    pub sent: u64,
    pub failed: u64,
    pub uncertain: u64,
    /// Pending recipients the run did not start (a canary's limit, closed windows, a stop).
    pub not_started: u64,
    pub duration_ms: u64,
    /// The `timcast report ...` command that shows the run's journal.
    pub report: String,
    /// Why the run is `failed`; `None` when it finished.
    pub reason: Option<String>,
}

impl RunOutcome {
    /// A run that returned its summary. It failed when it would not exit 0: failed or
    /// uncertain sends, sends held back, a fatal API error, or an interruption.
    pub(crate) fn of_summary(campaign: &str, summary: &RunSummary, report: String) -> RunOutcome {
        let reason = if let Some(fatal) = &summary.fatal {
            Some(format!("stopped by an error: {fatal}"))
        } else if summary.interrupted {
            Some("interrupted (the next run resumes it)".to_owned())
        } else if let Some(why) = &summary.held_back {
            Some(format!("held back: {why}"))
        } else if summary.failed > 0 || summary.uncertain > 0 {
            Some(format!(
                "{} sends failed, {} uncertain",
                summary.failed, summary.uncertain
            ))
        } else {
            None
        };
        RunOutcome {
            end: if reason.is_some() {
                RunEnd::Failed
            } else {
                RunEnd::Finished
            },
            campaign: campaign.to_owned(),
            sent: summary.sent,
            failed: summary.failed,
            uncertain: summary.uncertain,
            not_started: summary.not_started,
            duration_ms: summary.elapsed_ms,
            report,
            reason,
        }
    }

    /// A run that stopped on an error of its own (the journal, the network) before it could
    /// sum up: failed, with what the progress counters had seen.
    pub(crate) fn of_error(
        campaign: &str,
        counted: [u64; 3],
        to_send: u64,
        duration: Duration,
        error: &str,
        report: String,
    ) -> RunOutcome {
        let [sent, failed, uncertain] = counted;
        RunOutcome {
            end: RunEnd::Failed,
            campaign: campaign.to_owned(),
            sent,
            failed,
            uncertain,
            not_started: to_send.saturating_sub(sent + failed + uncertain),
            duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
            report,
            reason: Some(format!("stopped by an error: {error}")),
        }
    }
}

/// Notifies the end of a run of `loaded` (the two commands that send call this once the
/// session returns): from its summary, or from the progress counters when it stopped on an
/// error of its own.
pub(crate) async fn run_ended(
    loaded: &crate::campaign::LoadedCampaign,
    result: &Result<RunSummary, crate::apply::ApplyError>,
    counters: &crate::apply::progress::Counters,
    to_send: u64,
    started: std::time::Instant,
    report: String,
) {
    if loaded.notify.is_empty() {
        return;
    }
    let name = &loaded.campaign.name;
    let run = match result {
        Ok(summary) => RunOutcome::of_summary(name, summary, report),
        Err(error) => {
            let count =
                |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
            RunOutcome::of_error(
                name,
                [
                    count(&counters.sent),
                    count(&counters.failed),
                    count(&counters.uncertain),
                ],
                to_send,
                started.elapsed(),
                &error.to_string(),
                report,
            )
        }
    };
    post_run_end(&loaded.notify, &run).await;
}

/// Posts `run` to every entry of `entries` that asks for its kind of end, all at once, and
/// returns when each has succeeded or given up. Never fails: problems are warnings.
pub(crate) async fn post_run_end(entries: &[Notify], run: &RunOutcome) {
    let due: Vec<&Notify> = entries.iter().filter(|e| e.fires_on(run.end)).collect();
    if due.is_empty() {
        return;
    }
    let http = match client() {
        Ok(http) => http,
        Err(why) => {
            tracing::warn!("notify: no notification posted: cannot set up the HTTP client: {why}");
            return;
        }
    };
    let mut posts = tokio::task::JoinSet::new();
    for entry in due {
        let Some(url) = webhook_url(entry) else {
            continue;
        };
        let hook = Hook {
            var: entry.webhook_env.clone(),
            format: entry.format,
        };
        let body = format::body(entry.format, run).to_string().into_bytes();
        posts.spawn(post(http.clone(), hook, url, body).instrument(tracing::Span::current()));
    }
    while posts.join_next().await.is_some() {}
}

/// The same settings as the API's client: timeouts, no redirects (a redirect would hand the
/// token-bearing request to another host), timcast's user agent.
fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(ATTEMPT_TIMEOUT)
        .timeout(ATTEMPT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("timcast/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(crate::im::client::error_text)
}

/// Which webhook, as a log line names it: by its variable, never by its URL.
#[derive(Debug, Clone)]
struct Hook {
    var: String,
    format: NotifyFormat,
}

impl std::fmt::Display for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the webhook in ${} ({})", self.var, self.format.word())
    }
}

/// The URL in the entry's variable, when it holds one timcast may post to: https, or plain
/// http to loopback (as for the API's base URL).
fn webhook_url(entry: &Notify) -> Option<reqwest::Url> {
    let var = &entry.webhook_env;
    let value = std::env::var(var).unwrap_or_default();
    if value.trim().is_empty() {
        tracing::warn!(
            "notify: ${var} is not set (or empty); no {} notification posted for this run",
            entry.format.word()
        );
        return None;
    }
    // The parse error says what is wrong with the text without repeating it.
    let url = match reqwest::Url::parse(value.trim()) {
        Ok(url) => url,
        Err(why) => {
            tracing::warn!("notify: ${var} does not hold a URL ({why}); no notification posted");
            return None;
        }
    };
    match url.scheme() {
        "https" => Some(url),
        "http" if crate::im::settings::is_loopback_host(url.host_str()) => Some(url),
        "http" => {
            tracing::warn!(
                "notify: ${var} holds a plain http URL to a host that is not loopback; webhook \
                 URLs carry a token, so timcast posts them only over https (plain http only to \
                 127.0.0.1, ::1 or localhost): set it to the https URL. No notification posted"
            );
            None
        }
        other => {
            tracing::warn!(
                "notify: ${var} holds a URL with the scheme {other:?}; use an https URL. No notification posted"
            );
            None
        }
    }
}

/// Why one attempt failed, and whether another may succeed.
enum Failure {
    /// The service may be back in a moment (connection, timeout, 429, 5xx).
    Retry(String),
    /// Another attempt would get the same answer (a refusal, a redirect, an error code).
    GiveUp(String),
}

async fn post(http: reqwest::Client, hook: Hook, url: reqwest::Url, body: Vec<u8>) {
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        match attempt_once(&http, &hook, &url, &body).await {
            Ok(()) => {
                tracing::debug!("notify: posted to {hook} (attempt {attempt})");
                return;
            }
            Err(Failure::GiveUp(why)) => {
                last = why;
                break;
            }
            Err(Failure::Retry(why)) => {
                tracing::debug!("notify: attempt {attempt} to {hook} failed: {why}");
                last = why;
            }
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(BACKOFF * 2u32.pow(attempt - 1)).await;
        }
    }
    tracing::warn!(
        "notify: could not post to {hook}: {last}; the run's own result is not affected"
    );
}

async fn attempt_once(
    http: &reqwest::Client,
    hook: &Hook,
    url: &reqwest::Url,
    body: &[u8],
) -> Result<(), Failure> {
    let response = http
        .post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_vec())
        .send()
        .await
        // `error_text` drops the URL from the error and its causes.
        .map_err(|e| Failure::Retry(crate::im::client::error_text(e)))?;
    let status = response.status();
    let answer = read_answer(response).await;
    let said = shown_answer(&answer, url)
        .map(|text| format!(": {text}"))
        .unwrap_or_default();
    if status.is_success() {
        return match refusal(hook.format, &answer) {
            Some(code) => Err(Failure::GiveUp(format!(
                "the service answered HTTP {} with error code {code}",
                status.as_u16()
            ))),
            None => Ok(()),
        };
    }
    let why = format!("HTTP {}{said}", status.as_u16());
    if status.as_u16() == 429 || status.is_server_error() {
        Err(Failure::Retry(why))
    } else if status.is_redirection() {
        Err(Failure::GiveUp(format!("{why} (a redirect: not followed)")))
    } else {
        Err(Failure::GiveUp(why))
    }
}

/// Up to [`MAX_ANSWER_BYTES`] of the answer's body.
async fn read_answer(mut response: reqwest::Response) -> Vec<u8> {
    let mut answer = Vec::new();
    while answer.len() < MAX_ANSWER_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => answer.extend_from_slice(&chunk),
            _ => break,
        }
    }
    answer.truncate(MAX_ANSWER_BYTES);
    answer
}

/// The error code of a WeCom or Feishu answer that refuses the message with HTTP 200.
fn refusal(format: NotifyFormat, answer: &[u8]) -> Option<i64> {
    let value: serde_json::Value = serde_json::from_slice(answer).ok()?;
    let keys: &[&str] = match format {
        NotifyFormat::Wecom => &["errcode"],
        NotifyFormat::Feishu => &["code", "StatusCode"],
        NotifyFormat::Json | NotifyFormat::Slack => &[],
    };
    keys.iter()
        .find_map(|k| value.get(*k).and_then(serde_json::Value::as_i64))
        .filter(|code| *code != 0)
}

/// A short error text worth showing (Slack answers `invalid_token`, `no_service`), unless
/// it might repeat a part of the URL: a service echoing the request must not leak its token.
fn shown_answer(answer: &[u8], url: &reqwest::Url) -> Option<String> {
    let text = std::str::from_utf8(answer).ok()?.trim();
    if text.is_empty() || text.len() > 200 || text.chars().any(char::is_control) {
        return None;
    }
    let secret_parts = url
        .path_segments()
        .into_iter()
        .flatten()
        .chain(url.query().into_iter().flat_map(|q| q.split(['&', '='])))
        .filter(|part| part.len() >= 6);
    let mut parts = secret_parts;
    if parts.any(|part| text.contains(part)) {
        return None;
    }
    Some(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> RunSummary {
        RunSummary {
            sent: 10,
            elapsed_ms: 1500,
            ..RunSummary::default()
        }
    }

    #[test]
    fn a_run_finished_exactly_when_it_would_exit_0() {
        let report = || "timcast report c.yaml".to_owned();
        let clean = RunOutcome::of_summary("c", &summary(), report());
        assert_eq!((clean.end, clean.reason), (RunEnd::Finished, None));
        // A canary that left recipients pending still finished.
        let canary = RunSummary {
            not_started: 90,
            ..summary()
        };
        assert_eq!(
            RunOutcome::of_summary("c", &canary, report()).end,
            RunEnd::Finished
        );
        for failed in [
            RunSummary {
                failed: 1,
                ..summary()
            },
            RunSummary {
                uncertain: 1,
                ..summary()
            },
            RunSummary {
                interrupted: true,
                ..summary()
            },
            RunSummary {
                fatal: Some("70003".into()),
                ..summary()
            },
            RunSummary {
                held_back: Some("not_after".into()),
                ..summary()
            },
        ] {
            let run = RunOutcome::of_summary("c", &failed, report());
            assert_eq!(run.end, RunEnd::Failed, "{failed:?}");
            assert!(run.reason.is_some());
        }
    }

    #[test]
    fn an_answer_that_repeats_the_token_is_not_shown() {
        let url =
            reqwest::Url::parse("https://hooks.example/services/T0/B0/s3cr3tT0ken?key=abcdef123")
                .unwrap();
        assert_eq!(
            shown_answer(b"invalid_token", &url).as_deref(),
            Some("invalid_token")
        );
        assert_eq!(shown_answer(b"no hook s3cr3tT0ken here", &url), None);
        assert_eq!(shown_answer(b"bad key abcdef123", &url), None);
    }

    #[test]
    fn wecom_and_feishu_refuse_with_a_code_in_a_200() {
        assert_eq!(
            refusal(
                NotifyFormat::Wecom,
                br#"{"errcode":93000,"errmsg":"invalid"}"#
            ),
            Some(93000)
        );
        assert_eq!(
            refusal(NotifyFormat::Wecom, br#"{"errcode":0,"errmsg":"ok"}"#),
            None
        );
        assert_eq!(
            refusal(
                NotifyFormat::Feishu,
                br#"{"code":19021,"msg":"sign match fail"}"#
            ),
            Some(19021)
        );
        assert_eq!(refusal(NotifyFormat::Feishu, br#"{"StatusCode":0}"#), None);
        assert_eq!(refusal(NotifyFormat::Slack, b"ok"), None);
    }
}
