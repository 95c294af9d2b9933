//! Templates: every one the campaign holds (inline or in a `text_file`) and every project
//! partial they include (`{{> footer}}`, transitively) must compile and use only known helpers,
//! partials and variables; problems point into the template's own text, a partial's file.

use std::collections::BTreeSet;

use crate::audience::CsvHeader;
use crate::campaign::diagnostic::Diagnostic;
use crate::campaign::model::MessageElement;
use crate::campaign::structure;
use crate::campaign::yaml::{Span, offset_of};
use crate::template;

use super::Checks;
use crate::template::PartialCall;

/// The names a template may use, and whether to check them.
struct Scope<'a> {
    known: BTreeSet<String>,
    header: Option<&'a CsvHeader>,
    check_variables: bool,
}

/// The template variables every campaign has, besides its CSV columns and `vars`.
pub const BUILTIN_VARIABLES: &[&str] = &["campaign", "vars", "recipient"];

use super::super::TemplateText as TemplateSource;

impl Checks<'_> {
    /// Every template: inline in the file or in a `text_file`.
    fn template_sources(&mut self) -> Vec<TemplateSource> {
        let campaign = self.campaign;
        let mut sources = Vec::new();
        let mut inline = |pointer: String, text: &Option<String>| {
            if let Some(text) = text {
                sources.push(TemplateSource {
                    pointer,
                    text: text.clone(),
                    file: None,
                });
            }
        };
        for (index, element) in campaign.message.iter().enumerate() {
            let base = format!("/message/{index}/{}", element.kind());
            match element {
                MessageElement::Text(text) => inline(base, &Some(text.clone())),
                MessageElement::Custom(c) => {
                    inline(format!("{base}/data"), &Some(c.data.clone()));
                    inline(format!("{base}/desc"), &c.desc);
                    inline(format!("{base}/ext"), &c.ext);
                }
                MessageElement::Face(f) => inline(format!("{base}/data"), &Some(f.data.clone())),
                MessageElement::Location(l) => {
                    inline(format!("{base}/desc"), &Some(l.desc.clone()));
                }
                _ => {}
            }
        }
        inline("/cloud_custom_data".to_owned(), &campaign.cloud_custom_data);
        if let Some(push) = &campaign.push {
            inline("/push/title".to_owned(), &push.title);
            inline("/push/desc".to_owned(), &push.desc);
            inline("/push/ext".to_owned(), &push.ext);
            if let Some(apns) = &push.apns {
                inline("/push/apns/title".to_owned(), &apns.title);
                inline("/push/apns/subtitle".to_owned(), &apns.subtitle);
            }
        }
        for (index, element) in campaign.message.iter().enumerate() {
            if let MessageElement::TextFile(relative) = element {
                let pointer = format!("/message/{index}/text_file");
                let Some(path) = self.file(&pointer, relative) else {
                    continue;
                };
                match std::fs::read_to_string(&path) {
                    Ok(text) => {
                        self.found.sources.insert(path.clone(), text.clone());
                        sources.push(TemplateSource {
                            pointer,
                            text,
                            file: Some(path),
                        });
                    }
                    Err(err) => self.error(
                        &pointer,
                        format!("cannot read template {}: {err}", path.display()),
                        "templates are UTF-8 text files",
                    ),
                }
            }
        }
        sources
    }

    pub(super) fn templates(&mut self, header: Option<&CsvHeader>) {
        let campaign = self.campaign;
        let mut known: BTreeSet<String> = campaign.vars.keys().cloned().collect();
        // The default message is rendered with each variant's `vars` too.
        known.extend(
            campaign
                .variants
                .iter()
                .flat_map(|v| v.vars.keys().cloned()),
        );
        known.extend(BUILTIN_VARIABLES.iter().map(|s| (*s).to_owned()));
        if let Some(header) = header {
            known.extend(header.columns.iter().cloned());
        }
        // Without a readable CSV, its columns are unknown: variable checks would only add noise.
        let audience = &campaign.audience;
        let check_variables =
            header.is_some() || (audience.csv.is_none() && audience.official_account.is_some());
        let scope = Scope {
            known,
            header,
            check_variables,
        };
        let sources = self.template_sources();
        let mut seen = BTreeSet::new();
        for template in &sources {
            if let Some(uses) = self.check_template(template, &scope, None) {
                self.partial_calls(template, &uses, &scope, &mut Vec::new(), &mut seen);
            }
        }
        self.found.templates = sources;
    }

    /// Compiles one template and checks its helpers and variables (against `scope`, plus the
    /// parameters of the call when it is a partial); returns what it uses when it compiles.
    fn check_template(
        &mut self,
        template: &TemplateSource,
        scope: &Scope<'_>,
        partial: Option<(&str, &PartialCall)>,
    ) -> Option<template::TemplateUses> {
        let compiled = match template::compile(&template.text) {
            Ok(compiled) => compiled,
            Err(err) => {
                let (line, column) = err.pos().unwrap_or((1, 1));
                let span = self.template_span(template, line, column, 1);
                let mut reason = err.reason().to_string();
                // The parser lists every rule it expected; that list helps nobody.
                if let Some(cut) = reason.find(": expected ").filter(|_| reason.len() > 100) {
                    reason.truncate(cut);
                }
                let what = match partial {
                    Some((name, _)) => format!("the partial `{name}`"),
                    None => "the template".to_owned(),
                };
                self.push_template(
                    template,
                    span,
                    format!("{what} does not compile: {reason}"),
                    "check the `{{ }}` pairs and block helpers (`{{#if x}}...{{/if}}`)",
                );
                return None;
            }
        };
        let uses = template::uses(&compiled);
        for helper in &uses.helpers {
            let known_helper = template::CAMPAIGN_HELPERS.contains(&helper.as_str())
                || template::BUILTIN_HELPERS.contains(&helper.as_str());
            if !known_helper {
                let span = self.name_span(template, helper);
                let mut help = format!(
                    "helpers: {}, and Handlebars' if, unless, each, with, eq, ...",
                    template::CAMPAIGN_HELPERS.join(", ")
                );
                if let Some(close) =
                    structure::closest(helper, template::CAMPAIGN_HELPERS.iter().copied())
                {
                    help = format!("did you mean `{close}`? ({help})");
                }
                self.push_template(template, span, format!("unknown helper `{helper}`"), help);
            }
        }
        // A partial given a context object reads that object's names: unknowable statically.
        let with_context = partial.is_some_and(|(_, call)| call.with_context);
        if !scope.check_variables || with_context {
            return Some(uses);
        }
        let params = partial.map(|(_, call)| &call.params);
        let header = scope.header;
        for variable in uses.variables.difference(&scope.known) {
            if params.is_some_and(|p| p.contains(variable)) {
                continue;
            }
            let span = self.name_span(template, variable);
            let mut help = match header {
                Some(header) => format!(
                    "add a `{variable}` column to the CSV or a `{variable}` entry under `vars`; the CSV's columns are: {}",
                    header.columns.join(", ")
                ),
                None => format!(
                    "an official account has no per-recipient data: add `{variable}` under `vars`"
                ),
            };
            if let Some((name, _)) = partial {
                help = format!(
                    "{help}, or pass it to the partial: {{{{> {name} {variable}=\"...\"}}}}"
                );
            }
            let candidates = scope
                .known
                .iter()
                .chain(params.into_iter().flatten())
                .map(String::as_str);
            if let Some(close) = structure::closest(variable, candidates) {
                help = format!("did you mean `{close}`? ({help})");
            }
            let what = match partial {
                Some((name, _)) => format!("the partial `{name}`"),
                None => "the template".to_owned(),
            };
            let message = match header {
                Some(_) => {
                    format!("{what} uses `{variable}`, which is neither a CSV column nor a var")
                }
                None => format!("{what} uses `{variable}`, which is not defined under `vars`"),
            };
            self.push_template(template, span, message, help);
        }
        Some(uses)
    }

    /// Resolves the partials `template` calls and checks each (once per kind of call), then
    /// the partials those call; `stack` holds the partials being expanded, to refuse a cycle.
    fn partial_calls(
        &mut self,
        template: &TemplateSource,
        uses: &template::TemplateUses,
        scope: &Scope<'_>,
        stack: &mut Vec<String>,
        seen: &mut BTreeSet<(String, Vec<String>, bool)>,
    ) {
        let loaded = self.loaded;
        for call in &uses.partials {
            let Some(partial) = loaded.partials.iter().find(|p| p.name == call.name) else {
                let span = self.name_span(template, &call.name);
                let names = loaded.partials.iter().map(|p| p.name.as_str());
                let mut help = if loaded.partials.is_empty() {
                    format!(
                        "partials are the files templates/**/*.hbs under the project root ({}): create templates/{}.hbs",
                        crate::project::relative_display(&loaded.project.root),
                        call.name
                    )
                } else {
                    format!(
                        "the project's partials (templates/**/*.hbs): {}",
                        names.clone().collect::<Vec<_>>().join(", ")
                    )
                };
                if let Some(close) = structure::closest(&call.name, names) {
                    help = format!("did you mean `{close}`? ({help})");
                }
                self.push_template(
                    template,
                    span,
                    format!("unknown partial `{}`", call.name),
                    help,
                );
                continue;
            };
            if stack.contains(&call.name) {
                let span = self.name_span(template, &call.name);
                self.push_template(
                    template,
                    span,
                    format!(
                        "the partial `{}` includes itself ({} → {})",
                        call.name,
                        stack.join(" → "),
                        call.name
                    ),
                    "a partial may include others, but never one that leads back to it",
                );
                continue;
            }
            self.found.partials.insert(call.name.clone());
            let key = (
                call.name.clone(),
                call.params.iter().cloned().collect(),
                call.with_context,
            );
            if !seen.insert(key) {
                continue;
            }
            let text = match &partial.text {
                Ok(text) => text.clone(),
                Err(err) => {
                    let span = self.name_span(template, &call.name);
                    self.push_template(
                        template,
                        span,
                        format!(
                            "cannot read the partial `{}` ({}): {err}",
                            call.name,
                            partial.path.display()
                        ),
                        "partials are UTF-8 text files",
                    );
                    continue;
                }
            };
            self.found
                .sources
                .insert(partial.path.clone(), text.clone());
            let source = TemplateSource {
                pointer: format!("partial {}", call.name),
                text,
                file: Some(partial.path.clone()),
            };
            if let Some(inner) = self.check_template(&source, scope, Some((&call.name, call))) {
                stack.push(call.name.clone());
                self.partial_calls(&source, &inner, scope, stack, seen);
                stack.pop();
            }
        }
    }

    fn push_template(
        &mut self,
        template: &TemplateSource,
        span: Option<Span>,
        message: String,
        help: impl Into<String>,
    ) {
        let file = template.file.as_deref().unwrap_or(&self.loaded.path);
        self.found
            .diagnostics
            .push(Diagnostic::error(file, span, message).with_help(help));
    }

    /// The span of the first `{{ ... name` in a template.
    fn name_span(&self, template: &TemplateSource, name: &str) -> Option<Span> {
        let index = find_name_in_mustache(&template.text, name)?;
        let before = &template.text[..index];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        self.template_span(template, line, column, name.len())
    }

    /// Maps a line and column inside a template to a span in the file that holds it.
    fn template_span(
        &self,
        template: &TemplateSource,
        line: usize,
        column: usize,
        len: usize,
    ) -> Option<Span> {
        if template.file.is_some() {
            // Errors at the end of the text (an unclosed block) point after its last character.
            let lines = template.text.lines().count().max(1);
            let (line, column) = if line > lines {
                let last = template.text.lines().last().unwrap_or_default();
                (lines, last.chars().count() + 1)
            } else {
                (line, column)
            };
            let offset = offset_of(&template.text, line, column);
            return Some(Span {
                offset,
                len,
                line,
                column,
            });
        }
        let node = self.span(&template.pointer)?;
        Some(inline_template_span(
            &self.loaded.source,
            node,
            line,
            column,
            len,
        ))
    }
}

/// Finds `name` as an identifier inside a `{{ ... }}` of a template; returns its byte offset.
fn find_name_in_mustache(text: &str, name: &str) -> Option<usize> {
    let mut search = 0;
    while let Some(open) = text[search..].find("{{").map(|i| i + search) {
        let close = text[open..].find("}}").map_or(text.len(), |i| i + open);
        let inside = &text[open..close];
        let mut from = 0;
        while let Some(found) = inside[from..].find(name).map(|i| i + from) {
            let before = inside[..found].chars().next_back();
            let after = inside[found + name.len()..].chars().next();
            let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
            if boundary(before) && boundary(after) && before != Some('"') {
                return Some(open + found);
            }
            from = found + name.len();
        }
        search = close;
    }
    None
}

/// Maps a template's line and column (1-based) into the YAML scalar that holds it.
///
/// Exact for one-line scalars (plain or quoted, without escapes) and for block scalars (`|`);
/// elsewhere it points at the right line or, failing that, at the scalar.
pub fn inline_template_span(
    source: &str,
    node: Span,
    line: usize,
    column: usize,
    len: usize,
) -> Span {
    let line_start = source[..node.offset.min(source.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let prefix = source.get(line_start..node.offset).unwrap_or_default();
    let first = source.get(node.offset..).and_then(|s| s.chars().next());
    if prefix.trim().is_empty() {
        // The scalar starts a line of its own (a block scalar's content): lines map one to one.
        let target = (node.line + line).saturating_sub(1).max(1);
        let text = source
            .lines()
            .nth(target.saturating_sub(1))
            .unwrap_or_default();
        let indent = text.len() - text.trim_start().len();
        let col = indent + column;
        return Span {
            offset: offset_of(source, target, col),
            len,
            line: target,
            column: col,
        };
    }
    match first {
        Some('"' | '\'') if line == 1 => node.shifted(source, column, len),
        Some(_) if line == 1 => node.shifted(source, column.saturating_sub(1), len),
        _ => node,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_found_inside_mustaches_only() {
        let text = "first_name: {{upper first_name}}";
        assert_eq!(find_name_in_mustache(text, "first_name"), Some(20));
        assert_eq!(find_name_in_mustache("{{default x \"x\"}}", "x"), Some(10));
    }
}
