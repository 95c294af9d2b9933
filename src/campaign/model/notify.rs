//! `notify:`: the webhooks told when a run of `apply` (or of `run --due`) ends.
//!
//! The same entries can be written in `timcast.toml` (`[[notify]]`) for every campaign of the
//! project; [`merge_notify`] says how the two lists combine. The URL itself never appears in a file:
//! webhook URLs carry their token in the path, so the entry names the environment variable
//! that holds it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One webhook told at the end of each run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    /// The NAME of the environment variable that holds the webhook's URL (e.g.
    /// `SLACK_WEBHOOK_URL`), never the URL: it carries a token. https, or plain http to loopback.
    pub webhook_env: String,
    /// The message shape: `json` (timcast's own object), `slack` (incoming webhook), `wecom`
    /// (WeCom group robot) or `feishu` (Feishu/Lark custom bot).
    #[serde(default)]
    pub format: NotifyFormat,
    /// Which ends of a run are posted: `finished` (the run exited 0) and `failed` (any other
    /// end of a run: failed, uncertain or held-back sends, a fatal error, an interruption).
    #[serde(default = "every_end")]
    pub on: Vec<RunEnd>,
}

fn every_end() -> Vec<RunEnd> {
    vec![RunEnd::Finished, RunEnd::Failed]
}

impl Notify {
    /// Whether this entry is posted for a run that ended as `end`.
    pub fn fires_on(&self, end: RunEnd) -> bool {
        self.on.contains(&end)
    }
}

/// The body a webhook receives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotifyFormat {
    /// timcast's own JSON object: `event`, `campaign`, `sent`, `failed`, `uncertain`,
    /// `not_started`, `duration_ms`, `report`.
    #[default]
    Json,
    /// A Slack incoming webhook: `{"text": ...}`.
    Slack,
    /// A WeCom (企业微信) group robot: `{"msgtype": "markdown", ...}`.
    Wecom,
    /// A Feishu/Lark custom bot: `{"msg_type": "text", ...}`.
    Feishu,
}

impl NotifyFormat {
    /// The word written in the file.
    pub fn word(self) -> &'static str {
        match self {
            NotifyFormat::Json => "json",
            NotifyFormat::Slack => "slack",
            NotifyFormat::Wecom => "wecom",
            NotifyFormat::Feishu => "feishu",
        }
    }
}

/// How a run ended, as far as notifications go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunEnd {
    /// The run exited 0: everything it started was sent (a `--limit` canary, or recipients
    /// outside their window, may leave some pending: see `not_started`).
    Finished,
    /// Any other end of a run that started: failed, uncertain or held-back sends (exit 3), a
    /// fatal API error (1), an interruption (4), the journal or network failing (5).
    Failed,
}

impl RunEnd {
    /// The word written in the file and posted as `event`.
    pub fn word(self) -> &'static str {
        match self {
            RunEnd::Finished => "finished",
            RunEnd::Failed => "failed",
        }
    }
}

/// The entries a campaign's runs post to: the project's (`timcast.toml`) first, then the
/// campaign's. A campaign entry with the same `webhook_env` and `format` as a project entry
/// replaces it in place (so `on: []` turns a project-wide webhook off for that campaign, and
/// `on: [failed]` narrows it); any other campaign entry is added after the project's.
pub fn merge_notify(project: &[Notify], campaign: &[Notify]) -> Vec<Notify> {
    let mut all: Vec<Notify> = project.to_vec();
    for entry in campaign {
        match all
            .iter_mut()
            .find(|e| e.webhook_env == entry.webhook_env && e.format == entry.format)
        {
            Some(same) => *same = entry.clone(),
            None => all.push(entry.clone()),
        }
    }
    all.retain(|e| !e.on.is_empty());
    all
}

/// Why `name` cannot name an environment variable, if it cannot: letters, digits and `_`,
/// not starting with a digit (what a shell's `export` takes).
pub fn webhook_env_problem(name: &str) -> Option<String> {
    if name.contains("://") {
        return Some(
            "`webhook_env` holds a URL: it must name an environment variable that holds the URL"
                .to_owned(),
        );
    }
    let valid = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (!valid).then(|| format!("`{name}` is not an environment variable's name"))
}

/// Whether the variable `name` is unset (or empty) in this process: a run would skip the hook.
pub fn webhook_env_unset(name: &str) -> bool {
    std::env::var_os(name).is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(env: &str, format: NotifyFormat, on: &[RunEnd]) -> Notify {
        Notify {
            webhook_env: env.into(),
            format,
            on: on.to_vec(),
        }
    }

    #[test]
    fn a_campaign_entry_replaces_the_same_project_hook_and_adds_the_others() {
        use NotifyFormat::*;
        use RunEnd::*;
        let project = [
            entry("OPS", Slack, &[Finished, Failed]),
            entry("AUDIT", Json, &[Finished, Failed]),
        ];
        let campaign = [
            entry("OPS", Slack, &[Failed]),
            entry("AUDIT", Json, &[]),
            entry("TEAM", Wecom, &[Finished]),
        ];
        assert_eq!(
            merge_notify(&project, &campaign),
            [
                entry("OPS", Slack, &[Failed]),
                entry("TEAM", Wecom, &[Finished])
            ]
        );
        // Same variable, another format: another hook.
        assert_eq!(
            merge_notify(&project[..1], &[entry("OPS", Json, &[Failed])]).len(),
            2
        );
    }

    #[test]
    fn webhook_env_names_a_variable_not_a_url() {
        assert_eq!(webhook_env_problem("SLACK_WEBHOOK_URL"), None);
        assert_eq!(webhook_env_problem("_hook2"), None);
        for bad in ["", "2HOOK", "MY-HOOK", "A B"] {
            assert!(webhook_env_problem(bad).is_some(), "{bad}");
        }
        let url = webhook_env_problem("https://hooks.slack.com/services/T/B/x").unwrap_or_default();
        assert!(
            url.contains("holds a URL") && !url.contains("slack.com"),
            "{url}"
        );
    }
}
