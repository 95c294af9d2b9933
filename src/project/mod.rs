//! The project a campaign belongs to, and so where its journal lives by default.
//!
//! The root is the nearest directory holding `timcast.toml`, else the Git work tree's root,
//! else the campaign's own directory. It never depends on the working directory: a journal
//! found from one directory and missed from another would show a sent campaign as unsent.
//!
//! What `timcast.toml` says (settings for every campaign of the project) is read by [`file`].

pub mod file;
pub mod partials;

use std::path::{Path, PathBuf};

/// The project file that marks a project's root.
pub const PROJECT_FILE: &str = "timcast.toml";

/// Why a directory is the project's root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootKind {
    /// It holds `timcast.toml`.
    ProjectFile,
    /// It is the root of the Git work tree the campaign is in.
    GitWorkTree,
    /// Neither was found: the campaign's own directory.
    CampaignDirectory,
}

impl RootKind {
    /// How `plan` names the reason.
    pub fn label(self) -> &'static str {
        match self {
            RootKind::ProjectFile => "the directory of timcast.toml",
            RootKind::GitWorkTree => "the Git work tree's root",
            RootKind::CampaignDirectory => "the campaign's directory",
        }
    }
}

/// A project's root directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub root: PathBuf,
    pub kind: RootKind,
}

impl Project {
    /// The project of the campaign file at `campaign`.
    pub fn of_campaign(campaign: &Path) -> Project {
        let dir = match campaign.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        Project::of_dir(dir)
    }

    /// The project file, when the root is the directory of one.
    pub fn file(&self) -> Option<PathBuf> {
        (self.kind == RootKind::ProjectFile).then(|| self.root.join(PROJECT_FILE))
    }

    /// The journal `timcast.toml` names with `state`, resolved against the root. A project
    /// file that does not parse names none here; every campaign command refuses it when it
    /// validates the campaign, with the file's own located error.
    pub fn state(&self) -> Option<PathBuf> {
        let file = file::load(&self.file()?);
        file.file.as_ref()?.state_at(&self.root)
    }

    /// The project of a directory (of campaigns, for `run DIR`).
    pub fn of_dir(dir: &Path) -> Project {
        // Absolute, so that the root (and the journal path) is the same from any directory.
        let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| absolute(dir));
        if let Some(root) = dir.ancestors().find(|d| d.join(PROJECT_FILE).is_file()) {
            return Project {
                root: root.to_owned(),
                kind: RootKind::ProjectFile,
            };
        }
        // `.git` is a directory in a clone and a file in a linked work tree or submodule.
        if let Some(root) = dir.ancestors().find(|d| d.join(".git").exists()) {
            return Project {
                root: root.to_owned(),
                kind: RootKind::GitWorkTree,
            };
        }
        Project {
            root: dir,
            kind: RootKind::CampaignDirectory,
        }
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// `path` as the user should read it: relative to the working directory when inside it.
pub fn display_path(path: &Path) -> String {
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| {
            let cwd = std::fs::canonicalize(&cwd).unwrap_or(cwd);
            path.strip_prefix(&cwd).ok().map(Path::to_owned)
        })
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| path.to_owned());
    shown.display().to_string()
}

/// A directory as the user should read it in a message: see [`relative_path`].
pub fn relative_display(dir: &Path) -> String {
    relative_path(dir).display().to_string()
}

/// A path relative to the working directory (`.`, `../..`, `templates/footer.hbs`,
/// `../templates/footer.hbs`) when one is an ancestor of the other's directory, else absolute.
pub fn relative_path(path: &Path) -> PathBuf {
    let Ok(cwd) = std::env::current_dir() else {
        return path.to_owned();
    };
    let cwd = std::fs::canonicalize(&cwd).unwrap_or(cwd);
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| absolute(path));
    if let Ok(inside) = path.strip_prefix(&cwd) {
        return if inside.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            inside.to_owned()
        };
    }
    // Up from the working directory to the nearest ancestor holding the path.
    for (up, ancestor) in cwd.ancestors().enumerate().skip(1) {
        if let Ok(rest) = path.strip_prefix(ancestor) {
            if up > 3 {
                break;
            }
            let mut shown: PathBuf = std::iter::repeat_n("..", up).collect();
            if !rest.as_os_str().is_empty() {
                shown.push(rest);
            }
            return shown;
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_the_nearest_project_file_then_git_then_the_campaign_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(tmp.path()).unwrap();
        let nested = base.join("repo/campaigns/spring");
        std::fs::create_dir_all(&nested).unwrap();
        let campaign = nested.join("sale.yaml");

        let alone = Project::of_campaign(&campaign);
        assert_eq!(alone.root, nested);
        assert_eq!(alone.kind, RootKind::CampaignDirectory);

        std::fs::create_dir(base.join("repo/.git")).unwrap();
        let git = Project::of_campaign(&campaign);
        assert_eq!(git.root, base.join("repo"));
        assert_eq!(git.kind, RootKind::GitWorkTree);

        std::fs::write(base.join("repo/campaigns").join(PROJECT_FILE), "").unwrap();
        let project = Project::of_campaign(&campaign);
        assert_eq!(project.root, base.join("repo/campaigns"));
        assert_eq!(project.kind, RootKind::ProjectFile);
    }
}
