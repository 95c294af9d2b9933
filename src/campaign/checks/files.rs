//! Files and CSV: the audience, the headers of its CSV and suppression lists, and the paths
//! the campaign names, which must exist and stay inside its directory.

use std::path::{Component, Path, PathBuf};

use crate::audience::{self, CsvHeader};

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
    pub(super) fn file(&mut self, pointer: &str, relative: &str) -> Option<PathBuf> {
        match resolve_inside(&self.loaded.dir, relative) {
            Ok(path) => Some(path),
            Err(problem) => {
                let (message, help) = problem.describe(relative, &self.loaded.dir);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_campaign_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.csv"), "user_id\n").unwrap();
        assert!(resolve_inside(dir.path(), "a.csv").is_ok());
        for (path, problem) in [
            ("/etc/passwd", PathProblem::Absolute),
            ("../../etc/passwd", PathProblem::Escapes),
            ("x/../../a.csv", PathProblem::Escapes),
            ("nope.csv", PathProblem::Missing),
        ] {
            assert_eq!(resolve_inside(dir.path(), path), Err(problem), "{path}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc/passwd", dir.path().join("link")).unwrap();
            assert_eq!(
                resolve_inside(dir.path(), "link"),
                Err(PathProblem::Escapes)
            );
        }
    }
}
