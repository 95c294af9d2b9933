//! The campaign file format (version 1): loading, validation and JSON Schema.
//!
//! Loading goes in stages, each collecting every problem it finds before the next runs:
//! YAML syntax ([`yaml`]), structure against the schema ([`structure`]), then the meaning of
//! the values: files, CSV headers, templates, API limits ([`checks`]).

pub mod checks;
pub mod diagnostic;
pub mod model;
pub mod structure;
pub mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use diagnostic::{Diagnostic, Severity};
pub use model::*;

/// A campaign file that loaded, with everything needed to locate later problems in it.
#[derive(Debug, Clone)]
pub struct LoadedCampaign {
    pub campaign: Campaign,
    /// The campaign file as given.
    pub path: PathBuf,
    /// The directory that relative paths in the file are resolved against.
    pub dir: PathBuf,
    /// The project it belongs to: the paths it names must stay inside the root, and
    /// `templates/**/*.hbs` there are its partials.
    pub project: crate::project::Project,
    /// The file's text, for diagnostics.
    pub source: String,
    /// The YAML tree, for the spans of values.
    pub root: yaml::Node,
    /// Every template of the campaign, found once while validating: inline text and
    /// `text_file`s (read once); rendering and comparisons use these.
    pub templates: Vec<TemplateText>,
    /// The project partials (`templates/**/*.hbs`), read once while validating: every one
    /// while checking, then only those the templates include, which rendering registers.
    pub partials: Vec<crate::project::partials::Partial>,
    /// The webhooks its runs post to: `timcast.toml`'s `[[notify]]` with the campaign's
    /// `notify:` merged in ([`model::merge_notify`]).
    pub notify: Vec<Notify>,
    /// `timcast.toml`'s `suppress` lists: a CSV audience never reaches anyone on them.
    pub suppress: crate::project::file::ProjectSuppress,
}

impl LoadedCampaign {
    /// A path the campaign names, resolved against its directory; refused when absolute,
    /// missing or outside the project root ([`checks::resolve_inside`]).
    pub fn resolve(&self, relative: &str) -> Result<PathBuf, checks::PathProblem> {
        checks::resolve_inside(&self.dir, &self.project.root, relative)
    }

    /// A `suppress` entry of timcast.toml, resolved against the project root (not the
    /// campaign's directory) and refused like a campaign's paths when it leaves the root.
    pub fn resolve_suppress(&self, relative: &str) -> Result<PathBuf, checks::PathProblem> {
        checks::resolve_inside(&self.project.root, &self.project.root, relative)
    }

    /// The project's suppression lists that apply to this campaign: none for an official
    /// account, whose one call reaches every subscriber, so that no list can take anyone off.
    pub fn project_suppression(&self) -> &[(String, yaml::Span)] {
        if self.campaign.audience.official_account.is_some() {
            return &[];
        }
        &self.suppress.lists
    }
}

/// A template and where it sits in the campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateText {
    /// JSON pointer of the YAML value, e.g. `/message/0/text` (the `text_file` value for files).
    pub pointer: String,
    pub text: String,
    /// The template file, for `text_file`.
    pub file: Option<PathBuf>,
}

/// A template's name for people and for the Handlebars registry: `/message/0/custom/data`
/// is `message[0].custom.data`.
pub fn template_name(pointer: &str) -> String {
    let mut name = String::new();
    for part in pointer.trim_start_matches('/').split('/') {
        if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
            name.push_str(&format!("[{part}]"));
        } else {
            if !name.is_empty() {
                name.push('.');
            }
            name.push_str(part);
        }
    }
    name
}

/// The outcome of loading and validating one campaign file.
#[derive(Debug)]
pub struct Validation {
    /// Present when the file's structure was sound enough to build the typed model.
    pub loaded: Option<LoadedCampaign>,
    pub diagnostics: Vec<Diagnostic>,
    /// Texts of the files the diagnostics point into (the campaign, its template files).
    pub sources: BTreeMap<PathBuf, String>,
}

impl Validation {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }

    /// Every diagnostic rendered with its snippet, in file and line order.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for diagnostic in &self.diagnostics {
            let source = self.sources.get(&diagnostic.file).map(String::as_str);
            out.push_str(&diagnostic.render(source));
            out.push('\n');
        }
        out
    }

    /// One line: `FILE: valid` or `FILE: 2 errors, 1 warning`.
    pub fn summary(&self, path: &Path) -> String {
        let (errors, warnings) = (self.count(Severity::Error), self.count(Severity::Warning));
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        match (errors, warnings) {
            (0, 0) => format!("{}: valid", path.display()),
            (0, w) => format!("{}: valid ({})", path.display(), plural(w, "warning")),
            (e, 0) => format!("{}: {}", path.display(), plural(e, "error")),
            (e, w) => format!(
                "{}: {}, {}",
                path.display(),
                plural(e, "error"),
                plural(w, "warning")
            ),
        }
    }

    /// The campaign when the file has no errors.
    pub fn into_result(self) -> Result<LoadedCampaign, Box<Validation>> {
        if self.has_errors() {
            return Err(Box::new(self));
        }
        match self.loaded {
            Some(loaded) => Ok(loaded),
            None => Err(Box::new(Validation {
                loaded: None,
                diagnostics: self.diagnostics,
                sources: self.sources,
            })),
        }
    }
}

/// Connection settings from the campaign's `app:` section: the lowest priority, under
/// environment variables and flags.
pub fn connection_defaults(campaign: &Campaign) -> crate::im::ConnectionDefaults {
    let app = campaign.app.as_ref();
    crate::im::ConnectionDefaults {
        sdkappid: app.and_then(|a| a.sdkappid),
        admin: app.and_then(|a| a.admin.clone()),
        region: app.and_then(|a| a.region),
        endpoint: None,
    }
}

/// The campaign file's JSON Schema, derived from [`model::Campaign`].
pub fn schema() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::to_value(schemars::schema_for!(Campaign)).unwrap_or(serde_json::Value::Null)
    })
}

/// The JSON Schema as the pretty-printed text `timcast schema` prints.
pub fn schema_json() -> String {
    serde_json::to_string_pretty(schema()).unwrap_or_default()
}

/// Loads a campaign file and runs every check that needs no network.
pub fn validate(path: &Path) -> Validation {
    let mut validation = Validation {
        loaded: None,
        diagnostics: Vec::new(),
        sources: BTreeMap::new(),
    };
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) => {
            validation.diagnostics.push(
                Diagnostic::error(path, None, format!("cannot read the campaign file: {err}"))
                    .with_help(
                        "check the path; campaign files are YAML, e.g. campaigns/welcome.yaml",
                    ),
            );
            return validation;
        }
    };
    let source = match String::from_utf8(bytes) {
        Ok(source) => source,
        Err(err) => {
            let offset = err.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(err.as_bytes()).into_owned();
            let line = text[..offset.min(text.len())].matches('\n').count() + 1;
            let column = text[..offset.min(text.len())]
                .rsplit('\n')
                .next()
                .map_or(1, |l| l.chars().count() + 1);
            validation.diagnostics.push(
                Diagnostic::error(
                    path,
                    Some(yaml::Span {
                        offset,
                        len: 1,
                        line,
                        column,
                    }),
                    "the file is not valid UTF-8",
                )
                .with_help("save the campaign file as UTF-8"),
            );
            validation.sources.insert(path.to_owned(), text);
            return validation;
        }
    };
    validation.sources.insert(path.to_owned(), source.clone());
    let root = match yaml::parse(&source) {
        Ok(root) => root,
        Err(err) => {
            validation.diagnostics.push(
                Diagnostic::error(path, err.span, format!("invalid YAML: {}", err.message))
                    .with_help(if err.message.starts_with("duplicate") {
                        "a key may appear only once in a mapping: remove or rename one of them"
                    } else if err.message.contains("empty") {
                        "start from an example: campaigns/welcome.yaml"
                    } else {
                        "fix the YAML syntax (indent with spaces; quote text that contains `: ` or starts with `{`, `[`, `@` or `#`)"
                    }),
            );
            return validation;
        }
    };
    let (project_file, suppress) = project_file(path, &mut validation).unzip();
    let suppress = suppress.unwrap_or_default();
    let project_notify = project_file
        .as_ref()
        .map(crate::project::file::ProjectFile::notify)
        .unwrap_or_default();
    let project = crate::project::Project::of_campaign(path);
    let partials = crate::project::partials::discover(&project.root);
    validation
        .diagnostics
        .extend(structure::check(&root, schema(), path));
    if validation.has_errors() {
        // A type error must not hide the file's other mistakes: check what is left without
        // the wrong parts, when that still reads as a campaign; it is never loaded.
        let offsets: Vec<usize> = validation
            .diagnostics
            .iter()
            .filter_map(|d| d.span.map(|s| s.offset))
            .filter(|&o| o != root.span.offset)
            .collect();
        let rest = root.without(&offsets);
        if let Ok(campaign) = serde_json::from_value::<Campaign>(rest.to_json()) {
            let partial = LoadedCampaign {
                campaign,
                path: path.to_owned(),
                dir: campaign_dir(path),
                project: project.clone(),
                source: source.clone(),
                root: rest,
                templates: Vec::new(),
                partials: partials.clone(),
                notify: Vec::new(),
                suppress: suppress.clone(),
            };
            let found = checks::check(&partial);
            let known: Vec<Option<usize>> = validation
                .diagnostics
                .iter()
                .map(|d| d.span.map(|s| s.offset))
                .collect();
            // Not what follows from the parts left out (a list emptied by a wrong element).
            validation
                .diagnostics
                .extend(found.diagnostics.into_iter().filter(|d| {
                    let at = d.span.map(|s| s.offset);
                    !known.contains(&at) && !at.is_some_and(|at| root.encloses(at, &offsets))
                }));
            validation.sources.extend(found.sources);
        }
        sort_diagnostics(&mut validation.diagnostics, path);
        return validation;
    }
    let mut campaign: Campaign = match serde_json::from_value(root.to_json()) {
        Ok(campaign) => campaign,
        Err(err) => {
            validation.diagnostics.push(Diagnostic::error(
                path,
                None,
                format!("the campaign could not be read: {err}"),
            ));
            return validation;
        }
    };
    let notify = model::merge_notify(&project_notify, &campaign.notify);
    // The project's defaults under the campaign's own values, so that every command (and
    // every check) sees the settings the campaign runs with.
    if let Some(file) = &project_file {
        campaign.app = file.app_for(campaign.app.as_ref());
        if let Some(delivery) = &file.delivery {
            delivery.get_ref().apply(&mut campaign.delivery, |key| {
                root.at(&format!("/delivery/{key}")).is_some()
            });
        }
    }
    let mut loaded = LoadedCampaign {
        campaign,
        path: path.to_owned(),
        dir: campaign_dir(path),
        project,
        source,
        root,
        templates: Vec::new(),
        partials,
        notify,
        suppress,
    };
    let found = checks::check(&loaded);
    validation.diagnostics.extend(found.diagnostics);
    validation.sources.extend(found.sources);
    loaded.templates = found.templates;
    loaded.partials.retain(|p| found.partials.contains(&p.name));
    if !validation.has_errors() {
        let sizes = checks::sizes(&loaded, &found.columns);
        validation.diagnostics.extend(sizes);
    }
    sort_diagnostics(&mut validation.diagnostics, &loaded.path);
    validation.loaded = Some(loaded);
    validation
}

/// The campaign's project file, when it has one without errors, with its `suppress` lists;
/// its problems are added to `validation` (a campaign is only as valid as the project
/// settings it runs with).
fn project_file(
    path: &Path,
    validation: &mut Validation,
) -> Option<(
    crate::project::file::ProjectFile,
    crate::project::file::ProjectSuppress,
)> {
    let file = crate::project::Project::of_campaign(path).file()?;
    let loaded = crate::project::file::load(&file);
    let shown = PathBuf::from(crate::project::display_path(&file));
    let errors = loaded.has_errors();
    let suppress = loaded
        .file
        .as_ref()
        .map(|f| crate::project::file::ProjectSuppress::of(f, &shown, &loaded.source));
    if !loaded.diagnostics.is_empty() {
        validation
            .diagnostics
            .extend(loaded.diagnostics.into_iter().map(|mut d| {
                d.file.clone_from(&shown);
                d
            }));
        // Left out when withheld (a line holding the secret key): no snippet shows it.
        if !loaded.source.is_empty() {
            validation.sources.insert(shown, loaded.source);
        }
    }
    if errors {
        return None;
    }
    loaded.file.zip(suppress)
}

fn campaign_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// The campaign file's diagnostics first, in file order, then those of its templates.
fn sort_diagnostics(diagnostics: &mut [Diagnostic], path: &Path) {
    diagnostics.sort_by_key(|d| (d.file != path, d.span.map(|s| (s.line, s.column))));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_has_one_name_for_people_and_the_registry() {
        assert_eq!(template_name("/message/0/text"), "message[0].text");
        assert_eq!(
            template_name("/message/2/custom/data"),
            "message[2].custom.data"
        );
        assert_eq!(template_name("/push/apns/title"), "push.apns.title");
        assert_eq!(template_name("/cloud_custom_data"), "cloud_custom_data");
    }

    #[test]
    fn a_template_file_is_read_once_while_validating() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("u.csv"), "user_id,name\nu1,Ada\n").ok();
        std::fs::write(dir.path().join("hi.hbs"), "Hi {{name}}\n").ok();
        let yaml = "version: 1\nname: t\naudience: { csv: u.csv }\nmessage:\n  - text: Hello\n  - text_file: hi.hbs\n";
        std::fs::write(dir.path().join("c.yaml"), yaml).ok();
        let loaded = validate(&dir.path().join("c.yaml"))
            .into_result()
            .unwrap_or_else(|v| panic!("{}", v.render()));
        let pointers: Vec<&str> = loaded
            .templates
            .iter()
            .map(|t| t.pointer.as_str())
            .collect();
        assert_eq!(pointers, ["/message/0/text", "/message/1/text_file"]);
        assert_eq!(loaded.templates[1].text, "Hi {{name}}\n");
        // Rendering uses what was read, not the file as it is now.
        std::fs::write(dir.path().join("hi.hbs"), "changed {{name}}").ok();
        let renderer =
            crate::render::CampaignRenderer::new(&loaded, &["user_id".into(), "name".into()])
                .unwrap_or_else(|e| panic!("{e}"));
        let message = renderer
            .render(&["u1", "Ada"])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            message.body[1],
            crate::im::types::MsgElement::text("Hi Ada".to_owned())
        );
    }
}
