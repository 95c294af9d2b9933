//! The project's shared templates: every `templates/**/*.hbs` under the project root is a
//! Handlebars partial, named by its path relative to `templates/` without the extension
//! (`templates/legal/unsubscribe.hbs` is `{{> legal/unsubscribe}}`).
//!
//! They are found and read once, while a campaign is validated; the checks keep the ones the
//! campaign uses, and rendering registers exactly those texts, so a partial edited between
//! validation and sending cannot slip unchecked text into a message.

use std::path::{Path, PathBuf};

/// The directory under the project root that holds the partials.
pub const TEMPLATES_DIR: &str = "templates";
/// The extension of a partial's file.
pub const EXTENSION: &str = "hbs";

/// One partial of the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partial {
    /// `footer`, `legal/unsubscribe`: always with `/`, whatever the platform.
    pub name: String,
    /// The file, as the user reads it (relative to the working directory when possible).
    pub path: PathBuf,
    /// The file's text, or why it could not be read (reported only if a campaign uses it).
    pub text: Result<String, String>,
}

impl Partial {
    /// The text the renderer registers: editors end files with a newline, a chat message
    /// should not get one in the middle of a line.
    pub fn body(&self) -> Option<&str> {
        let text = self.text.as_deref().ok()?;
        Some(
            text.strip_suffix('\n')
                .map_or(text, |t| t.strip_suffix('\r').unwrap_or(t)),
        )
    }
}

/// Every partial under `root/templates`, sorted by name. Symlinks that lead out of the
/// project root are skipped, as a campaign's own paths would be refused.
pub fn discover(root: &Path) -> Vec<Partial> {
    let base = root.join(TEMPLATES_DIR);
    let Ok(real_root) = root.canonicalize() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let mut pending = vec![base.clone()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(real) = path.canonicalize() else {
                continue;
            };
            if !real.starts_with(&real_root) {
                continue;
            }
            if real.is_dir() {
                // A symlinked directory back up the tree would loop: depth is bounded.
                if path.components().count() < base.components().count() + 16 {
                    pending.push(path);
                }
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some(EXTENSION) {
                continue;
            }
            let Some(name) = name_of(&base, &path) else {
                continue;
            };
            let text = std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_owned())
                });
            found.push(Partial {
                name,
                path: super::relative_path(&path),
                text,
            });
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

/// `templates/legal/unsubscribe.hbs` → `legal/unsubscribe`.
fn name_of(base: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(base).ok()?.with_extension("");
    let parts: Vec<&str> = relative
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect::<Option<_>>()?;
    (!parts.is_empty()).then(|| parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hbs_under_templates_is_a_partial_named_by_its_path() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("templates/legal")).unwrap();
        std::fs::write(root.join("templates/footer.hbs"), "-- {{shop}}\n").unwrap();
        std::fs::write(root.join("templates/legal/unsubscribe.hbs"), "Reply STOP").unwrap();
        std::fs::write(root.join("templates/notes.txt"), "not a partial").unwrap();
        std::fs::write(root.join("templates/bad.hbs"), [0xff, 0xfe]).unwrap();
        let found = discover(root);
        let names: Vec<&str> = found.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["bad", "footer", "legal/unsubscribe"]);
        assert!(found[0].text.is_err());
        assert_eq!(found[1].body(), Some("-- {{shop}}"));
        assert!(discover(&root.join("nowhere")).is_empty());
    }
}
