//! `plan --against OLD.yaml` / `--against-git REV`: what changed between two versions of a
//! campaign — settings field by field, templates as unified diffs, audience added and removed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;
use serde_json::Value as Json;

use crate::audience::{AudienceError, PrintSet, Recipients, RowOutcome};
use crate::campaign::{self, LoadedCampaign};

/// One setting that differs (`null` where it is absent).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettingChange {
    pub path: String,
    pub old: Json,
    pub new: Json,
}

/// A template that differs, as a unified diff.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemplateChange {
    pub field: String,
    pub diff: String,
}

/// Recipients gained and lost between the two audiences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AudienceChange {
    pub added: u64,
    pub removed: u64,
    pub kept: u64,
}

/// Everything that changed between two versions of a campaign.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignChanges {
    /// What the campaign was compared with (a file, or `REV:path` from the repository's root).
    pub against: String,
    /// The campaign is not in the revision compared with: everything in it is added.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub new: bool,
    pub settings: Vec<SettingChange>,
    pub templates: Vec<TemplateChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<AudienceChange>,
}

impl CampaignChanges {
    pub fn is_empty(&self) -> bool {
        self.settings.is_empty()
            && self.templates.is_empty()
            && self.audience.is_none_or(|a| a.added == 0 && a.removed == 0)
    }
}

/// Why the comparison could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AgainstError {
    #[error("the campaign to compare with ({what}) is not valid:\n{diagnostics}")]
    Invalid { what: String, diagnostics: String },
    #[error("git: {0}")]
    Git(String),
    #[error("{0}")]
    Io(String),
    #[error(transparent)]
    Audience(#[from] crate::audience::AudienceError),
}

/// Compares `new` with the campaign file at `old`.
pub fn against_file(new: &LoadedCampaign, old: &Path) -> Result<CampaignChanges, AgainstError> {
    let old_loaded = load(old, &old.display().to_string())?;
    compare(new, Some(&old_loaded), old.display().to_string())
}

/// Compares `new` with the same campaign file at git revision `rev` (its CSV and templates too).
pub fn against_git(new: &LoadedCampaign, rev: &str) -> Result<CampaignChanges, AgainstError> {
    let dir = if new.dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        new.dir.as_path()
    };
    let file_name = new
        .path
        .file_name()
        .ok_or_else(|| AgainstError::Io(format!("{} is not a file", new.path.display())))?;
    let git_in = |dir: &Path, args: &[&str]| -> Result<Vec<u8>, AgainstError> {
        let output = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .map_err(|e| AgainstError::Git(format!("cannot run git: {e}")))?;
        if !output.status.success() {
            return Err(AgainstError::Git(
                String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            ));
        }
        Ok(output.stdout)
    };
    let git = |args: &[&str]| git_in(dir, args);
    let show = |relative: &str| git(&["show", &format!("{rev}:./{relative}")]);
    let name = file_name.to_string_lossy().into_owned();
    // Labels name the file from the repository's root, wherever timcast runs.
    let prefix = String::from_utf8_lossy(&git(&["rev-parse", "--show-prefix"])?)
        .trim()
        .to_owned();
    let label = format!("{rev}:{prefix}{name}");
    git(&[
        "rev-parse",
        "--verify",
        "--quiet",
        &format!("{rev}^{{commit}}"),
    ])
    .map_err(|_| AgainstError::Git(format!("`{rev}` is not a commit of this repository")))?;
    // A campaign the pull request adds is not at the base revision: all of it is new.
    if git(&["cat-file", "-e", &format!("{rev}:./{name}")]).is_err() {
        return compare(new, None, label);
    }
    // The old campaign in a copy of its project as it was: the campaign at the same place
    // under the work tree's root, the project file, the partials and the files it names.
    let scratch = tempfile::tempdir().map_err(|e| AgainstError::Io(e.to_string()))?;
    let top = String::from_utf8_lossy(&git(&["rev-parse", "--show-toplevel"])?)
        .trim()
        .to_owned();
    let top = std::fs::canonicalize(&top).unwrap_or_else(|_| PathBuf::from(&top));
    let write = |relative: &Path, bytes: &[u8]| -> Result<(), AgainstError> {
        let target = scratch.path().join(relative);
        if let Some(parent) = target.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        std::fs::write(&target, bytes).map_err(|e| AgainstError::Io(e.to_string()))
    };
    let at_rev = |relative: &Path| git(&["show", &format!("{rev}:{}", slashed(relative))]);
    let _ = std::fs::create_dir(scratch.path().join(".git"));
    let old_text = show(&name)?;
    let old_path = scratch.path().join(&prefix).join(&name);
    write(&Path::new(&prefix).join(&name), &old_text)?;
    if let Ok(root) = new.project.root.strip_prefix(&top) {
        if new.project.kind == crate::project::RootKind::ProjectFile {
            let file = root.join(crate::project::PROJECT_FILE);
            let text = at_rev(&file).unwrap_or_default();
            write(&file, &text)?;
            // Its `suppress` lists as they were, or the old campaign would not validate.
            for relative in suppress_lists(&text) {
                if let Some(path) = inside_tree(root, &relative)
                    && let Ok(bytes) = at_rev(&path)
                {
                    write(&path, &bytes)?;
                }
            }
        }
        let templates = root.join(crate::project::partials::TEMPLATES_DIR);
        let listed = git_in(
            &top,
            &[
                "ls-tree",
                "-r",
                "--name-only",
                rev,
                "--",
                &slashed(&templates),
            ],
        )
        .unwrap_or_default();
        for path in String::from_utf8_lossy(&listed).lines() {
            let path = Path::new(path);
            if let Ok(bytes) = at_rev(path) {
                write(path, &bytes)?;
            }
        }
    }
    if let Ok(old_model) = serde_saphyr_model(&old_text) {
        for relative in referenced_files(&old_model) {
            let Some(path) = inside_tree(Path::new(&prefix), &relative) else {
                continue;
            };
            if let Ok(bytes) = at_rev(&path) {
                write(&path, &bytes)?;
            }
        }
    }
    let old_loaded = load(&old_path, &label)?;
    compare(new, Some(&old_loaded), label)
}

/// The `suppress` entries of a project file's text, read leniently (the strict check comes
/// when the old campaign is validated).
fn suppress_lists(text: &[u8]) -> Vec<String> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|text| toml::from_str::<toml::Table>(text).ok())
        .and_then(|table| table.get("suppress").and_then(|v| v.as_array()).cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// `relative` from the directory `dir` (both relative to the work tree's root), when it stays
/// inside the tree: `campaigns/` + `../data/u.csv` is `data/u.csv`.
fn inside_tree(dir: &Path, relative: &str) -> Option<PathBuf> {
    let mut path = PathBuf::new();
    for component in dir.join(relative).components() {
        match component {
            std::path::Component::Normal(part) => path.push(part),
            std::path::Component::ParentDir => {
                if !path.pop() {
                    return None;
                }
            }
            std::path::Component::CurDir => {}
            _ => return None,
        }
    }
    Some(path)
}

/// A path as git names it in a tree, with `/`.
fn slashed(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// The paths a campaign file names, read leniently (the strict check comes after).
fn serde_saphyr_model(text: &[u8]) -> Result<Json, ()> {
    let text = std::str::from_utf8(text).map_err(drop)?;
    campaign::yaml::parse(text)
        .map(|n| n.to_json())
        .map_err(drop)
}

fn referenced_files(model: &Json) -> Vec<String> {
    let mut files = Vec::new();
    let audience = &model["audience"];
    if let Some(csv) = audience["csv"].as_str() {
        files.push(csv.to_owned());
    }
    if let Some(lists) = audience["exclude"].as_array() {
        files.extend(lists.iter().filter_map(Json::as_str).map(str::to_owned));
    }
    if let Some(elements) = model["message"].as_array() {
        files.extend(
            elements
                .iter()
                .filter_map(|e| e["text_file"].as_str())
                .map(str::to_owned),
        );
    }
    files
}

fn load(path: &Path, what: &str) -> Result<LoadedCampaign, AgainstError> {
    campaign::validate(path)
        .into_result()
        .map_err(|validation| AgainstError::Invalid {
            what: what.to_owned(),
            diagnostics: validation.render(),
        })
}

/// What changed from `old` to `new`; with no `old`, everything in `new` is added.
fn compare(
    new: &LoadedCampaign,
    old: Option<&LoadedCampaign>,
    against: String,
) -> Result<CampaignChanges, AgainstError> {
    let mut old_settings = BTreeMap::new();
    let mut new_settings = BTreeMap::new();
    if let Some(old) = old {
        flatten(
            "",
            &serde_json::to_value(&old.campaign).unwrap_or(Json::Null),
            &mut old_settings,
        );
    }
    flatten(
        "",
        &serde_json::to_value(&new.campaign).unwrap_or(Json::Null),
        &mut new_settings,
    );
    let mut settings = Vec::new();
    let mut templates = Vec::new();
    let keys: std::collections::BTreeSet<&String> =
        old_settings.keys().chain(new_settings.keys()).collect();
    for key in keys {
        let (o, n) = (
            old_settings.get(key).cloned().unwrap_or(Json::Null),
            new_settings.get(key).cloned().unwrap_or(Json::Null),
        );
        if o == n {
            continue;
        }
        let is_template = |v: &Json| {
            v.as_str()
                .is_some_and(|s| s.contains("{{") || s.contains('\n'))
        };
        if is_template(&o) || is_template(&n) {
            templates.push(TemplateChange {
                field: key.clone(),
                diff: unified(
                    o.as_str().unwrap_or_default(),
                    n.as_str().unwrap_or_default(),
                ),
            });
        } else {
            settings.push(SettingChange {
                path: key.clone(),
                old: o,
                new: n,
            });
        }
    }
    // Template files: compare their contents, not only their names.
    let new_files = text_files(new);
    let old_files = match old {
        Some(old) => text_files(old),
        None => vec![(PathBuf::new(), String::new()); new_files.len()],
    };
    for (index, ((_, old_text), (_, new_text))) in old_files.into_iter().zip(new_files).enumerate()
    {
        if old_text != new_text {
            templates.push(TemplateChange {
                field: format!("message text_file #{}", index + 1),
                diff: unified(&old_text, &new_text),
            });
        }
    }
    // Project partials the templates include, by name: a shared footer edited is a change.
    let partial_text = |loaded: Option<&LoadedCampaign>, name: &str| {
        loaded
            .and_then(|l| l.partials.iter().find(|p| p.name == name))
            .and_then(|p| p.body().map(str::to_owned))
            .unwrap_or_default()
    };
    let names: std::collections::BTreeSet<&str> = old
        .into_iter()
        .chain(Some(new))
        .flat_map(|l| l.partials.iter().map(|p| p.name.as_str()))
        .collect();
    for name in names {
        let (old_text, new_text) = (partial_text(old, name), partial_text(Some(new), name));
        if old_text != new_text {
            templates.push(TemplateChange {
                field: format!("partial {name}"),
                diff: unified(&old_text, &new_text),
            });
        }
    }
    let old_csv = old.and_then(|o| o.campaign.audience.csv.as_ref());
    let audience = match (old, old_csv, &new.campaign.audience.csv) {
        (None, _, Some(_)) => Some(AudienceChange {
            added: recipients(new)?.len() as u64,
            removed: 0,
            kept: 0,
        }),
        (Some(old), Some(_), Some(_)) => {
            let old_ids = recipients(old)?;
            let new_ids = recipients(new)?;
            let kept = new_ids.iter().filter(|p| old_ids.contains(p)).count() as u64;
            Some(AudienceChange {
                added: new_ids.len() as u64 - kept,
                removed: old_ids.len() as u64 - kept,
                kept,
            })
        }
        _ => None,
    };
    Ok(CampaignChanges {
        against,
        new: old.is_none(),
        settings,
        templates,
        audience,
    })
}

/// Each `text_file` template's path and text, in message order (read once, while validating).
fn text_files(loaded: &LoadedCampaign) -> Vec<(PathBuf, String)> {
    loaded
        .templates
        .iter()
        .filter_map(|t| Some((t.file.clone()?, t.text.clone())))
        .collect()
}

fn recipients(loaded: &LoadedCampaign) -> Result<PrintSet, AgainstError> {
    let mut set = PrintSet::default();
    let reader = match Recipients::of_campaign(loaded, true) {
        // A file the other version names that is not there: it had nobody we can compare.
        Err(AudienceError::Path(_)) => return Ok(set),
        reader => reader?,
    };
    for outcome in reader {
        if let RowOutcome::Recipient(row) = outcome? {
            set.insert(row.print);
        }
    }
    Ok(set)
}

/// `a.b[0].c`-style paths of every leaf.
fn flatten(prefix: &str, value: &Json, out: &mut BTreeMap<String, Json>) {
    match value {
        Json::Object(map) => {
            for (key, child) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, child, out);
            }
        }
        Json::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{index}]"), child, out);
            }
        }
        leaf => {
            out.insert(prefix.to_owned(), leaf.clone());
        }
    }
}

fn unified(old: &str, new: &str) -> String {
    // Compare whole lines: a missing final newline is not a change worth showing. A template
    // that is not there has no lines, not one empty line.
    let lines = |text: &str| {
        let text = text.trim_end_matches('\n');
        if text.is_empty() {
            String::new()
        } else {
            format!("{text}\n")
        }
    };
    let (old, new) = (lines(old), lines(new));
    similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(2)
        .header("before", "after")
        .to_string()
}
