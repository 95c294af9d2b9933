//! timcast's integration tests, in one binary (one link of axum, reqwest, SQLite and
//! handlebars instead of twelve). Each module is a user's session with one part of the tool:
//! the binary run as a process, or the library driven against the sandbox on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod common;

mod api_gaps;
mod apply_cli;
mod apply_executor;
mod caps;
mod cli_im;
mod client_against_sandbox;
mod end_to_end;
mod exit_codes;
mod hostile;
mod logging;
mod notify;
mod outputs;
mod plan;
mod postgres;
mod project;
mod reconcile;
mod reconcile_history;
mod regression;
mod regression_plan;
mod regression_recall;
mod regression_state;
mod regression_validate;
mod regression_windows;
mod report;
mod report_browser;
mod resume_passes;
mod run_due;
mod sandbox_faults;
mod sandbox_rules;
mod schedules;
mod suppress;
mod usersig_interop;
mod validate;
mod variants;
