//! timcast: declarative broadcast campaigns for the Tencent Cloud IM (Chat) REST API.
//!
//! The flow is the one in DESIGN.md: a campaign file is loaded and validated
//! ([`campaign`]), its recipients read ([`audience`]) and rendered ([`render`]),
//! and the commands of [`cli`] drive those stages.

pub mod apply;
pub mod audience;
pub mod campaign;
pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod im;
pub mod journal;
pub mod plan;
pub mod render;
pub mod report;
pub mod sandbox;
pub mod schedule;
pub mod session;
pub mod template;

use std::ffi::OsString;
use std::process::ExitCode;

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
