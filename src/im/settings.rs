//! Connection settings: SDKAppID, admin, secret key, endpoint and region, and where they come
//! from (flag > environment > campaign file).
//!
//! The secret key is only ever read from the environment or a file, never from a flag value
//! (which would show in `ps` and shell history), and [`SecretKey`] has no way to print itself.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;
use serde::{Deserialize, Serialize};

/// The app's secret key. `Debug` prints `***`; there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

impl SecretKey {
    /// Wraps a key. Surrounding whitespace (a file's trailing newline) is removed.
    pub fn new(key: impl Into<String>) -> Self {
        let key: String = key.into();
        SecretKey(key.trim().to_owned())
    }

    /// The key itself, for signing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// The sample key published in every reference repository (API.md §6.3). Anyone can sign with
/// it, so it is only for the sandbox and examples.
pub const DEMO_SECRET_KEY: &str =
    "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
/// The SDKAppID the sandbox uses when none is configured.
pub const DEMO_SDKAPPID: u64 = 1_400_000_000;
/// The admin used when none is configured.
pub const DEFAULT_ADMIN: &str = "administrator";

/// The data centre hosting the SDKAppID; each has its own domain (API.md §1.2).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Region {
    China,
    Singapore,
    Seoul,
    Tokyo,
    Frankfurt,
    SiliconValley,
    Jakarta,
    Mumbai,
}

impl Region {
    /// The REST API domain of this region.
    pub fn domain(self) -> &'static str {
        match self {
            Region::China => "console.tim.qq.com",
            Region::Singapore => "adminapisgp.im.qcloud.com",
            Region::Seoul => "adminapikr.im.qcloud.com",
            Region::Tokyo => "adminapijpn.im.qcloud.com",
            Region::Frankfurt => "adminapiger.im.qcloud.com",
            Region::SiliconValley => "adminapiusa.im.qcloud.com",
            Region::Jakarta => "adminapiidn.im.qcloud.com",
            Region::Mumbai => "adminapiind.im.qcloud.com",
        }
    }

    /// The base URL of this region.
    pub fn base_url(self) -> BaseUrl {
        BaseUrl(format!("https://{}/", self.domain()))
    }
}

/// A checked base URL ending in `/`: https anywhere, plain http only to loopback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    /// Checks `url`. Plain http is refused unless the host is loopback, because the query
    /// string carries the admin's UserSig.
    pub fn parse(url: &str) -> Result<BaseUrl, SettingsError> {
        let bad = |why: String| SettingsError::BadEndpoint {
            url: url.to_owned(),
            why,
        };
        let parsed = reqwest::Url::parse(url.trim()).map_err(|e| bad(e.to_string()))?;
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(bad("it must not have a query string or fragment".into()));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(bad("it must not contain credentials".into()));
        }
        match parsed.scheme() {
            "https" => {}
            "http" => {
                if !is_loopback_host(parsed.host_str()) {
                    return Err(bad(
                        "plain http is only allowed to loopback (127.0.0.0/8, ::1, localhost); \
                         use https"
                            .into(),
                    ));
                }
            }
            other => return Err(bad(format!("unsupported scheme {other:?}; use https"))),
        }
        let mut s = parsed.to_string();
        if !s.ends_with('/') {
            s.push('/');
        }
        Ok(BaseUrl(s))
    }

    /// The URL as a string, ending in `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URL of an endpoint path (after `v4/`), without the query string.
    pub fn endpoint_url(&self, path: &str) -> String {
        format!("{}v4/{}", self.0, path)
    }
}

impl std::fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a URL's host is loopback (127.0.0.0/8, ::1, localhost): where plain connections
/// (http, a database without TLS) may go.
pub(crate) fn is_loopback_host(host: Option<&str>) -> bool {
    let Some(host) = host else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => is_loopback(ip),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

/// Whether `ip` is a loopback address (the sandbox binds only those unless told otherwise).
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// A problem with the connection settings.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("no SDKAppID: set TIM_SDKAPPID or pass --sdkappid")]
    MissingSdkAppId,
    #[error(
        "no secret key: set TIM_SECRET_KEY, or TIM_SECRET_KEY_FILE / --secret-key-file to a file holding it"
    )]
    MissingSecretKey,
    #[error("cannot read the secret key file {path}: {source}")]
    SecretKeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the secret key file {path} is empty")]
    EmptySecretKeyFile { path: PathBuf },
    #[error(
        "no endpoint: set TIM_REGION / --region (china, singapore, seoul, tokyo, frankfurt, \
         silicon-valley, jakarta, mumbai) or TIM_ENDPOINT / --endpoint"
    )]
    MissingEndpoint,
    #[error("bad endpoint {url:?}: {why}")]
    BadEndpoint { url: String, why: String },
}

/// Connection settings shared by every command that talks to the API.
///
/// Flags win over environment variables (clap reads both), which win over the campaign file's
/// `app:` section (passed as [`ConnectionDefaults`]).
#[derive(Debug, Clone, Default, Args)]
pub struct ConnectionArgs {
    /// The app's SDKAppID, from the IM console.
    #[arg(long, env = "TIM_SDKAPPID", value_name = "ID")]
    pub sdkappid: Option<u64>,
    /// The App admin account that signs the calls [default: administrator].
    #[arg(long, env = "TIM_ADMIN", value_name = "USERID")]
    pub admin: Option<String>,
    /// A file holding the secret key (the key itself is read from TIM_SECRET_KEY, never a flag).
    #[arg(long, env = "TIM_SECRET_KEY_FILE", value_name = "PATH")]
    pub secret_key_file: Option<PathBuf>,
    /// Base URL of the API, e.g. http://127.0.0.1:8080 for the sandbox; overrides --region.
    /// Plain http is allowed only to loopback.
    #[arg(long, env = "TIM_ENDPOINT", value_name = "URL")]
    pub endpoint: Option<String>,
    /// The data centre hosting the SDKAppID.
    #[arg(long, env = "TIM_REGION", value_name = "REGION")]
    pub region: Option<Region>,
}

/// Lower-priority values, e.g. from a campaign file's `app:` section.
#[derive(Debug, Clone, Default)]
pub struct ConnectionDefaults {
    pub sdkappid: Option<u64>,
    pub admin: Option<String>,
    pub region: Option<Region>,
    pub endpoint: Option<String>,
}

/// SDKAppID, admin and key: enough to sign.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub sdkappid: u64,
    pub admin: String,
    pub secret: SecretKey,
}

/// Everything needed to call the API.
#[derive(Debug, Clone)]
pub struct Connection {
    pub credentials: Credentials,
    pub base_url: BaseUrl,
}

impl ConnectionArgs {
    /// The SDKAppID, if set anywhere.
    pub fn sdkappid_or(&self, defaults: &ConnectionDefaults) -> Option<u64> {
        self.sdkappid.or(defaults.sdkappid)
    }

    /// The admin: flag or environment, then defaults, then `administrator`.
    pub fn admin_or(&self, defaults: &ConnectionDefaults) -> String {
        self.admin
            .clone()
            .or_else(|| defaults.admin.clone())
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_ADMIN.to_owned())
    }

    /// The secret key, if configured: the file named by `--secret-key-file` / `TIM_SECRET_KEY_FILE`,
    /// else `TIM_SECRET_KEY`.
    pub fn secret_key(&self) -> Result<Option<SecretKey>, SettingsError> {
        self.secret_key_with(|name| std::env::var(name).ok())
    }

    /// As [`ConnectionArgs::secret_key`], with the environment given as a function (for tests).
    pub fn secret_key_with(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<SecretKey>, SettingsError> {
        if let Some(path) = &self.secret_key_file {
            let text =
                std::fs::read_to_string(path).map_err(|source| SettingsError::SecretKeyFile {
                    path: path.clone(),
                    source,
                })?;
            let key = SecretKey::new(text);
            if key.expose().is_empty() {
                return Err(SettingsError::EmptySecretKeyFile { path: path.clone() });
            }
            return Ok(Some(key));
        }
        Ok(env("TIM_SECRET_KEY")
            .map(SecretKey::new)
            .filter(|k| !k.expose().is_empty()))
    }

    /// SDKAppID, admin and key, all required.
    pub fn credentials(&self, defaults: &ConnectionDefaults) -> Result<Credentials, SettingsError> {
        let sdkappid = self
            .sdkappid_or(defaults)
            .ok_or(SettingsError::MissingSdkAppId)?;
        let secret = self.secret_key()?.ok_or(SettingsError::MissingSecretKey)?;
        Ok(Credentials {
            sdkappid,
            admin: self.admin_or(defaults),
            secret,
        })
    }

    /// The base URL: an endpoint (flag, environment, defaults) beats a region.
    pub fn base_url(&self, defaults: &ConnectionDefaults) -> Result<BaseUrl, SettingsError> {
        if let Some(url) = &self.endpoint {
            return BaseUrl::parse(url);
        }
        if let Some(region) = self.region {
            return Ok(region.base_url());
        }
        if let Some(url) = &defaults.endpoint {
            return BaseUrl::parse(url);
        }
        if let Some(region) = defaults.region {
            return Ok(region.base_url());
        }
        Err(SettingsError::MissingEndpoint)
    }

    /// Everything needed to call the API.
    pub fn resolve(&self, defaults: &ConnectionDefaults) -> Result<Connection, SettingsError> {
        Ok(Connection {
            base_url: self.base_url(defaults)?,
            credentials: self.credentials(defaults)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_key_debug_is_masked() {
        let key = SecretKey::new("s3cr3t\n");
        assert_eq!(format!("{key:?}"), "***");
        assert_eq!(key.expose(), "s3cr3t");
    }

    #[test]
    fn plain_http_only_to_loopback() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.1.2.3/",
            "http://[::1]:9000",
            "http://localhost:1",
            "https://example.com",
        ] {
            let url = BaseUrl::parse(ok).unwrap();
            assert!(url.as_str().ends_with('/'), "{url}");
        }
        for bad in [
            "http://10.0.0.1",
            "http://example.com",
            "ftp://127.0.0.1",
            "not a url",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            BaseUrl::parse("http://127.0.0.1:8080")
                .unwrap()
                .endpoint_url("openim/sendmsg"),
            "http://127.0.0.1:8080/v4/openim/sendmsg"
        );
    }

    #[test]
    fn regions_map_to_their_domains() {
        assert_eq!(
            Region::China.base_url().as_str(),
            "https://console.tim.qq.com/"
        );
        assert_eq!(Region::SiliconValley.domain(), "adminapiusa.im.qcloud.com");
        assert_eq!(Region::Mumbai.domain(), "adminapiind.im.qcloud.com");
    }

    #[test]
    fn flags_beat_defaults_and_endpoint_beats_region() {
        let args = ConnectionArgs {
            sdkappid: Some(1),
            region: Some(Region::Seoul),
            ..Default::default()
        };
        let defaults = ConnectionDefaults {
            sdkappid: Some(2),
            admin: Some("ops".into()),
            region: Some(Region::China),
            endpoint: Some("http://127.0.0.1:1".into()),
        };
        assert_eq!(args.sdkappid_or(&defaults), Some(1));
        assert_eq!(args.admin_or(&defaults), "ops");
        assert_eq!(args.base_url(&defaults).unwrap(), Region::Seoul.base_url());
        let with_endpoint = ConnectionArgs {
            endpoint: Some("http://127.0.0.1:2".into()),
            ..args
        };
        assert_eq!(
            with_endpoint.base_url(&defaults).unwrap().as_str(),
            "http://127.0.0.1:2/"
        );
        assert_eq!(
            ConnectionArgs::default().admin_or(&ConnectionDefaults::default()),
            "administrator"
        );
        assert!(matches!(
            ConnectionArgs::default().base_url(&ConnectionDefaults::default()),
            Err(SettingsError::MissingEndpoint)
        ));
    }

    #[test]
    fn key_file_wins_over_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "from-file\n").unwrap();
        let args = ConnectionArgs {
            secret_key_file: Some(path),
            ..Default::default()
        };
        let env = |_: &str| Some("from-env".to_string());
        assert_eq!(
            args.secret_key_with(env).unwrap().unwrap().expose(),
            "from-file"
        );
        let no_file = ConnectionArgs::default();
        assert_eq!(
            no_file.secret_key_with(env).unwrap().unwrap().expose(),
            "from-env"
        );
        assert!(no_file.secret_key_with(|_| None).unwrap().is_none());
    }
}
