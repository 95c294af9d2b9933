//! `timcast.toml`, the project file: settings for every campaign of the project.
//!
//! It holds `[app]` (sdkappid, region, admin: never the key), `state` (the journal, a path
//! relative to the root or a `postgres://` URL), `[delivery]` defaults (the keys of a
//! campaign's `delivery:`), `suppress` (suppression lists every CSV audience of the project
//! leaves out, like a campaign's `audience.exclude`) and `[[notify]]` entries (the shape of a
//! campaign's `notify:`). A campaign's own values override these; flags and environment
//! variables override both.
//! Unknown keys are errors, located like a campaign's (`timcast.toml:LINE:COL: ...`), so a typo
//! is never silently ignored; a secret key is refused without being shown. An empty file, or
//! one of comments only, is valid: it just marks the root.

use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::campaign::model::{
    App, BatchMode, Delivery, Notify, OnUncertain, webhook_env_problem, webhook_env_unset,
};
use crate::campaign::structure::closest;
use crate::campaign::yaml::Span;
use crate::campaign::{Diagnostic, Severity};

/// The parsed project file. Values keep their place in the file for later checks.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectFile {
    /// The IM application of every campaign (a campaign's `app:` overrides it key by key).
    #[serde(default)]
    pub app: Option<App>,
    /// The journal: a SQLite path relative to the project root, or a `postgres://` URL.
    #[serde(default)]
    pub state: Option<Spanned<String>>,
    /// Delivery defaults (a campaign's `delivery:` overrides them key by key).
    #[serde(default)]
    pub delivery: Option<Spanned<DeliveryDefaults>>,
    /// Suppression lists for every campaign with a CSV audience, relative to the project
    /// root; each campaign checks them against its own user ID column (see [`ProjectSuppress`]).
    #[serde(default)]
    pub suppress: Vec<Spanned<String>>,
    /// Webhooks told at the end of every campaign's runs (`[[notify]]`).
    #[serde(default)]
    pub notify: Vec<Spanned<Notify>>,
}

/// `[delivery]`: the keys of a campaign's `delivery:`, each optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryDefaults {
    pub rate: Option<f64>,
    pub recipients_per_minute: Option<u32>,
    pub concurrency: Option<u32>,
    pub batch: Option<BatchMode>,
    pub max_attempts: Option<u32>,
    pub on_uncertain: Option<OnUncertain>,
}

impl DeliveryDefaults {
    /// `delivery` with each key the campaign did not write (`written` says) taken from here.
    pub fn apply(&self, delivery: &mut Delivery, written: impl Fn(&str) -> bool) {
        macro_rules! take {
            ($($key:ident),*) => {$(
                if let Some(value) = self.$key && !written(stringify!($key)) {
                    delivery.$key = value;
                }
            )*};
        }
        take!(
            rate,
            recipients_per_minute,
            concurrency,
            batch,
            max_attempts,
            on_uncertain
        );
    }
}

impl ProjectFile {
    /// The `[[notify]]` entries, without their places.
    pub fn notify(&self) -> Vec<Notify> {
        self.notify.iter().map(|n| n.get_ref().clone()).collect()
    }

    /// `app` with each key the campaign did not set taken from `[app]`.
    pub fn app_for(&self, campaign: Option<&App>) -> Option<App> {
        let Some(project) = &self.app else {
            return campaign.cloned();
        };
        let campaign = campaign.cloned().unwrap_or(App {
            sdkappid: None,
            region: None,
            admin: None,
        });
        Some(App {
            sdkappid: campaign.sdkappid.or(project.sdkappid),
            region: campaign.region.or(project.region),
            admin: campaign.admin.or_else(|| project.admin.clone()),
        })
    }

    /// The journal `state` names, resolved against the project root: a path, or the URL.
    pub fn state_at(&self, root: &Path) -> Option<std::path::PathBuf> {
        let state = self.state.as_ref()?.get_ref().trim();
        if state.starts_with("postgres://") || state.starts_with("postgresql://") {
            return Some(std::path::PathBuf::from(state));
        }
        Some(root.join(state))
    }
}

/// timcast.toml's `suppress` lists as a campaign sees them: each entry as written with its
/// place, so that a campaign's check of a list (it must exist, stay inside the root and have
/// the campaign's user ID column) points at the line in timcast.toml, not at the campaign.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProjectSuppress {
    /// timcast.toml as diagnostics name it.
    pub file: std::path::PathBuf,
    /// Its text, for the diagnostics' snippets.
    pub source: String,
    /// Each entry, relative to the project root, and where it is written.
    pub lists: Vec<(String, Span)>,
}

impl ProjectSuppress {
    /// The `suppress` entries of `file`, whose text is `source`, shown as `shown`.
    pub fn of(file: &ProjectFile, shown: &Path, source: &str) -> ProjectSuppress {
        ProjectSuppress {
            file: shown.to_owned(),
            source: source.to_owned(),
            lists: file
                .suppress
                .iter()
                .map(|entry| (entry.get_ref().clone(), span_of(source, entry.span())))
                .collect(),
        }
    }
}

/// Keys under which people paste the secret key: refused by name, the value never shown.
const SECRET_KEYS: &[&str] = &["secret", "key", "secret_key", "secretkey", "sdk_secret"];
const SECRET_MESSAGE: &str = "timcast.toml must not hold the secret key";

/// A project file read from disk: what it says (when it could be read) and its problems.
#[derive(Debug, Default)]
pub struct LoadedProjectFile {
    pub file: Option<ProjectFile>,
    /// The file's text, for rendering the diagnostics.
    pub source: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl LoadedProjectFile {
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// Reads and checks the project file at `path`.
pub fn load(path: &Path) -> LoadedProjectFile {
    let mut loaded = LoadedProjectFile::default();
    match std::fs::read_to_string(path) {
        Ok(source) => loaded.source = source,
        Err(err) => {
            loaded.diagnostics.push(
                Diagnostic::error(path, None, format!("cannot read the project file: {err}"))
                    .with_help("timcast.toml must be a readable UTF-8 file (it may be empty)"),
            );
            return loaded;
        }
    }
    let source = loaded.source.as_str();
    let file: ProjectFile = match toml::from_str(source) {
        Ok(file) => file,
        Err(err) => {
            let span = err.span().map(|range| span_of(source, range));
            let (message, help) = explain(err.message());
            if message.starts_with(SECRET_MESSAGE) {
                // Not even in a snippet: the line holds the key.
                loaded.source.clear();
            }
            loaded
                .diagnostics
                .push(Diagnostic::error(path, span, message).with_help(help));
            return loaded;
        }
    };
    if let Some(state) = &file.state
        && state.get_ref().trim().is_empty()
    {
        loaded.diagnostics.push(
            Diagnostic::error(path, Some(span_of(source, state.span())), "`state` is empty")
                .with_help("give the journal: a SQLite path relative to the project root (e.g. \".timcast/state.db\") or a postgres:// URL, or remove the line"),
        );
    }
    if let Some(delivery) = &file.delivery {
        check_delivery(path, source, delivery, &mut loaded.diagnostics);
    }
    for entry in &file.notify {
        let at = Some(key_span(source, entry.span(), "webhook_env"));
        let name = &entry.get_ref().webhook_env;
        if let Some(problem) = webhook_env_problem(name) {
            loaded.diagnostics.push(
                Diagnostic::error(path, at, problem)
                    .with_help("write the variable's name, e.g. webhook_env = \"SLACK_WEBHOOK_URL\", and export the URL in it"),
            );
        } else if webhook_env_unset(name) {
            loaded.diagnostics.push(
                Diagnostic::warning(path, at, format!("the environment variable `{name}` is not set"))
                    .with_help("a run posts no notification to it (with a warning) until it is set to the webhook's URL"),
            );
        }
    }
    loaded.file = Some(file);
    loaded
}

/// `[delivery]` values a campaign would refuse, located in timcast.toml.
fn check_delivery(
    path: &Path,
    source: &str,
    delivery: &Spanned<DeliveryDefaults>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let d = delivery.get_ref();
    let mut refuse = |key: &str, message: String, help: &str| {
        let at = Some(key_span(source, delivery.span(), key));
        diagnostics.push(Diagnostic::error(path, at, message).with_help(help));
    };
    if let Some(rate) = d.rate
        && (rate.is_nan() || rate <= 0.0)
    {
        refuse(
            "rate",
            format!("`rate` must be more than 0, but it is {rate}"),
            "calls per second; the API's documented default limit is 200",
        );
    }
    for (key, value, help) in [
        (
            "recipients_per_minute",
            d.recipients_per_minute,
            "the documented default is 12000",
        ),
        ("concurrency", d.concurrency, "32 is a good default"),
        ("max_attempts", d.max_attempts, "5 is the default"),
    ] {
        if value == Some(0) {
            refuse(key, format!("`{key}` must be at least 1"), help);
        }
    }
}

/// The message and help for a TOML error, with a "did you mean" for an unknown key.
fn explain(message: &str) -> (String, String) {
    let message = message.trim().to_owned();
    let general = "timcast.toml takes `[app]` (sdkappid, region, admin), `state`, `suppress` (a list of CSV files), `[delivery]` (rate, recipients_per_minute, concurrency, batch, max_attempts, on_uncertain) and `[[notify]]` entries (webhook_env, format, on); see \"The project\" in the README";
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return (message, general.to_owned());
    };
    let unknown = rest.split('`').next().unwrap_or_default();
    if SECRET_KEYS.contains(&unknown) {
        return (
            format!("{SECRET_MESSAGE} (`{unknown}`); its value is not shown"),
            "timcast.toml must never hold the secret key (it is committed with the campaigns): remove the line, export the key in TIM_SECRET_KEY or name a file with --secret-key-file / TIM_SECRET_KEY_FILE, and rotate the key if the file was ever shared".to_owned(),
        );
    }
    // toml lists the expected keys as "expected `a`, `b`" (or "expected one of ...").
    let expected: Vec<&str> = message
        .split_once("expected")
        .map(|(_, list)| list.split('`').skip(1).step_by(2).collect())
        .unwrap_or_default();
    let help = match closest(unknown, expected.iter().copied()) {
        Some(close) => format!(
            "did you mean `{close}`? (valid keys here: {})",
            expected.join(", ")
        ),
        None if expected.is_empty() => general.to_owned(),
        None => format!("valid keys here: {}", expected.join(", ")),
    };
    (format!("unknown key `{unknown}` in timcast.toml"), help)
}

/// The span of `key` in the table whose span is `range`, else of the table itself. toml gives
/// an array-of-tables entry the span of its `[[notify]]` header, so the table's keys are the
/// lines after it, up to the next header.
fn key_span(source: &str, range: Range<usize>, key: &str) -> Span {
    let start = range.start.min(source.len());
    let body_start = source[start..]
        .find('\n')
        .map_or(source.len(), |n| start + n + 1);
    let body = &source[body_start..];
    let body_end = body
        .match_indices('\n')
        .map(|(n, _)| n + 1)
        .find(|&n| body[n..].trim_start().starts_with('['))
        .unwrap_or(body.len());
    let found = body[..body_end]
        .lines()
        .scan(body_start, |offset, line| {
            let at = *offset;
            *offset += line.len() + 1;
            Some((at, line))
        })
        .find(|(_, line)| {
            line.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|(at, line)| {
            let indent = line.len() - line.trim_start().len();
            at + indent..at + indent + key.len()
        });
    span_of(source, found.unwrap_or(range))
}

/// A byte range of `source` as a [`Span`] with its 1-based line and column (in characters).
fn span_of(source: &str, range: Range<usize>) -> Span {
    let mut offset = range.start.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Span {
        offset,
        len: range.end.saturating_sub(range.start),
        line,
        column,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::model::{NotifyFormat, RunEnd};

    fn load_text(text: &str) -> LoadedProjectFile {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("timcast.toml");
        std::fs::write(&path, text).unwrap();
        load(&path)
    }

    #[test]
    fn comments_only_is_an_empty_project_file() {
        let loaded = load_text("# marks the root\n");
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        assert_eq!(loaded.file, Some(ProjectFile::default()));
    }

    #[test]
    fn notify_entries_read_with_their_defaults() {
        let loaded = load_text(
            "[[notify]]\nwebhook_env = \"PATH\"\n\n[[notify]]\nwebhook_env = \"PATH\"\nformat = \"feishu\"\non = [\"failed\"]\n",
        );
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let notify = loaded.file.unwrap().notify();
        assert_eq!(notify[0].format, NotifyFormat::Json);
        assert_eq!(notify[0].on, [RunEnd::Finished, RunEnd::Failed]);
        assert_eq!(notify[1].format, NotifyFormat::Feishu);
        assert_eq!(notify[1].on, [RunEnd::Failed]);
    }

    #[test]
    fn an_unknown_key_is_located_with_a_suggestion() {
        let loaded = load_text("[[notify]]\nwebhook_env = \"PATH\"\nformt = \"slack\"\n");
        let d = &loaded.diagnostics[0];
        assert_eq!(d.message, "unknown key `formt` in timcast.toml");
        let span = d.span.unwrap();
        assert_eq!((span.line, span.column), (3, 1));
        assert!(
            d.help
                .as_deref()
                .unwrap()
                .starts_with("did you mean `format`?"),
            "{:?}",
            d.help
        );
        let top = load_text("stat = \".timcast/state.db\"\n");
        assert_eq!(
            top.diagnostics[0].span.map(|s| (s.line, s.column)),
            Some((1, 1))
        );
    }

    #[test]
    fn a_url_in_webhook_env_and_an_unset_variable_are_located() {
        let loaded = load_text(
            "[[notify]]\nformat = \"slack\"\nwebhook_env = \"https://hooks.example/T/secret\"\n\n[[notify]]\nwebhook_env = \"TIMCAST_SURELY_UNSET_VARIABLE\"\n",
        );
        let found: Vec<(Severity, usize)> = loaded
            .diagnostics
            .iter()
            .map(|d| (d.severity, d.span.unwrap().line))
            .collect();
        assert_eq!(found, [(Severity::Error, 3), (Severity::Warning, 6)]);
        assert!(!loaded.diagnostics[0].message.contains("secret"));
    }

    #[test]
    fn app_state_and_delivery_defaults_read_and_merge_under_the_campaign() {
        let loaded = load_text(
            "state = \"journal/team.db\"\n\n[app]\nsdkappid = 1400000001\nregion = \"singapore\"\nadmin = \"ops\"\n\n[delivery]\nrate = 20\nbatch = \"off\"\n",
        );
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        let file = loaded.file.unwrap();
        assert_eq!(
            file.state_at(Path::new("/p")),
            Some(std::path::PathBuf::from("/p/journal/team.db"))
        );
        let campaign_app = App {
            sdkappid: None,
            region: None,
            admin: Some("bot".into()),
        };
        let app = file.app_for(Some(&campaign_app)).unwrap();
        assert_eq!(app.sdkappid, Some(1_400_000_001));
        assert_eq!(app.admin.as_deref(), Some("bot"));
        let mut delivery = Delivery::default();
        file.delivery
            .unwrap()
            .get_ref()
            .apply(&mut delivery, |key| key == "batch");
        assert_eq!(delivery.rate, 20.0);
        assert_eq!(delivery.batch, BatchMode::Auto, "the campaign wrote batch");
    }

    #[test]
    fn suppress_entries_keep_their_place_in_the_file() {
        let text =
            "state = \".timcast/state.db\"\nsuppress = [\"data/a.csv\",\n  \"data/b.csv\"]\n";
        let loaded = load_text(text);
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        let file = loaded.file.unwrap();
        let suppress = ProjectSuppress::of(&file, Path::new("timcast.toml"), text);
        let found: Vec<(&str, usize, usize)> = suppress
            .lists
            .iter()
            .map(|(entry, span)| (entry.as_str(), span.line, span.column))
            .collect();
        assert_eq!(found, [("data/a.csv", 2, 13), ("data/b.csv", 3, 3)]);
    }

    #[test]
    fn a_postgres_state_is_a_url_not_a_path() {
        let file = load_text("state = \"postgres://timcast@db/timcast\"\n")
            .file
            .unwrap();
        assert_eq!(
            file.state_at(Path::new("/p")),
            Some(std::path::PathBuf::from("postgres://timcast@db/timcast"))
        );
    }

    #[test]
    fn a_secret_key_is_refused_and_never_shown() {
        let loaded = load_text("[app]\nsdkappid = 1400000001\nsecret = \"hunter2-key\"\n");
        let d = &loaded.diagnostics[0];
        assert!(d.message.starts_with(SECRET_MESSAGE), "{}", d.message);
        assert_eq!(d.span.map(|s| s.line), Some(3));
        assert!(
            loaded.source.is_empty(),
            "the text holding the key is withheld"
        );
        assert!(!d.render(None).contains("hunter2"));
    }

    #[test]
    fn delivery_values_a_campaign_would_refuse_are_located() {
        let loaded = load_text("[delivery]\nrate = 0\nconcurrency = 0\n");
        let found: Vec<(usize, &str)> = loaded
            .diagnostics
            .iter()
            .map(|d| (d.span.unwrap().line, d.message.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (2, "`rate` must be more than 0, but it is 0"),
                (3, "`concurrency` must be at least 1")
            ]
        );
    }
}
