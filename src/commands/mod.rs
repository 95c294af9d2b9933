//! One file per subcommand, each `async fn run(&Config, Args) -> Result<Exit>`, and what
//! several of them share: loading a campaign with its diagnostics, asking for confirmation,
//! and turning Ctrl-C into a stop.

pub(crate) mod apply;
pub(crate) mod plan;
pub(crate) mod preview;
pub(crate) mod recall;
pub(crate) mod reconcile;
pub(crate) mod report;
pub(crate) mod robots;
pub(crate) mod run;
pub(crate) mod sandbox;
pub(crate) mod state;
pub(crate) mod usersig;
pub(crate) mod validate;

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use crate::apply::Stop;
use crate::campaign::{self, LoadedCampaign};
use crate::error::{Error, Exit, Result};
use crate::journal::{EMPTY_FINGERPRINT, State};
use crate::project::display_path;

/// Writes the validation's warnings to stderr (so stdout stays parseable) and returns the
/// campaign; its errors become [`Error::Invalid`], rendered.
pub(crate) fn load_campaign(path: &Path) -> Result<LoadedCampaign> {
    let validation = campaign::validate(path);
    if validation.has_errors() {
        return Err(Error::Invalid {
            report: format!("{}{}", validation.render(), validation.summary(path)),
        });
    }
    if !validation.diagnostics.is_empty() {
        crate::logging::block(tracing::Level::WARN, &validation.render());
    }
    validation
        .into_result()
        .map_err(|v| Error::Invalid { report: v.render() })
}

/// The journal of `campaign` (the file at `path`): `--state`, else `.timcast/state.db` at the
/// project's root; `--sandbox` runs keep theirs beside it. Without `--state`, refuses when
/// that journal knows nothing of the campaign but `./.timcast/` (the former default) does:
/// reading the empty one would count every recipient as unsent.
pub(crate) fn journal_of(
    arg: Option<&Path>,
    sandbox: bool,
    path: &Path,
    campaign: &str,
) -> Result<State> {
    let state = State::for_campaign(arg, path);
    let state = if sandbox { state.sandbox() } else { state };
    if arg.is_some() {
        return Ok(state);
    }
    if let Some(former) = state.former_default()
        && state.fingerprint(campaign)? == EMPTY_FINGERPRINT
        && former.fingerprint(campaign)? != EMPTY_FINGERPRINT
        && let (Some(here), Some(there)) = (state.sqlite_path(), former.sqlite_path())
    {
        return Err(Error::user_with_help(
            format!(
                "campaign `{campaign}` has no records in its journal {}, but {} has them",
                display_path(here),
                display_path(there),
            ),
            format!(
                "the default journal is now at the project's root (the directory of timcast.toml, \
                 else the Git work tree's root, else the campaign's directory), so that it does not \
                 depend on where timcast runs; {}",
                if here.exists() {
                    format!(
                        "pass --state {} (do not move it over {}: that one holds other campaigns)",
                        display_path(there),
                        display_path(here)
                    )
                } else {
                    format!(
                        "move it there (mkdir -p {dir} && mv {from} {to}) or pass --state {from}",
                        dir = display_path(here.parent().unwrap_or(Path::new("."))),
                        from = display_path(there),
                        to = display_path(here),
                    )
                }
            ),
        ));
    }
    Ok(state)
}

/// Asks `question` on the terminal; off a terminal it refuses, unless the user passed --yes
/// (then this is not called).
pub(crate) fn confirm(
    question: &str,
    verb: &str,
    declined: &str,
    err: &mut dyn Write,
) -> Result<()> {
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(Error::user(format!(
            "refusing to {verb} without confirmation: not on a terminal; pass --yes to {verb}"
        )));
    }
    let _ = write!(err, "{question} [y/N] ");
    let _ = err.flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    if matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(())
    } else {
        Err(Error::user(declined))
    }
}

/// Stops `stop` on Ctrl-C or SIGTERM; a second signal exits at once (the journal is safe).
pub(crate) fn watch_signals(stop: &Stop) {
    let stop = stop.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::warn!(
            "\nstopping: no new sends; waiting for the calls in flight (Ctrl-C again to quit now)"
        );
        stop.trigger();
        wait_for_signal().await;
        std::process::exit(i32::from(Exit::Interrupted.code()));
    });
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
