//! `timcast report`: what a campaign sent, from the journal.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::load_campaign;
use crate::config::Config;
use crate::error::{Error, Exit, Result, written};
use crate::journal::{EMPTY_FINGERPRINT, State};
use crate::project::Project;
use crate::report::{self, ReportError, ReportFormat, ReportOptions};

#[derive(Debug, Clone, Args)]
pub(crate) struct ReportArgs {
    /// The campaign file, or the campaign's name as recorded in the journal.
    #[arg(value_name = "CAMPAIGN")]
    pub campaign: String,
    /// text: the summary for a terminal (every recipient with --recipients); markdown: the
    /// summary for a pull-request comment (always under 65,536 characters); html: one
    /// self-contained page (no external resources, under 2 MB) with the runs and send rate as
    /// a chart; csv (a spreadsheet) and json (one object a line): every recipient's row.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReportFormat,
    /// Break the audience down by this CSV column (e.g. --by tier): sent, failed, pending per
    /// value. Needs the campaign file.
    #[arg(long, value_name = "COLUMN")]
    pub by: Option<String>,
    /// With --format text: every recipient's row instead of the summary.
    #[arg(long)]
    pub recipients: bool,
    /// How many failed or uncertain recipients a summary lists (at most 1,000 in html, 50 in
    /// markdown); --format csv lists them all.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub failed: usize,
    /// Read the journal of `apply --sandbox` runs instead.
    #[arg(long)]
    pub sandbox: bool,
    /// The journal that records what was sent: a SQLite file, or a postgres://user@host/db URL
    /// for one a team and its CI runners share [default: .timcast/state.db in the
    /// project's root: the directory of timcast.toml, else the Git root, else the campaign's].
    #[arg(long = "state", env = "TIMCAST_STATE", value_name = "PATH|URL")]
    pub state: Option<PathBuf>,
}

/// `timcast report`.
pub(crate) async fn run(config: &Config, args: &ReportArgs) -> Result {
    let as_path = Path::new(&args.campaign);
    let looks_like_a_file = as_path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    let (name, state, loaded) = if as_path.is_file() || looks_like_a_file {
        // A path that is not there fails as a campaign file does, instead of reporting on a
        // campaign of that name with no sends.
        let loaded = load_campaign(as_path)?;
        let name = loaded.campaign.name.clone();
        let state = super::journal_of(args.state.as_deref(), args.sandbox, as_path, &name)?;
        (name, state, Some(loaded))
    } else {
        if args.by.is_some() {
            return Err(Error::user_with_help(
                "--by needs the audience",
                "give the campaign file instead of its name",
            ));
        }
        // A campaign named, not a file: the project is the working directory's.
        let project = Project::of_dir(Path::new("."));
        let state = State::for_project(args.state.as_deref(), &project);
        let state = if args.sandbox { state.sandbox() } else { state };
        (args.campaign.clone(), state, None)
    };
    let Some(journal) = state.open_existing()? else {
        let message = format!("no journal at {state}: nothing was applied yet");
        let sandbox = state.sandbox();
        return Err(
            if !args.sandbox && sandbox.sqlite_path().is_some_and(Path::exists) {
                Error::user_with_help(
                    message,
                    format!(
                        "runs of `apply --sandbox` keep their own journal ({sandbox}): add --sandbox"
                    ),
                )
            } else {
                Error::user(message)
            },
        );
    };
    // Only for the note: a journal whose fingerprint cannot be computed still has a report.
    if journal
        .fingerprint(&name)
        .is_ok_and(|f| f == EMPTY_FINGERPRINT)
    {
        tracing::info!("note: the journal {state} has no sends of campaign `{name}`");
    }
    let options = ReportOptions {
        format: args.format,
        by: args.by.clone(),
        recipients: args.recipients,
        failed: args.failed,
        generated_at: config
            .clock
            .now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
        command: command_line(args),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = report::write(journal.as_ref(), &name, loaded.as_ref(), &options, &mut out)
        .and_then(|()| out.flush().map_err(ReportError::Io));
    match result {
        Ok(()) => Ok(Exit::Ok),
        Err(ReportError::Io(e)) => written(Err(e)).map(|()| Exit::Ok),
        Err(ReportError::Journal(e)) => Err(Error::Journal(e)),
        Err(ReportError::Template(e)) => Err(Error::Environment(e)),
        Err(e) => Err(Error::user(e.to_string())),
    }
}

/// `timcast report <campaign>` with the flags that choose the journal, for hints.
fn command_line(args: &ReportArgs) -> String {
    let mut line = format!("timcast report {}", args.campaign);
    if args.sandbox {
        line.push_str(" --sandbox");
    }
    if let Some(state) = &args.state {
        line.push_str(&format!(" --state {}", state.display()));
    }
    line
}
