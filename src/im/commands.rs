//! The `timcast usersig` and `timcast robots` commands.

use std::io::Write;

use clap::Args;

use super::client::{ClientError, ImClient};
use super::settings::{ConnectionArgs, ConnectionDefaults, SettingsError};
use super::usersig::{self, DEFAULT_EXPIRE_SECS};

/// A failure of an `im` command.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
}

/// Arguments of `timcast usersig`.
#[derive(Debug, Clone, Args)]
pub struct UsersigArgs {
    /// The UserID to sign for (usually the App admin).
    #[arg(value_name = "IDENTIFIER")]
    pub identifier: String,
    /// Validity in seconds from now.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_EXPIRE_SECS)]
    pub expire: u64,
    /// Check this UserSig instead of signing: exits 0 when it is valid for IDENTIFIER and the
    /// SDKAppID, 1 with the reason otherwise.
    #[arg(long, value_name = "SIG")]
    pub verify: Option<String>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Runs `timcast usersig`; returns the exit code.
pub fn usersig_command(
    args: &UsersigArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, CommandError> {
    let defaults = ConnectionDefaults::default();
    let sdkappid = args
        .connection
        .sdkappid_or(&defaults)
        .ok_or(SettingsError::MissingSdkAppId)?;
    let key = args
        .connection
        .secret_key()?
        .ok_or(SettingsError::MissingSecretKey)?;
    match &args.verify {
        None => {
            let sig = usersig::generate(&key, sdkappid, &args.identifier, args.expire);
            writeln!(out, "{sig}").map_err(CommandError::Output)?;
            Ok(crate::exit::OK)
        }
        Some(sig) => match usersig::verify(sig, &key, sdkappid, &args.identifier) {
            Ok(doc) => {
                writeln!(
                    out,
                    "valid: UserSig for {:?} of SDKAppID {}, signed {}, expires {}",
                    doc.identifier,
                    doc.sdkappid,
                    format_unix(doc.time),
                    format_unix(doc.expires_at())
                )
                .map_err(CommandError::Output)?;
                Ok(crate::exit::OK)
            }
            Err(reason) => {
                writeln!(err, "invalid: {reason}").map_err(CommandError::Output)?;
                Ok(crate::exit::USER_ERROR)
            }
        },
    }
}

fn format_unix(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map_or_else(|| format!("unix {secs}"), |t| t.to_string())
}

/// Arguments of `timcast robots`.
#[derive(Debug, Clone, Args)]
pub struct RobotsArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Runs `timcast robots`: one chatbot UserID per line on stdout.
pub fn robots_command(
    args: &RobotsArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, CommandError> {
    let connection = args.connection.resolve(&ConnectionDefaults::default())?;
    let client = ImClient::from_connection(connection)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CommandError::Runtime)?;
    let reply = runtime.block_on(client.get_all_robots())?;
    if reply.robot_account.is_empty() {
        writeln!(err, "no chatbot accounts").map_err(CommandError::Output)?;
    }
    for robot in &reply.robot_account {
        writeln!(out, "{robot}").map_err(CommandError::Output)?;
    }
    Ok(crate::exit::OK)
}
