//! `timcast.toml`, the project file: settings for every campaign of the project.
//!
//! Today it holds only `[[notify]]` entries (the same shape as a campaign's `notify:`); other
//! keys (`state`, `app`, `delivery`) are meant to join [`ProjectFile`] as fields. Unknown keys
//! are errors, located like a campaign's (`timcast.toml:LINE:COL: ...`), so a typo is never
//! silently ignored. An empty file, or one of comments only, is valid: it just marks the root.

use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::campaign::model::{Notify, webhook_env_problem, webhook_env_unset};
use crate::campaign::structure::closest;
use crate::campaign::yaml::Span;
use crate::campaign::{Diagnostic, Severity};

/// The parsed project file. Values keep their place in the file for later checks.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectFile {
    /// Webhooks told at the end of every campaign's runs (`[[notify]]`).
    #[serde(default)]
    pub notify: Vec<Spanned<Notify>>,
}

impl ProjectFile {
    /// The `[[notify]]` entries, without their places.
    pub fn notify(&self) -> Vec<Notify> {
        self.notify.iter().map(|n| n.get_ref().clone()).collect()
    }
}

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
            loaded
                .diagnostics
                .push(Diagnostic::error(path, span, message).with_help(help));
            return loaded;
        }
    };
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

/// The message and help for a TOML error, with a "did you mean" for an unknown key.
fn explain(message: &str) -> (String, String) {
    let message = message.trim().to_owned();
    let general = "timcast.toml takes `[[notify]]` entries (webhook_env, format, on); see \"Notifications\" in the README";
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return (message, general.to_owned());
    };
    let unknown = rest.split('`').next().unwrap_or_default();
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
}
