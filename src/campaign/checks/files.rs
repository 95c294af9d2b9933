//! Files and CSV: the audience, the headers of its CSV and suppression lists, and the paths
//! the campaign names, which are relative to the campaign file and must exist and stay inside
//! its project root (so `../data/users.csv` works from `campaigns/`, `../../etc/passwd` not).

use std::path::{Component, Path, PathBuf};

use crate::audience::{self, CsvHeader};
use crate::campaign::Diagnostic;

use super::Checks;

impl Checks<'_> {
    /// Checks the audience; returns the CSV's header when there is one to check templates against.
    pub(super) fn audience(&mut self) -> Option<CsvHeader> {
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
                self.project_suppression(&column);
                Some(header)
            }
        }
    }

    /// timcast.toml's `suppress` lists, as `exclude` lists of this campaign: each must be a
    /// CSV inside the project root with the campaign's user ID `column`. Their problems are
    /// located at the entry in timcast.toml, the one line to fix for every campaign.
    fn project_suppression(&mut self, column: &str) {
        let suppress = &self.loaded.suppress;
        let mut found = Vec::new();
        for (entry, span) in self.loaded.project_suppression() {
            let at = |message: String, help: String| {
                Diagnostic::error(&suppress.file, Some(*span), message).with_help(help)
            };
            let path = match self.loaded.resolve_suppress(entry) {
                Ok(path) => path,
                Err(problem) => {
                    let (message, help) = problem.describe_suppress(entry, &self.loaded.project);
                    found.push(at(message, help));
                    continue;
                }
            };
            match audience::read_header(&path) {
                Err(err) => found.push(at(
                    format!("suppression list `{entry}` (timcast.toml `suppress`): {err}"),
                    "the first row of a CSV names its columns, e.g. `user_id`".to_owned(),
                )),
                Ok(header) if !header.has(column) => found.push(at(
                    format!(
                        "suppression list `{entry}` (timcast.toml `suppress`) has no column `{column}`, the user ID column of {}",
                        self.loaded.path.display()
                    ),
                    format!(
                        "a project suppression list uses each campaign's user ID column (`audience.user_id_column`); its columns are: {}; rename its user ID column to `{column}`, or set the campaign's `user_id_column` to match",
                        header.columns.join(", ")
                    ),
                )),
                Ok(_) => {}
            }
        }
        if !found.is_empty() {
            self.found
                .sources
                .insert(suppress.file.clone(), suppress.source.clone());
            self.found.diagnostics.extend(found);
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

    /// Resolves a path from the file; it must exist and stay inside the project root.
    pub(super) fn file(&mut self, pointer: &str, relative: &str) -> Option<PathBuf> {
        match self.loaded.resolve(relative) {
            Ok(path) => Some(path),
            Err(problem) => {
                let (message, help) = problem.describe(relative, &self.loaded.project);
                self.error(pointer, message, help);
                None
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
    fn describe(&self, relative: &str, project: &crate::project::Project) -> (String, String) {
        let root = format!(
            "{} ({})",
            crate::project::relative_display(&project.root),
            project.kind.label()
        );
        match self {
            PathProblem::Empty => (
                "the path is empty".to_owned(),
                "give a file relative to the campaign file".to_owned(),
            ),
            PathProblem::Absolute => (
                format!("`{relative}` is an absolute path"),
                format!(
                    "paths are relative to the campaign file and stay inside the project root {root}"
                ),
            ),
            PathProblem::Escapes => (
                format!("`{relative}` points outside the project root {root}"),
                "a campaign may only read files inside its project root (the directory of timcast.toml, else the Git work tree's root): move the file there".to_owned(),
            ),
            PathProblem::Missing => (
                format!("`{relative}` does not exist"),
                "paths are relative to the campaign file".to_owned(),
            ),
            PathProblem::NotAFile => (
                format!("`{relative}` is not a file"),
                "name a file, not a directory".to_owned(),
            ),
        }
    }

    /// The same refusals for a `suppress` entry of timcast.toml, whose paths are relative to
    /// the project root.
    fn describe_suppress(
        &self,
        relative: &str,
        project: &crate::project::Project,
    ) -> (String, String) {
        let root = crate::project::relative_display(&project.root);
        let what = format!("suppression list `{relative}` (timcast.toml `suppress`)");
        match self {
            PathProblem::Empty => (
                "a `suppress` entry is empty".to_owned(),
                "give a CSV file relative to the project root, e.g. \"data/unsubscribed.csv\", or remove the entry".to_owned(),
            ),
            PathProblem::Absolute => (
                format!("{what} is an absolute path"),
                format!("`suppress` paths are relative to the project root {root} (the directory of timcast.toml) and stay inside it, e.g. \"data/unsubscribed.csv\""),
            ),
            PathProblem::Escapes => (
                format!("{what} points outside the project root {root}"),
                "a project may only read files inside its root (the directory of timcast.toml): move the list there".to_owned(),
            ),
            PathProblem::Missing => (
                format!("{what} does not exist"),
                format!("`suppress` paths are relative to the project root {root} (the directory of timcast.toml), not to the campaign; create the file or fix the path"),
            ),
            PathProblem::NotAFile => (
                format!("{what} is not a file"),
                "name a CSV file, not a directory".to_owned(),
            ),
        }
    }
}

/// Resolves `relative` against `dir` (the campaign's directory), refusing absolute paths and
/// paths that leave `root` (the project root), by `..` or by a symlink. The path returned is
/// `dir` joined with `relative` (without `a/..` when that names the same file).
pub fn resolve_inside(dir: &Path, root: &Path, relative: &str) -> Result<PathBuf, PathProblem> {
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
    let real_root = root.canonicalize().map_err(|_| PathProblem::Missing)?;
    let real_dir = dir.canonicalize().map_err(|_| PathProblem::Missing)?;
    // Lexically first, so that a path out is refused as such even when it does not exist.
    let mut lexical = real_dir.clone();
    for component in candidate.components() {
        match component {
            // `pop` climbs as it is tested: a `..` above the filesystem root escapes.
            Component::ParentDir if !lexical.pop() => return Err(PathProblem::Escapes),
            Component::Normal(part) => lexical.push(part),
            _ => {}
        }
        if !lexical.starts_with(&real_root) {
            return Err(PathProblem::Escapes);
        }
    }
    let joined = if dir == Path::new(".") {
        candidate.to_owned()
    } else {
        dir.join(candidate)
    };
    let real = joined.canonicalize().map_err(|_| PathProblem::Missing)?;
    if !real.starts_with(&real_root) {
        return Err(PathProblem::Escapes);
    }
    if !real.is_file() {
        return Err(PathProblem::NotAFile);
    }
    // `campaigns/../data/u.csv` reads as `data/u.csv`, when both are the same file (a
    // symlinked directory before the `..` would make them differ).
    let tidy = tidy(&joined);
    if tidy.canonicalize().is_ok_and(|t| t == real) {
        return Ok(tidy);
    }
    Ok(joined)
}

/// `path` with `a/..` pairs and `.` removed, as text (leading `..` are kept).
fn tidy(path: &Path) -> PathBuf {
    let mut parts: Vec<Component> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir if matches!(parts.last(), Some(Component::Normal(_))) => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return PathBuf::from(".");
    }
    parts.iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_project_root() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("project");
        let dir = root.join("campaigns");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(root.join("data")).unwrap();
        std::fs::write(dir.join("a.csv"), "user_id\n").unwrap();
        std::fs::write(root.join("data/u.csv"), "user_id\n").unwrap();
        std::fs::write(tmp.path().join("secret.csv"), "user_id\n").unwrap();
        assert!(resolve_inside(&dir, &root, "a.csv").is_ok());
        assert_eq!(
            resolve_inside(&dir, &root, "../data/u.csv"),
            Ok(root.join("data/u.csv"))
        );
        for (path, problem) in [
            ("/etc/passwd", PathProblem::Absolute),
            ("../../etc/passwd", PathProblem::Escapes),
            ("../../secret.csv", PathProblem::Escapes),
            ("x/../../../a.csv", PathProblem::Escapes),
            ("nope.csv", PathProblem::Missing),
            ("../data", PathProblem::NotAFile),
        ] {
            assert_eq!(resolve_inside(&dir, &root, path), Err(problem), "{path}");
        }
        // With the campaign's directory as the root, `..` leaves it.
        assert_eq!(
            resolve_inside(&dir, &dir, "../data/u.csv"),
            Err(PathProblem::Escapes)
        );
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc/passwd", dir.join("link")).unwrap();
            assert_eq!(
                resolve_inside(&dir, &root, "link"),
                Err(PathProblem::Escapes)
            );
            std::os::unix::fs::symlink(tmp.path().join("secret.csv"), root.join("data/out"))
                .unwrap();
            assert_eq!(
                resolve_inside(&dir, &root, "../data/out"),
                Err(PathProblem::Escapes)
            );
        }
    }
}
