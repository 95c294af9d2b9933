//! timcast: declarative broadcast campaigns for the Tencent Cloud IM (Chat) REST API.
//!
//! The flow is the one in DESIGN.md: a campaign file is loaded and validated
//! ([`campaign`]), its recipients read ([`audience`]) and rendered ([`render`]),
//! and the commands of [`cli`] drive those stages.

pub mod apply;
pub mod audience;
pub mod campaign;
pub mod cli;
pub mod due;
pub mod im;
pub mod journal;
pub mod plan;
pub mod render;
pub mod report;
pub mod sandbox;
pub mod schedule;

use std::ffi::OsString;
use std::process::ExitCode;

/// Exit codes shared by every command (DESIGN.md, "Command line").
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// A user error: bad file, bad flag, failed validation.
    pub const USER_ERROR: u8 = 1;
    /// `--detailed-exitcode`: the plan has sends to make.
    pub const PENDING: u8 = 2;
    /// The run finished with failed sends.
    pub const FAILED_SENDS: u8 = 3;
    /// The run was interrupted; the same command resumes it.
    pub const INTERRUPTED: u8 = 4;
}

/// Parses `args` and runs the command, returning the process exit code.
///
/// Tests call this in-process; the binary calls it from `main`.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    cli::run(args)
}
