//! [`State`]: which journal store a command uses (`--state`, `TIMCAST_STATE`, `timcast.toml`
//! or the default), and opening it.

use std::path::{Path, PathBuf};

use super::{
    DEFAULT_PATH, EMPTY_FINGERPRINT, JournalError, JournalStore, PgJournal, PgTarget, SqliteJournal,
};
use crate::project::Project;

/// Which journal store a command uses: `--state`, `TIMCAST_STATE`, or the default. A
/// `postgres://` (or `postgresql://`) URL names a PostgreSQL journal, anything else a SQLite
/// file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    store: Store,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Store {
    Sqlite(PathBuf),
    Postgres(PgTarget),
}

impl State {
    /// A SQLite journal at `path`.
    pub fn sqlite(path: impl Into<PathBuf>) -> State {
        State {
            store: Store::Sqlite(path.into()),
        }
    }

    /// `--state` as given: a PostgreSQL URL or a SQLite path.
    pub fn from_arg(arg: &Path) -> State {
        match arg.to_str().filter(|text| PgTarget::is_url(text)) {
            Some(url) => State {
                store: Store::Postgres(PgTarget::new(url)),
            },
            None => State::sqlite(arg),
        }
    }

    /// `--state` (or `TIMCAST_STATE`) as given, else `state` of the project's `timcast.toml`
    /// (a path relative to the project root, or a URL), else [`DEFAULT_PATH`] at the root.
    pub fn for_project(arg: Option<&Path>, project: &Project) -> State {
        match arg {
            Some(arg) => State::from_arg(arg),
            None => match project.state() {
                Some(configured) => State::from_arg(&configured),
                None => State::sqlite(project.root.join(DEFAULT_PATH)),
            },
        }
    }

    /// `--state` as given, else the default journal of the campaign file's project.
    pub fn for_campaign(arg: Option<&Path>, campaign: &Path) -> State {
        match arg {
            Some(arg) => State::from_arg(arg),
            None => State::for_project(None, &Project::of_campaign(campaign)),
        }
    }

    /// Whether the journal is in PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.store, Store::Postgres(_))
    }

    /// The journal of this name under `./.timcast/`, where timcast kept it before the default
    /// moved to the project root; `None` when it is this one or there is none.
    pub fn former_default(&self) -> Option<State> {
        let Store::Sqlite(path) = &self.store else {
            return None;
        };
        let name = path.file_name()?;
        let former = std::env::current_dir().ok()?.join(".timcast").join(name);
        let same = match (std::fs::canonicalize(&former), std::fs::canonicalize(path)) {
            (Ok(a), Ok(b)) => a == b,
            _ => former == *path,
        };
        (!same && former.is_file()).then(|| State::sqlite(former))
    }

    /// The journal `apply --sandbox` keeps, so demo sends never mix with real ones:
    /// `sandbox.db` beside a SQLite file, a `_sandbox` schema beside a PostgreSQL one.
    pub fn sandbox(&self) -> State {
        State {
            store: match &self.store {
                Store::Sqlite(path) => Store::Sqlite(path.with_file_name("sandbox.db")),
                Store::Postgres(target) => {
                    Store::Postgres(target.with_schema(&format!("{}_sandbox", target.schema())))
                }
            },
        }
    }

    /// The SQLite file, when the journal is one.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.store {
            Store::Sqlite(path) => Some(path),
            Store::Postgres(_) => None,
        }
    }

    /// Where the journal is, for messages, relative to the working directory when it is a
    /// file under it; a URL without its password.
    pub fn shown(&self) -> String {
        match &self.store {
            Store::Sqlite(path) => crate::project::display_path(path),
            Store::Postgres(target) => target.redacted(),
        }
    }

    /// Opens the store for writing, creating and migrating it if needed.
    pub fn open(&self) -> Result<Box<dyn JournalStore>, JournalError> {
        Ok(match &self.store {
            Store::Sqlite(path) => Box::new(SqliteJournal::open(path)?),
            Store::Postgres(target) => Box::new(PgJournal::open(target)?),
        })
    }

    /// Opens the store for reading; `None` when nothing was ever written to it.
    pub fn open_existing(&self) -> Result<Option<Box<dyn JournalStore>>, JournalError> {
        Ok(match &self.store {
            Store::Sqlite(path) => {
                SqliteJournal::open_existing(path)?.map(|j| Box::new(j) as Box<dyn JournalStore>)
            }
            Store::Postgres(target) => {
                PgJournal::open_existing(target)?.map(|j| Box::new(j) as Box<dyn JournalStore>)
            }
        })
    }

    /// The fingerprint of `campaign` in this store; an absent store is
    /// [`EMPTY_FINGERPRINT`] too.
    pub fn fingerprint(&self, campaign: &str) -> Result<String, JournalError> {
        match self.open_existing()? {
            None => Ok(EMPTY_FINGERPRINT.to_owned()),
            Some(journal) => journal.fingerprint(campaign),
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.store {
            Store::Sqlite(path) => write!(f, "{}", path.display()),
            Store::Postgres(target) => write!(f, "{target}"),
        }
    }
}

// Saved plans keep the state as text: a path, or a URL without its password (PGPASSWORD or
// the command's own --state gives it back).
impl serde::Serialize for State {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for State {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<State, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(State::from_arg(Path::new(&text)))
    }
}
