//! The meaning of a structurally sound campaign: files, CSV headers, templates, senders and the
//! combinations and limits the API documents. No network.
//!
//! This file owns the run ([`check`]), what it finds, the limits it checks against and the
//! version and name; the audience and its files, the sender and message elements, templates,
//! controls, delivery and schedule, and notifications are each checked in a file beside it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::LoadedCampaign;
use super::diagnostic::Diagnostic;
use super::model::*;
use super::yaml::Span;

mod files;
mod limits;
mod message;
mod notify;
mod push;
mod size;
mod templates;
mod variants;

pub use files::{PathProblem, resolve_inside};
pub use templates::{BUILTIN_VARIABLES, inline_template_span};

/// What the checks found, and the texts of the extra files (templates) they point into.
#[derive(Debug, Default)]
pub struct Found {
    pub diagnostics: Vec<Diagnostic>,
    pub sources: BTreeMap<PathBuf, String>,
    /// Every template, in the order they are checked.
    pub templates: Vec<super::TemplateText>,
    /// The CSV's columns, when it has a readable header.
    pub columns: Vec<String>,
    /// The project partials the templates include, directly or through other partials.
    pub partials: std::collections::BTreeSet<String>,
}

/// The longest UserID the API takes, in bytes.
pub const MAX_USER_ID_BYTES: usize = 32;
/// APNs payloads are 4 KB; the API asks to keep push `Desc` + `Ext` within 3 KB.
pub const MAX_PUSH_TEXT_BYTES: usize = 3 * 1024;

/// Runs every check on a loaded campaign.
pub fn check(loaded: &LoadedCampaign) -> Found {
    let mut cx = Checks {
        loaded,
        campaign: &loaded.campaign,
        found: Found::default(),
        at: String::new(),
    };
    cx.version_and_name();
    let columns = cx.audience();
    cx.sender_and_stream();
    cx.elements();
    cx.push();
    cx.templates(columns.as_ref());
    cx.variants_and_locales(columns.as_ref());
    cx.controls();
    cx.delivery();
    cx.schedule(columns.as_ref());
    cx.notify();
    cx.found.columns = columns.map(|h| h.columns).unwrap_or_default();
    cx.found
}

/// The message's size where the campaign alone fixes it. Runs after [`check`] found no
/// errors, on the campaign with the templates it read; `columns` are [`Found::columns`].
pub fn sizes(loaded: &LoadedCampaign, columns: &[String]) -> Vec<Diagnostic> {
    let mut cx = Checks {
        loaded,
        campaign: &loaded.campaign,
        found: Found::default(),
        at: String::new(),
    };
    cx.sizes(columns);
    cx.found.diagnostics
}

struct Checks<'a> {
    loaded: &'a LoadedCampaign,
    campaign: &'a Campaign,
    found: Found,
    /// Where in the file `campaign`'s message and push sit: `""` for the campaign's own, a
    /// prefix such as `/variants/1` when checking a variant's or a translation's.
    at: String,
}

impl Checks<'_> {
    fn span(&self, pointer: &str) -> Option<Span> {
        let root = &self.loaded.root;
        if self.at.is_empty() {
            root.at(pointer).map(|n| n.span)
        } else {
            root.at(&format!("{}{pointer}", self.at)).map(|n| n.span)
        }
    }

    fn error(&mut self, pointer: &str, message: impl Into<String>, help: impl Into<String>) {
        let d = Diagnostic::error(&self.loaded.path, self.span(pointer), message).with_help(help);
        self.found.diagnostics.push(d);
    }

    fn warning(&mut self, pointer: &str, message: impl Into<String>, help: impl Into<String>) {
        let d = Diagnostic::warning(&self.loaded.path, self.span(pointer), message).with_help(help);
        self.found.diagnostics.push(d);
    }

    fn version_and_name(&mut self) {
        if self.campaign.version != 1 {
            self.error(
                "/version",
                format!("unsupported version {}", self.campaign.version),
                "this timcast reads version 1: write `version: 1`",
            );
        }
        let name = &self.campaign.name;
        let bad = name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if bad {
            self.error(
                "/name",
                format!("`{name}` is not a valid campaign name"),
                "use 1 to 64 letters, digits, `.`, `_` or `-` (it is the campaign's key in the journal), e.g. black-friday-2026",
            );
        }
    }
}
