//! `timcast robots`: the app's chatbot accounts.

use std::io::Write;

use clap::Args;

use crate::error::{Error, Exit, Result, written};
use crate::im::ImClient;
use crate::im::settings::{ConnectionArgs, ConnectionDefaults};

/// Arguments of `timcast robots`.
#[derive(Debug, Clone, Args)]
pub(crate) struct RobotsArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `timcast robots`: one chatbot UserID per line on stdout.
pub(crate) async fn run(args: &RobotsArgs) -> Result {
    let connection = args.connection.resolve(&ConnectionDefaults::default())?;
    let client = ImClient::from_connection(connection)
        .map_err(|e| Error::network("cannot set up the HTTP client", e))?;
    let reply = client
        .get_all_robots()
        .await
        .map_err(|e| Error::network("get_all_robots failed", e))?;
    if reply.robot_account.is_empty() {
        tracing::info!("no chatbot accounts");
    }
    let mut out = std::io::stdout().lock();
    for robot in &reply.robot_account {
        written(writeln!(out, "{robot}"))?;
    }
    Ok(Exit::Ok)
}
