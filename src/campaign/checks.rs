//! The meaning of a structurally sound campaign: files, CSV headers, templates, senders and the
//! combinations and limits the API documents. No network.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use super::LoadedCampaign;
use super::diagnostic::Diagnostic;
use super::model::*;
use super::yaml::{Span, offset_of};
use crate::audience::{self, CsvHeader};
use crate::render;

/// What the checks found, and the texts of the extra files (templates) they point into.
#[derive(Debug, Default)]
pub struct Found {
    pub diagnostics: Vec<Diagnostic>,
    pub sources: BTreeMap<PathBuf, String>,
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
    };
    cx.version_and_name();
    let columns = cx.audience();
    cx.sender_and_stream();
    cx.elements();
    cx.templates(columns.as_ref());
    cx.controls();
    cx.delivery();
    cx.schedule(columns.as_ref());
    cx.found
}

/// The template variables every campaign has, besides its CSV columns and `vars`.
pub const BUILTIN_VARIABLES: &[&str] = &["campaign", "vars", "recipient"];

struct Checks<'a> {
    loaded: &'a LoadedCampaign,
    campaign: &'a Campaign,
    found: Found,
}

/// A template, where it came from.
struct TemplateSource {
    /// JSON pointer of the YAML value (the `text_file` value for files).
    pointer: String,
    text: String,
    /// The template file, for `text_file`.
    file: Option<PathBuf>,
}

impl Checks<'_> {
    fn span(&self, pointer: &str) -> Option<Span> {
        self.loaded.root.at(pointer).map(|n| n.span)
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

    /// Checks the audience; returns the CSV's header when there is one to check templates against.
    fn audience(&mut self) -> Option<CsvHeader> {
        let audience = &self.campaign.audience;
        match (&audience.csv, &audience.official_account) {
            (None, None) => {
                self.error(
                    "/audience",
                    "the audience has no recipients",
                    "give `csv: FILE` (a list of user IDs) or `official_account: \"@TOA#...\"`",
                );
                None
            }
            (Some(_), Some(_)) => {
                self.error(
                    "/audience/official_account",
                    "the audience has both `csv` and `official_account`",
                    "keep exactly one: an official account reaches all its subscribers, a CSV names each recipient",
                );
                None
            }
            (None, Some(account)) => {
                if !account.starts_with("@TOA#") || account.len() <= "@TOA#".len() {
                    self.error(
                        "/audience/official_account",
                        format!("`{account}` is not an official account ID"),
                        "official account IDs start with `@TOA#`, e.g. \"@TOA#news\" (quote it: `#` starts a YAML comment after a space)",
                    );
                }
                if !audience.exclude.is_empty() {
                    self.error(
                        "/audience/exclude",
                        "`exclude` needs a CSV audience",
                        "an official account message reaches every subscriber: suppression lists cannot apply",
                    );
                }
                None
            }
            (Some(csv), None) => {
                let csv = csv.clone();
                let path = self.file("/audience/csv", &csv)?;
                let header = self.header("/audience/csv", &path)?;
                let column = audience.user_id_column.clone();
                if !header.has(&column) {
                    let pointer = if self.span("/audience/user_id_column").is_some() {
                        "/audience/user_id_column"
                    } else {
                        "/audience/csv"
                    };
                    self.error(
                        pointer,
                        format!("{} has no column `{column}` for the user ID", path.display()),
                        format!(
                            "its columns are: {}; set `user_id_column` to the one that holds user IDs",
                            header.columns.join(", ")
                        ),
                    );
                }
                for (index, exclude) in audience.exclude.clone().iter().enumerate() {
                    let pointer = format!("/audience/exclude/{index}");
                    if let Some(path) = self.file(&pointer, exclude)
                        && let Some(exclude_header) = self.header(&pointer, &path)
                        && !exclude_header.has(&column)
                    {
                        self.error(
                            &pointer,
                            format!(
                                "suppression list {} has no column `{column}`",
                                path.display()
                            ),
                            format!(
                                "a suppression list uses the audience's user ID column; its columns are: {}",
                                exclude_header.columns.join(", ")
                            ),
                        );
                    }
                }
                Some(header)
            }
        }
    }

    fn header(&mut self, pointer: &str, path: &Path) -> Option<CsvHeader> {
        match audience::read_header(path) {
            Ok(header) => Some(header),
            Err(err) => {
                self.error(
                    pointer,
                    err.to_string(),
                    "the first row of a CSV names its columns, e.g. `user_id,first_name`",
                );
                None
            }
        }
    }

    /// Resolves a path from the file; it must exist and stay inside the campaign's directory.
    fn file(&mut self, pointer: &str, relative: &str) -> Option<PathBuf> {
        match resolve_inside(&self.loaded.dir, relative) {
            Ok(path) => Some(path),
            Err(problem) => {
                let (message, help) = problem.describe(relative, &self.loaded.dir);
                self.error(pointer, message, help);
                None
            }
        }
    }

    fn sender_and_stream(&mut self) {
        let campaign = self.campaign;
        let official = campaign.audience.official_account.is_some();
        if let Some(sender) = &campaign.sender {
            if official {
                self.error(
                    "/sender",
                    "an official account's message has no `sender`",
                    "the official account itself sends to its subscribers: remove `sender`",
                );
            } else if sender.is_empty() {
                self.error(
                    "/sender",
                    "`sender` is empty",
                    "name the sending UserID, or remove `sender` to send as the app admin",
                );
            } else if sender.len() > MAX_USER_ID_BYTES {
                self.error(
                    "/sender",
                    format!("`{sender}` is {} bytes long", sender.len()),
                    format!("UserIDs are at most {MAX_USER_ID_BYTES} bytes"),
                );
            } else if sender.starts_with("@TOA#") {
                self.error(
                    "/sender",
                    format!("`{sender}` is an official account, which cannot send one-to-one messages"),
                    "to reach an official account's subscribers, use `audience: { official_account: \"...\" }` and no sender",
                );
            } else if sender == "@RBT#" {
                self.error(
                    "/sender",
                    "`@RBT#` names no chatbot",
                    "chatbot IDs are `@RBT#` followed by the bot's name, e.g. \"@RBT#deals_bot\"",
                );
            } else if sender.chars().any(char::is_whitespace) {
                self.error(
                    "/sender",
                    format!("`{sender}` contains white space"),
                    "UserIDs are letters, digits, `_` and `-` (chatbots start with `@RBT#`)",
                );
            }
        }
        let Some(stream) = &campaign.stream else {
            return;
        };
        let robot = campaign
            .sender
            .as_deref()
            .is_some_and(|s| s.starts_with("@RBT#") && s.len() > 5);
        if official {
            self.error(
                "/stream",
                "`stream` does not work with an official account",
                "streaming (send_stream_msg) is a chatbot sending to one user: use a CSV audience and a `@RBT#` sender",
            );
        } else if !robot {
            self.error(
                "/stream",
                "`stream` needs a chatbot sender",
                "send_stream_msg sends as a chatbot: set `sender: \"@RBT#your_bot\"` (see `timcast robots`)",
            );
        }
        if stream.chunk_chars == 0 {
            self.error(
                "/stream/chunk_chars",
                "`chunk_chars` must be at least 1",
                "40 characters a chunk reads like typing",
            );
        }
        for (index, element) in campaign.message.iter().enumerate() {
            if !matches!(
                element,
                MessageElement::Text(_) | MessageElement::TextFile(_)
            ) {
                self.error(
                    &format!("/message/{index}/{}", element.kind()),
                    format!("a streamed message can only hold text, not `{}`", element.kind()),
                    "send_stream_msg sends text chunks: keep `text` and `text_file` elements, or remove `stream`",
                );
            }
        }
        if campaign.push.is_some() {
            self.warning(
                "/push",
                "`push` is ignored for a streamed message",
                "send_stream_msg has no OfflinePushInfo; remove `push` or `stream`",
            );
        }
    }

    fn elements(&mut self) {
        let message = &self.campaign.message;
        if message.is_empty() {
            self.error(
                "/message",
                "the message is empty",
                "add at least one element, e.g. `- text: \"Hello {{first_name}}\"`",
            );
        }
        let mut customs = 0;
        for (index, element) in message.iter().enumerate() {
            let at = |field: &str| format!("/message/{index}/{}/{field}", element.kind());
            match element {
                MessageElement::Custom(_) => {
                    customs += 1;
                    if customs == 2 {
                        self.error(
                            &format!("/message/{index}"),
                            "a message can hold only one `custom` element",
                            "merge the custom data into one element",
                        );
                    }
                }
                MessageElement::Location(l) => {
                    if !(-90.0..=90.0).contains(&l.latitude) {
                        self.error(
                            &at("latitude"),
                            format!("latitude {} is outside -90..90", l.latitude),
                            "latitude is degrees north",
                        );
                    }
                    if !(-180.0..=180.0).contains(&l.longitude) {
                        self.error(
                            &at("longitude"),
                            format!("longitude {} is outside -180..180", l.longitude),
                            "longitude is degrees east",
                        );
                    }
                }
                MessageElement::Image(i) => {
                    self.url(&at("url"), &i.url);
                    if i.width == 0 || i.height == 0 {
                        self.error(
                            &format!("/message/{index}/image"),
                            "an image needs its width and height in pixels",
                            "the API requires Width and Height for each image size",
                        );
                    }
                }
                MessageElement::Sound(s) => self.url(&at("url"), &s.url),
                MessageElement::File(f) => self.url(&at("url"), &f.url),
                MessageElement::Video(v) => {
                    self.url(&at("url"), &v.url);
                    self.url(
                        &format!("/message/{index}/video/thumbnail/url"),
                        &v.thumbnail.url,
                    );
                }
                MessageElement::Text(_) | MessageElement::TextFile(_) | MessageElement::Face(_) => {
                }
            }
        }
    }

    fn url(&mut self, pointer: &str, url: &str) {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            self.error(
                pointer,
                format!("`{url}` is not a URL"),
                "media must already be hosted: give its http(s) URL",
            );
        }
    }

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

    fn templates(&mut self, header: Option<&CsvHeader>) {
        let campaign = self.campaign;
        let mut known: BTreeSet<String> = campaign.vars.keys().cloned().collect();
        known.extend(BUILTIN_VARIABLES.iter().map(|s| (*s).to_owned()));
        if let Some(header) = header {
            known.extend(header.columns.iter().cloned());
        }
        // Without a readable CSV, its columns are unknown: variable checks would only add noise.
        let audience = &campaign.audience;
        let check_variables =
            header.is_some() || (audience.csv.is_none() && audience.official_account.is_some());
        for template in self.template_sources() {
            let compiled = match render::compile(&template.text) {
                Ok(compiled) => compiled,
                Err(err) => {
                    let (line, column) = err.pos().unwrap_or((1, 1));
                    let span = self.template_span(&template, line, column, 1);
                    let mut reason = err.reason().to_string();
                    // The parser lists every rule it expected; that list helps nobody.
                    if let Some(cut) = reason.find(": expected ").filter(|_| reason.len() > 100) {
                        reason.truncate(cut);
                    }
                    self.push_template(
                        &template,
                        span,
                        format!("the template does not compile: {reason}"),
                        "check the `{{ }}` pairs and block helpers (`{{#if x}}...{{/if}}`)",
                    );
                    continue;
                }
            };
            let uses = render::uses(&compiled);
            for helper in &uses.helpers {
                let known_helper = render::CAMPAIGN_HELPERS.contains(&helper.as_str())
                    || render::BUILTIN_HELPERS.contains(&helper.as_str());
                if !known_helper {
                    let span = self.name_span(&template, helper);
                    let mut help = format!(
                        "helpers: {}, and Handlebars' if, unless, each, with, eq, ...",
                        render::CAMPAIGN_HELPERS.join(", ")
                    );
                    if let Some(close) =
                        super::structure::closest(helper, render::CAMPAIGN_HELPERS.iter().copied())
                    {
                        help = format!("did you mean `{close}`? ({help})");
                    }
                    self.push_template(&template, span, format!("unknown helper `{helper}`"), help);
                }
            }
            for partial in &uses.partials {
                let span = self.name_span(&template, partial);
                self.push_template(
                    &template,
                    span,
                    format!("partial `{partial}` is not available"),
                    "campaign templates cannot include partials: use `text_file` elements instead",
                );
            }
            if !check_variables {
                continue;
            }
            for variable in uses.variables.difference(&known) {
                let span = self.name_span(&template, variable);
                let help = match header {
                    Some(header) => format!(
                        "add a `{variable}` column to the CSV or a `{variable}` entry under `vars`; the CSV's columns are: {}",
                        header.columns.join(", ")
                    ),
                    None => format!(
                        "an official account has no per-recipient data: add `{variable}` under `vars`"
                    ),
                };
                let message = match header {
                    Some(_) => format!(
                        "the template uses `{variable}`, which is neither a CSV column nor a var"
                    ),
                    None => {
                        format!("the template uses `{variable}`, which is not defined under `vars`")
                    }
                };
                self.push_template(&template, span, message, help);
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

    fn controls(&mut self) {
        let controls = &self.campaign.controls;
        if controls.lifetime.as_secs() > MAX_LIFETIME_SECS {
            self.error(
                "/controls/lifetime",
                format!("`lifetime` {} is longer than 7 days", controls.lifetime),
                "the API keeps offline messages at most 7d (604800 s): use 7d or less (0 = online users only)",
            );
        }
        let mut seen = BTreeSet::new();
        for (index, callback) in controls.skip_callbacks.iter().enumerate() {
            if !seen.insert(*callback as u8) {
                self.warning(
                    &format!("/controls/skip_callbacks/{index}"),
                    "this callback is listed twice",
                    "list each callback once",
                );
            }
        }
        if self.campaign.audience.official_account.is_none() {
            return;
        }
        if controls.no_last_msg && controls.online_only {
            self.error(
                "/controls/no_last_msg",
                "`no_last_msg` cannot be combined with `online_only` for an official account",
                "the API refuses SendMsgControl NoLastMsg together with OnlineOnlyFlag 1: drop one of them",
            );
        }
        for (key, set) in [
            ("lifetime", self.span("/controls/lifetime").is_some()),
            ("no_unread", controls.no_unread),
            ("sync_to_sender", controls.sync_to_sender),
            ("with_mute_notifications", controls.with_mute_notifications),
        ] {
            if set {
                self.warning(
                    &format!("/controls/{key}"),
                    format!("`{key}` does not apply to official account messages"),
                    "send_official_account_msg takes no such field: remove it",
                );
            }
        }
    }

    fn delivery(&mut self) {
        let delivery = &self.campaign.delivery;
        if delivery.rate.is_nan() || delivery.rate <= 0.0 {
            self.error(
                "/delivery/rate",
                format!("`rate` must be more than 0, but it is {}", delivery.rate),
                "calls per second; the API's documented default limit is 200",
            );
        } else if delivery.rate > DOCUMENTED_RATE {
            self.warning(
                "/delivery/rate",
                format!("`rate` {} is above the documented limit of 200 calls/s", delivery.rate),
                "the server will answer with rate-limit errors unless your edition's limit was raised",
            );
        }
        if delivery.recipients_per_minute == 0 {
            self.error(
                "/delivery/recipients_per_minute",
                "`recipients_per_minute` must be at least 1",
                "the documented default is 12000",
            );
        } else if delivery.recipients_per_minute > DOCUMENTED_RECIPIENTS_PER_MINUTE {
            self.warning(
                "/delivery/recipients_per_minute",
                format!(
                    "`recipients_per_minute` {} is above the documented 12000",
                    delivery.recipients_per_minute
                ),
                "batch sends count each recipient; the server refuses more unless your limit was raised",
            );
        }
        if delivery.concurrency == 0 {
            self.error(
                "/delivery/concurrency",
                "`concurrency` must be at least 1",
                "32 is a good default",
            );
        }
        if delivery.max_attempts == 0 {
            self.error(
                "/delivery/max_attempts",
                "`max_attempts` must be at least 1",
                "5 is a good default",
            );
        }
    }

    fn schedule(&mut self, header: Option<&CsvHeader>) {
        let Some(schedule) = &self.campaign.schedule else {
            return;
        };
        if let (Some(at), Some(not_after)) = (schedule.at, schedule.not_after)
            && not_after <= at
        {
            self.error(
                "/schedule/not_after",
                "`not_after` is not later than `at`",
                "the campaign could never be sent: move `not_after` after `at`",
            );
        }
        let Some(window) = &schedule.window else {
            return;
        };
        if window.from == window.to {
            self.error(
                "/schedule/window/to",
                "the window is empty: `from` and `to` are the same time",
                "give the daily sending hours, e.g. from: \"09:00\", to: \"21:00\"",
            );
        }
        if jiff::tz::TimeZone::get(&window.timezone).is_err() {
            self.error(
                "/schedule/window/timezone",
                format!("`{}` is not a known time zone", window.timezone),
                "use an IANA name such as Asia/Shanghai, Europe/Berlin or UTC",
            );
        }
        if let Some(column) = &window.recipient_timezone_column {
            if self.campaign.audience.official_account.is_some() {
                self.error(
                    "/schedule/window/recipient_timezone_column",
                    "an official account has no per-recipient time zones",
                    "remove `recipient_timezone_column`",
                );
            } else if let Some(header) = header
                && !header.has(column)
            {
                self.error(
                    "/schedule/window/recipient_timezone_column",
                    format!("the CSV has no column `{column}`"),
                    format!("its columns are: {}", header.columns.join(", ")),
                );
            }
        }
    }
}

/// Why a path from the campaign file is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathProblem {
    Empty,
    Absolute,
    Escapes,
    Missing,
    NotAFile,
}

impl PathProblem {
    fn describe(&self, relative: &str, dir: &Path) -> (String, String) {
        let dir = if dir == Path::new(".") {
            "the campaign file's directory".to_owned()
        } else {
            dir.display().to_string()
        };
        match self {
            PathProblem::Empty => (
                "the path is empty".to_owned(),
                "give a file relative to the campaign file".to_owned(),
            ),
            PathProblem::Absolute => (
                format!("`{relative}` is an absolute path"),
                format!("paths are relative to the campaign file and stay inside {dir}"),
            ),
            PathProblem::Escapes => (
                format!("`{relative}` points outside the campaign's directory"),
                format!("a campaign may only read files inside {dir}: move the file there"),
            ),
            PathProblem::Missing => (
                format!("`{relative}` does not exist"),
                format!("paths are relative to the campaign file, in {dir}"),
            ),
            PathProblem::NotAFile => (
                format!("`{relative}` is not a file"),
                "name a file, not a directory".to_owned(),
            ),
        }
    }
}

/// Resolves `relative` against `dir`, refusing absolute paths, `..` escapes and symlinks out.
pub fn resolve_inside(dir: &Path, relative: &str) -> Result<PathBuf, PathProblem> {
    if relative.trim().is_empty() {
        return Err(PathProblem::Empty);
    }
    let candidate = Path::new(relative);
    if candidate.is_absolute()
        || candidate
            .components()
            .any(|c| matches!(c, Component::Prefix(_) | Component::RootDir))
    {
        return Err(PathProblem::Absolute);
    }
    let mut depth: i64 = 0;
    for component in candidate.components() {
        match component {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return Err(PathProblem::Escapes);
        }
    }
    let joined = if dir == Path::new(".") {
        candidate.to_owned()
    } else {
        dir.join(candidate)
    };
    let real = joined.canonicalize().map_err(|_| PathProblem::Missing)?;
    let real_dir = dir.canonicalize().map_err(|_| PathProblem::Missing)?;
    if !real.starts_with(&real_dir) {
        return Err(PathProblem::Escapes);
    }
    if !real.is_file() {
        return Err(PathProblem::NotAFile);
    }
    Ok(joined)
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
        Some('"' | '\'') if line == 1 => node.shifted(column, len),
        Some(_) if line == 1 => node.shifted(column.saturating_sub(1), len),
        _ => node,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_campaign_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.csv"), "user_id\n").unwrap();
        assert!(resolve_inside(dir.path(), "a.csv").is_ok());
        assert_eq!(
            resolve_inside(dir.path(), "/etc/passwd"),
            Err(PathProblem::Absolute)
        );
        assert_eq!(
            resolve_inside(dir.path(), "../../etc/passwd"),
            Err(PathProblem::Escapes)
        );
        assert_eq!(
            resolve_inside(dir.path(), "x/../../a.csv"),
            Err(PathProblem::Escapes)
        );
        assert_eq!(
            resolve_inside(dir.path(), "nope.csv"),
            Err(PathProblem::Missing)
        );
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc/passwd", dir.path().join("link")).unwrap();
            assert_eq!(
                resolve_inside(dir.path(), "link"),
                Err(PathProblem::Escapes)
            );
        }
    }

    #[test]
    fn names_are_found_inside_mustaches_only() {
        let text = "first_name: {{upper first_name}}";
        assert_eq!(find_name_in_mustache(text, "first_name"), Some(20));
        assert_eq!(find_name_in_mustache("{{default x \"x\"}}", "x"), Some(10));
    }
}
