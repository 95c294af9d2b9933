//! timcast: declarative broadcast campaigns for the Tencent Cloud IM (Chat) REST API.
//!
//! The flow is the one in DESIGN.md: a campaign file is loaded and validated
//! ([`campaign`]), its recipients read and rendered, planned against the [`journal`]
//! ([`plan`]) and sent ([`apply`]). The public modules are what the integration tests and
//! benches drive directly; the rest is internal to the binary. README's "Contributing"
//! section maps every module.

pub mod apply;
mod audience;
pub mod campaign;
mod cli;
mod commands;
mod config;
mod error;
pub mod im;
pub mod journal;
mod logging;
mod notify;
pub mod plan;
pub mod project;
mod render;
pub mod report;
pub mod sandbox;
pub mod schedule;
mod session;
mod template;
mod zone;

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
