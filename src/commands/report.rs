//! `timcast report`: what a campaign sent, from the journal.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::load_campaign;
use crate::error::{Error, Exit, Result, written};
use crate::journal::State;
use crate::project::Project;
use crate::report::{self, ReportFormat};

#[derive(Debug, Clone, Args)]
pub(crate) struct ReportArgs {
    /// The campaign file, or the campaign's name as recorded in the journal.
    #[arg(value_name = "CAMPAIGN")]
    pub campaign: String,
    /// text for a terminal, csv for a spreadsheet, json for scripts, markdown for a pull
    /// request, html for a self-contained page with charts.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReportFormat,
    /// Read the journal of `apply --sandbox` runs instead.
    #[arg(long)]
    pub sandbox: bool,
    /// The journal (SQLite) that records what was sent [default: .timcast/state.db in the
    /// project's root: the directory of timcast.toml, else the Git root, else the campaign's].
    #[arg(long = "state", env = "TIMCAST_STATE", value_name = "PATH")]
    pub state: Option<PathBuf>,
}

/// `timcast report`.
pub(crate) async fn run(args: &ReportArgs) -> Result {
    let as_path = Path::new(&args.campaign);
    let looks_like_a_file = as_path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    let (name, state) = if as_path.is_file() || looks_like_a_file {
        // A path that is not there fails as a campaign file does, instead of reporting on a
        // campaign of that name with no sends.
        let name = load_campaign(as_path)?.campaign.name;
        let state = super::journal_of(args.state.as_deref(), args.sandbox, as_path, &name)?;
        (name, state)
    } else {
        // A campaign named, not a file: the project is the working directory's.
        let project = Project::of_dir(Path::new("."));
        let state = State::for_project(args.state.as_deref(), &project);
        let state = if args.sandbox { state.sandbox() } else { state };
        (args.campaign.clone(), state)
    };
    let Some(journal) = state.open_existing()? else {
        let message = format!("no journal at {state}: nothing was applied yet");
        let sandbox = state.sandbox();
        return Err(if !args.sandbox && sandbox.path().exists() {
            Error::user_with_help(
                message,
                format!(
                    "runs of `apply --sandbox` keep their own journal ({sandbox}): add --sandbox"
                ),
            )
        } else {
            Error::user(message)
        });
    };
    let report = report::Report::from_journal(journal.as_ref(), &name)?;
    if report.rows.is_empty() {
        eprintln!("note: the journal {state} has no sends of campaign `{name}`");
    }
    let text = report::render(&report, args.format);
    written(std::io::stdout().lock().write_all(text.as_bytes()))?;
    Ok(Exit::Ok)
}
