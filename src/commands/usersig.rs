//! `timcast usersig`: sign a UserSig with the app's secret key, or check one.

use std::io::Write;

use clap::Args;

use crate::error::{Error, Exit, Result, written};
use crate::im::settings::{ConnectionArgs, ConnectionDefaults, SettingsError};
use crate::im::usersig::{self, DEFAULT_EXPIRE_SECS};

/// Arguments of `timcast usersig`.
#[derive(Debug, Clone, Args)]
pub(crate) struct UsersigArgs {
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

/// `timcast usersig`.
pub(crate) async fn run(args: &UsersigArgs) -> Result {
    let defaults = ConnectionDefaults::default();
    let sdkappid = args
        .connection
        .sdkappid_or(&defaults)
        .ok_or(SettingsError::MissingSdkAppId)?;
    let key = args
        .connection
        .secret_key()?
        .ok_or(SettingsError::MissingSecretKey)?;
    let mut out = std::io::stdout().lock();
    match &args.verify {
        None => {
            let sig = usersig::generate(&key, sdkappid, &args.identifier, args.expire);
            written(writeln!(out, "{sig}"))?;
            Ok(Exit::Ok)
        }
        Some(sig) => match usersig::verify(sig, &key, sdkappid, &args.identifier) {
            Ok(doc) => {
                written(writeln!(
                    out,
                    "valid: UserSig for {:?} of SDKAppID {}, signed {}, expires {}",
                    doc.identifier,
                    doc.sdkappid,
                    format_unix(doc.time),
                    format_unix(doc.expires_at())
                ))?;
                Ok(Exit::Ok)
            }
            Err(reason) => Err(Error::Invalid {
                report: format!("invalid: {reason}"),
            }),
        },
    }
}

fn format_unix(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map_or_else(|| format!("unix {secs}"), |t| t.to_string())
}
