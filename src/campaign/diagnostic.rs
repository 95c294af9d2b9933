//! Diagnostics: one problem in one file, located and rendered as `file:line:col: message` with
//! the line of source, a caret under the offending text and a hint.
//!
//! Rendering is our own, not a terminal-width-dependent handler: the output is the same on a
//! terminal, in CI logs and in snapshot tests.

use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use super::yaml::Span;

/// How bad a problem is: errors make `validate` fail, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem, in one file, at one place (or the whole file when `span` is `None`).
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: PathBuf,
    pub span: Option<Span>,
    pub message: String,
    /// Short text beside the caret.
    pub label: Option<String>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(file: &Path, span: Option<Span>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: file.to_owned(),
            span,
            message: message.into(),
            label: None,
            help: None,
        }
    }

    pub fn warning(file: &Path, span: Option<Span>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(file, span, message)
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders the diagnostic against the text of its file (`None` when it could not be read).
    pub fn render(&self, source: Option<&str>) -> String {
        let mut out = String::new();
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let file = self.file.display();
        let _ = match self.span {
            Some(span) => writeln!(
                out,
                "{kind}: {file}:{}:{}: {}",
                span.line, span.column, self.message
            ),
            None => writeln!(out, "{kind}: {file}: {}", self.message),
        };
        if let (Some(span), Some(source)) = (self.span, source) {
            render_snippet(&mut out, source, span, self.label.as_deref());
        }
        if let Some(help) = &self.help {
            let _ = writeln!(out, "  = help: {help}");
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(None))
    }
}

/// The source line of `span` with carets under the spanned text (first line only).
fn render_snippet(out: &mut String, source: &str, span: Span, label: Option<&str>) {
    // Past the last line (an empty file, an error at the very end): show an empty line.
    let line_text = source
        .lines()
        .nth(span.line.saturating_sub(1))
        .unwrap_or_default();
    let line_text = line_text.trim_end_matches('\r');
    let number = span.line.to_string();
    let gutter = " ".repeat(number.len());
    let start_col = span.column.max(1);
    let rest: String = line_text.chars().skip(start_col - 1).collect();
    // Carets cover the span's text on this line, at least one character.
    let span_chars = source
        .get(span.offset..span.offset + span.len)
        .map_or(0, |s| s.lines().next().unwrap_or_default().chars().count());
    let width = span_chars.clamp(1, rest.chars().count().max(1));
    let pad: String = line_text
        .chars()
        .take(start_col - 1)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let _ = writeln!(out, "{gutter} |");
    let _ = writeln!(out, "{number} | {line_text}");
    let _ = write!(out, "{gutter} | {pad}{}", "^".repeat(width));
    match label {
        Some(label) => {
            let _ = writeln!(out, " {label}");
        }
        None => out.push('\n'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_caret_and_help() {
        let source = "version: 1\ndelivery:\n  raet: 200\n";
        let span = Span {
            offset: 24,
            len: 4,
            line: 3,
            column: 3,
        };
        let d = Diagnostic::error(Path::new("c.yaml"), Some(span), "unknown key `raet`")
            .with_label("not a key of `delivery`")
            .with_help("did you mean `rate`?");
        assert_eq!(
            d.render(Some(source)),
            "error: c.yaml:3:3: unknown key `raet`\n  |\n3 |   raet: 200\n  |   ^^^^ not a key of `delivery`\n  = help: did you mean `rate`?\n"
        );
    }
}
