//! The one error type at the edge: every command returns `Result<Exit, Error>`, and
//! [`Error::code`] says which exit code a failure is (DESIGN.md, "Command line").
//!
//! Library modules keep their own `thiserror` enums; they become an [`Error`] here, keeping
//! their cause chain, which [`Error::print`] writes once.

use std::io::Write;
use std::path::PathBuf;

use crate::apply::ApplyError;
use crate::im::ClientError;
use crate::im::settings::SettingsError;
use crate::journal::JournalError;
use crate::plan::PlanError;
use crate::plan::against::AgainstError;
use crate::plan::saved::SavedPlanError;
use crate::sandbox::SandboxError;

/// How a command that did its job ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Success (0).
    Ok,
    /// `--detailed-exitcode`: the plan has sends to make (2).
    Pending,
    /// The run finished with failed or uncertain sends (3).
    FailedSends,
    /// A signal interrupted the run; the same command resumes it (4).
    Interrupted,
}

impl Exit {
    pub(crate) fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Pending => 2,
            Exit::FailedSends => 3,
            Exit::Interrupted => 4,
        }
    }
}

/// Exit code 1: the user can fix it (a file, a flag, the data).
pub(crate) const USER_ERROR: u8 = 1;
/// Exit code 5: the environment failed (journal, database, network): try again later.
pub(crate) const ENVIRONMENT: u8 = 5;

/// Why a command could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The campaign file failed validation; the diagnostics were already printed.
    #[error("{report}")]
    Invalid { report: String },
    /// A flag, an argument or the data the user gave is wrong.
    #[error("{message}")]
    User {
        message: String,
        help: Option<String>,
    },
    /// Connection settings (SDKAppID, key, region, endpoint) are missing or wrong.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The journal could not be read, written or locked.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The plan could not be made (the audience, templates or journal).
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A run could not start or keep its journal.
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// A saved plan cannot be applied (stale, used, unreadable).
    #[error(transparent)]
    SavedPlan(#[from] SavedPlanError),
    /// `plan --against` / `--against-git` could not compare.
    #[error(transparent)]
    Against(#[from] AgainstError),
    /// The sandbox could not start.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// The API could not be reached, or refused the app's credentials.
    #[error("{context}")]
    Network {
        context: String,
        #[source]
        source: ClientError,
    },
    /// A run stopped on an error that would have failed every send (a bad key, a muted sender).
    #[error("the run stopped on an error that would fail every send: {0}")]
    Fatal(String),
    /// A file could not be read or written.
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Anything else the environment did wrong (the async runtime, a socket).
    #[error("{0}")]
    Environment(String),
}

impl Error {
    /// A user error with no hint.
    pub fn user(message: impl Into<String>) -> Error {
        Error::User {
            message: message.into(),
            help: None,
        }
    }

    /// A user error with a hint on what to do.
    pub fn user_with_help(message: impl Into<String>, help: impl Into<String>) -> Error {
        Error::User {
            message: message.into(),
            help: Some(help.into()),
        }
    }

    pub fn network(context: impl Into<String>, source: ClientError) -> Error {
        Error::Network {
            context: context.into(),
            source,
        }
    }

    /// The process exit code for this error.
    pub fn code(&self) -> u8 {
        match self {
            Error::Plan(PlanError::Journal(e))
            | Error::Apply(ApplyError::Journal(e) | ApplyError::Plan(PlanError::Journal(e)))
            | Error::SavedPlan(SavedPlanError::Journal(e)) => journal_code(e),
            Error::Apply(ApplyError::JournalWriter(_)) => ENVIRONMENT,
            Error::Plan(_) | Error::Apply(_) | Error::SavedPlan(_) | Error::Against(_) => {
                USER_ERROR
            }
            Error::Sandbox(SandboxError::NotLoopback(_)) => USER_ERROR,
            Error::Sandbox(_) => ENVIRONMENT,
            Error::Invalid { .. } | Error::User { .. } | Error::Settings(_) | Error::Fatal(_) => {
                USER_ERROR
            }
            Error::Journal(e) => journal_code(e),
            Error::Io { .. } | Error::Environment(_) => ENVIRONMENT,
            // The API answered and refused (a bad key, region or admin): the user fixes that.
            Error::Network {
                source: ClientError::Api { .. },
                ..
            } => USER_ERROR,
            Error::Network { .. } => ENVIRONMENT,
        }
    }

    fn help(&self) -> Option<String> {
        match self {
            Error::User { help, .. } => help.clone(),
            Error::Fatal(_) => Some(
                "fix it, then run the same command again; unsent recipients are still pending"
                    .into(),
            ),
            _ if self.code() == ENVIRONMENT => {
                Some("nothing in the campaign is wrong: fix the environment and try again".into())
            }
            _ => None,
        }
    }

    /// Writes `error: …`, each cause not already in the text above it, and the hint.
    pub fn print(&self, err: &mut dyn Write) {
        if let Error::Invalid { report } = self {
            if !report.is_empty() {
                let _ = writeln!(err, "{}", report.trim_end());
            }
            return;
        }
        let mut shown = self.to_string();
        let _ = writeln!(err, "error: {shown}");
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            let text = cause.to_string();
            // Messages that embed their source already said it (perhaps without the
            // library's own prefix, e.g. SQLite's "Error code 26: ").
            let core = text.rsplit(": ").next().unwrap_or(&text);
            if !shown.contains(core) {
                let _ = writeln!(err, "  caused by: {text}");
                shown.push_str(&text);
            }
            source = cause.source();
        }
        if let Some(help) = self.help() {
            let _ = writeln!(err, "  help: {help}");
        }
    }
}

fn journal_code(error: &JournalError) -> u8 {
    match error {
        // Another live process holds the campaign: the user waits for it, or stops it.
        JournalError::Locked { .. } => USER_ERROR,
        // A journal newer than this build needs an upgrade, not a retry.
        JournalError::TooNew { .. } => USER_ERROR,
        _ => ENVIRONMENT,
    }
}

/// The result of a command.
pub(crate) type Result<T = Exit> = std::result::Result<T, Error>;

/// Maps a write to stdout: a closed pipe (`timcast report | head`) is not an error.
pub(crate) fn written(result: std::io::Result<()>) -> Result<()> {
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(source) => Err(Error::Io {
            what: "cannot write to",
            path: PathBuf::from("standard output"),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn printed(error: &Error) -> String {
        let mut out = Vec::new();
        error.print(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn a_journal_that_cannot_be_opened_is_the_environment_and_a_lock_is_the_user() {
        let sql = rusqlite::Error::InvalidQuery;
        let open = Error::Journal(JournalError::Open {
            path: "x.db".into(),
            source: sql,
        });
        assert_eq!(open.code(), ENVIRONMENT);
        let locked = Error::Journal(JournalError::Locked {
            campaign: "c".into(),
            location: "x.lock".into(),
        });
        assert_eq!(locked.code(), USER_ERROR);
        assert_eq!(Error::user("bad flag").code(), USER_ERROR);
    }

    #[test]
    fn the_cause_chain_is_printed_once() {
        let inner = std::io::Error::other("disk full");
        let error = Error::Io {
            what: "cannot write",
            path: "plan.json".into(),
            source: inner,
        };
        let text = printed(&error);
        assert_eq!(text.matches("disk full").count(), 1, "{text}");
        assert!(text.starts_with("error: cannot write plan.json: disk full\n"));
        assert!(text.contains("help: nothing in the campaign is wrong"));
    }

    #[test]
    fn a_closed_pipe_is_not_an_error_but_a_full_disk_is() {
        let pipe = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert!(written(Err(pipe)).is_ok());
        let full = std::io::Error::other("disk full");
        assert_eq!(written(Err(full)).map_err(|e| e.code()), Err(ENVIRONMENT));
    }
}
