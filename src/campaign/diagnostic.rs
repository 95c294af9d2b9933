//! Diagnostics: one problem in one file, located and rendered as `file:line:col: message` with
//! the source it points at, a marker under the offending text and a hint.
//!
//! Rendering is done by `annotate-snippets` with its plain renderer and a fixed width, not a
//! terminal-dependent handler: the output is the same on a terminal, in CI logs and in snapshot
//! tests, and markers are placed by display width, so they stay under CJK text and emoji.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

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
    ///
    /// The first line is `error: file:line:col: message` (the location editors and CI parse);
    /// the snippet below it carries no `-->` line, which would repeat that location.
    pub fn render(&self, source: Option<&str>) -> String {
        let level = match self.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let file = self.file.display();
        let title = match self.span {
            Some(span) => format!("{file}:{}:{}: {}", span.line, span.column, self.message),
            None => format!("{file}: {}", self.message),
        };
        let mut group = Group::with_title(level.primary_title(title));
        if let (Some(span), Some(source)) = (self.span, source) {
            let annotation = AnnotationKind::Primary.span(byte_range(source, span));
            let annotation = match &self.label {
                Some(label) => annotation.label(label.as_str()),
                None => annotation,
            };
            group = group.element(Snippet::source(source).annotation(annotation));
        }
        if let Some(help) = &self.help {
            group = group.element(Level::HELP.message(help.as_str()));
        }
        let mut out = Renderer::plain().render(&[group]);
        out.push('\n');
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(None))
    }
}

/// The bytes of `source` that `span` covers. The start comes from the span's line and column
/// (in characters), the location the header prints, so the marker always stands where the
/// header says; the length is the span's. The range stays inside the text and on character
/// boundaries (a span computed from a mangled file must not make rendering panic).
fn byte_range(source: &str, span: Span) -> Range<usize> {
    let start = line_column_offset(source, span.line, span.column);
    let mut end = start.saturating_add(span.len).min(source.len());
    while !source.is_char_boundary(end) {
        end -= 1;
    }
    start..end.max(start)
}

/// Byte offset of a 1-based line and column, the column clamped to the end of its line; the
/// end of the text for a line past the last one.
fn line_column_offset(source: &str, line: usize, column: usize) -> usize {
    let mut line_start = 0;
    for _ in 1..line.max(1) {
        match source[line_start..].find('\n') {
            Some(newline) => line_start += newline + 1,
            None => return source.len(),
        }
    }
    let text = &source[line_start..];
    let text = &text[..text.find(['\r', '\n']).unwrap_or(text.len())];
    let within: usize = text
        .chars()
        .take(column.saturating_sub(1))
        .map(char::len_utf8)
        .sum();
    line_start + within
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
            "error: c.yaml:3:3: unknown key `raet`\n  |\n3 |   raet: 200\n  |   ^^^^ not a key of `delivery`\n  |\n  = help: did you mean `rate`?\n"
        );
    }

    /// Display columns of `text`: CJK ideographs and fullwidth punctuation take two.
    fn display_width(text: &str) -> usize {
        text.chars()
            .map(|c| match c {
                '\u{3000}'..='\u{303f}' | '\u{4e00}'..='\u{9fff}' | '\u{ff00}'..='\u{ff60}' => 2,
                _ => 1,
            })
            .sum()
    }

    #[test]
    fn the_marker_stands_under_text_after_cjk_characters() {
        let line = "  - text: \"你好，{{first_nmae}}！\"";
        let source = format!("version: 1\nmessage:\n{line}\n");
        let before = "  - text: \"你好，{{";
        let span = Span {
            offset: source.find("first_nmae").unwrap(),
            len: "first_nmae".len(),
            line: 3,
            column: before.chars().count() + 1,
        };
        let d = Diagnostic::error(Path::new("c.yaml"), Some(span), "unknown variable")
            .with_label("not a column")
            .with_help("check the spelling");
        let out = d.render(Some(&source));
        assert!(
            out.starts_with("error: c.yaml:3:17: unknown variable\n"),
            "{out}"
        );
        let lines: Vec<&str> = out.lines().collect();
        let shown = lines.iter().position(|l| l.ends_with(line)).unwrap();
        let marker = lines[shown + 1];
        let gutter = lines[shown].len() - line.len();
        let caret = marker.find('^').unwrap();
        // `  - text: "` is 11 columns, `你好，` 6, `{{` 2: the caret stands in column 20.
        assert_eq!(display_width(before), 19);
        assert_eq!(caret - gutter, display_width(before), "{out}");
        assert_eq!(&marker[caret..], "^^^^^^^^^^ not a column", "{out}");
    }

    #[test]
    fn a_span_over_several_lines_marks_where_it_starts_and_ends() {
        let source = "message:\n  - text: |\n      你好\n      {{x}}\n";
        let start = source.find("你好").unwrap();
        let end = source.find("}}").unwrap() + 2;
        let span = Span {
            offset: start,
            len: end - start,
            line: 3,
            column: 7,
        };
        let d = Diagnostic::warning(Path::new("c.yaml"), Some(span), "two lines");
        assert_eq!(
            d.render(Some(source)),
            "warning: c.yaml:3:7: two lines\n  |\n3 | /       你好\n4 | |       {{x}}\n  | |___________^\n"
        );
    }

    #[test]
    fn without_its_source_a_diagnostic_keeps_its_location_and_hint() {
        let span = Span {
            offset: 99,
            len: 3,
            line: 9,
            column: 4,
        };
        let d = Diagnostic::error(Path::new("c.yaml"), Some(span), "bad").with_help("fix it");
        let out = d.to_string();
        assert!(out.starts_with("error: c.yaml:9:4: bad\n"), "{out}");
        assert!(out.contains("= help: fix it"), "{out}");
        // A span beyond the text (a mangled or changed file) renders without panicking.
        assert!(d.render(Some("short\n")).contains('^'));
    }
}
