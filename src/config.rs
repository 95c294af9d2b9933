//! What every command needs from the process, resolved once before any command runs: the
//! clock the schedule is judged by, whether a person is watching, and how the run was started.
//!
//! Per-command settings (connection, state store) are resolved from each command's own flags
//! by [`crate::im::ConnectionArgs`] and [`crate::journal::State`].

use std::io::IsTerminal;
use std::sync::Arc;

use crate::error::Error;
use crate::logging::LogSettings;
use crate::schedule::{Clock, FixedClock, SystemClock};

/// The process-wide settings of one invocation.
#[derive(Clone)]
pub(crate) struct Config {
    /// "Now" for schedules: the system clock, or `TIMCAST_NOW` (a testing aid, hidden from
    /// `--help`: process tests pin "now" with it, and waits then pass at once).
    pub clock: Arc<dyn Clock>,
    /// Standard error is a terminal: progress bars and confirmation prompts.
    pub interactive: bool,
    /// Colour on standard output (a terminal, and `NO_COLOR` unset).
    pub color: bool,
    /// The words after `timcast`, to print the command that resumes an interrupted run.
    pub args: Vec<String>,
    /// `--log-format`, `-v` and `-q`.
    pub log: LogSettings,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("now", &self.clock.now())
            .field("interactive", &self.interactive)
            .field("color", &self.color)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Reads the environment and the terminals.
    pub(crate) fn from_env(args: Vec<String>, log: LogSettings) -> Result<Config, Error> {
        let clock: Arc<dyn Clock> = match std::env::var("TIMCAST_NOW") {
            Ok(text) if !text.trim().is_empty() => {
                let now = text.trim().parse::<jiff::Timestamp>().map_err(|e| {
                    Error::user(format!("TIMCAST_NOW `{text}` is not an RFC 3339 time: {e}"))
                })?;
                Arc::new(FixedClock::new(now))
            }
            _ => Arc::new(SystemClock),
        };
        Ok(Config {
            clock,
            interactive: std::io::stderr().is_terminal(),
            color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            args,
            log,
        })
    }

    /// Whether the run's progress is drawn as a bar: on a terminal, in text, not quiet (else
    /// it is a progress line every few seconds, in the log format).
    pub(crate) fn progress_bar(&self) -> bool {
        self.interactive && !self.log.json() && self.log.verbosity >= 0
    }

    /// The command line that resumes this run (the secret is never on a command line).
    pub(crate) fn resume_command(&self) -> String {
        let words: Vec<&str> = self
            .args
            .iter()
            .map(String::as_str)
            .filter(|w| !w.is_empty())
            .collect();
        format!("timcast {}", words.join(" "))
    }
}
