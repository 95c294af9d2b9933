//! Where a PostgreSQL journal is: the URL as given (it may hold a password), shown only with
//! the password removed, and the connection made from it (TLS through rustls off loopback).

use std::str::FromStr;
use std::sync::Arc;

use postgres::config::{Host, SslMode};

use super::super::JournalError;
use crate::im::settings::is_loopback_host;

/// The schema timcast's tables live in unless the URL says `?schema=…`.
pub(crate) const DEFAULT_SCHEMA: &str = "timcast";

/// A PostgreSQL journal's address.
#[derive(Clone)]
pub struct PgTarget {
    /// As given: may hold a password, so it is never shown.
    url: String,
    schema: String,
}

impl PgTarget {
    /// Whether `text` names a PostgreSQL journal rather than a SQLite file.
    pub fn is_url(text: &str) -> bool {
        text.starts_with("postgres://") || text.starts_with("postgresql://")
    }

    /// The target of `url`; nothing is checked until it is connected to.
    pub fn new(url: &str) -> PgTarget {
        let schema = query_param(url, "schema").unwrap_or_else(|| DEFAULT_SCHEMA.to_owned());
        PgTarget {
            url: url.to_owned(),
            schema,
        }
    }

    /// The same database, another schema (`apply --sandbox` keeps its sends apart).
    pub fn with_schema(&self, schema: &str) -> PgTarget {
        PgTarget {
            url: self.url.clone(),
            schema: schema.to_owned(),
        }
    }

    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The URL without its password, with the schema: what messages and saved plans show.
    pub fn redacted(&self) -> String {
        let mut shown = without_password(&without_query_param(&self.url, "schema"));
        if self.schema != DEFAULT_SCHEMA {
            shown.push(if shown.contains('?') { '&' } else { '?' });
            shown.push_str("schema=");
            shown.push_str(&self.schema);
        }
        shown
    }

    /// The connection settings: the URL without `schema`, and `PGPASSWORD` when the URL has
    /// no password.
    fn config(&self) -> Result<(postgres::Config, bool), JournalError> {
        let bad = |message: String| JournalError::PgUrl {
            location: self.redacted(),
            message,
        };
        let url = without_query_param(&self.url, "schema");
        let mut config = postgres::Config::from_str(&url).map_err(|e| {
            // The parser's message may quote the URL; never show it whole.
            bad(without_password(&e.to_string()))
        })?;
        if config.get_password().is_none()
            && let Ok(password) = std::env::var("PGPASSWORD")
        {
            config.password(password);
        }
        if config.get_user().is_none() {
            let user = std::env::var("PGUSER")
                .or_else(|_| std::env::var("USER"))
                .unwrap_or_else(|_| "postgres".to_owned());
            config.user(&user);
        }
        if config.get_application_name().is_none() {
            config.application_name("timcast");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(10));
        }
        let hosts = config.get_hosts();
        if hosts.is_empty() {
            return Err(bad(
                "the URL names no host (postgres://user@host:port/db)".into()
            ));
        }
        let loopback = hosts.iter().all(|h| match h {
            Host::Tcp(name) => is_loopback_host(Some(name)),
            Host::Unix(_) => true,
        });
        if !loopback {
            match config.get_ssl_mode() {
                SslMode::Disable => {
                    return Err(bad(
                        "sslmode=disable is refused for a host that is not loopback: the journal \
                         would cross the network in the clear (remove sslmode, TLS is used)"
                            .into(),
                    ));
                }
                _ => {
                    config.ssl_mode(SslMode::Require);
                }
            }
        }
        Ok((config, loopback))
    }

    /// A new connection.
    pub(crate) fn connect(&self) -> Result<postgres::Client, JournalError> {
        let (config, loopback) = self.config()?;
        let failed = |source| JournalError::Postgres {
            location: self.redacted(),
            error: source,
        };
        if loopback && config.get_ssl_mode() != SslMode::Require {
            return config.connect(postgres::NoTls).map_err(failed);
        }
        config.connect(tls()?).map_err(failed)
    }
}

/// rustls with the system's root certificates and an explicit crypto provider (no process-wide
/// default to install).
fn tls() -> Result<tokio_postgres_rustls::MakeRustlsConnect, JournalError> {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(found.certs);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| JournalError::PgUrl {
            location: String::new(),
            message: format!("TLS setup: {e}"),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

impl PartialEq for PgTarget {
    fn eq(&self, other: &PgTarget) -> bool {
        self.redacted() == other.redacted()
    }
}

impl Eq for PgTarget {}

impl std::fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl std::fmt::Display for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// `text` with any `user:password@` in a URL cut to `user@`, and `password=` values hidden.
pub(crate) fn without_password(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let authority_end = tail.find(['/', '?', '#', ' ']).unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                let user = userinfo.split(':').next().unwrap_or("");
                out.push_str(user);
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    hide_password_params(&out)
}

fn hide_password_params(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("password=") {
        let (head, tail) = rest.split_at(at + "password=".len());
        out.push_str(head);
        out.push_str("***");
        let end = tail.find(['&', ' ', '#']).unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let (_, query) = url.split_once('?')?;
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

fn without_query_param(url: &str, name: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| pair.split_once('=').map_or(*pair, |(k, _)| k) != name)
        .collect();
    if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_never_shown() {
        let t = PgTarget::new("postgres://ops:s3cret@db.example.com:5432/timcast?sslmode=require");
        assert_eq!(
            t.redacted(),
            "postgres://ops@db.example.com:5432/timcast?sslmode=require"
        );
        assert!(!format!("{t:?} {t}").contains("s3cret"));
        assert_eq!(
            without_password("postgresql://u:p@h/db?password=x&a=b"),
            "postgresql://u@h/db?password=***&a=b"
        );
    }

    #[test]
    fn the_schema_comes_from_the_url_and_is_not_passed_to_the_server() {
        let t = PgTarget::new("postgres://u@127.0.0.1:5/db?schema=team_a&sslmode=disable");
        assert_eq!(t.schema(), "team_a");
        assert_eq!(
            without_query_param("postgres://u@h/db?schema=a&sslmode=disable", "schema"),
            "postgres://u@h/db?sslmode=disable"
        );
        assert_eq!(PgTarget::new("postgres://u@h/db").schema(), DEFAULT_SCHEMA);
        assert_eq!(
            PgTarget::new("postgres://u@h/db")
                .with_schema("timcast_sandbox")
                .redacted(),
            "postgres://u@h/db?schema=timcast_sandbox"
        );
    }

    #[test]
    fn plain_connections_are_refused_off_loopback() {
        let t = PgTarget::new("postgres://u@db.example.com/db?sslmode=disable");
        let error = t.config().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("sslmode=disable is refused"), "{error}");
        let (config, loopback) = PgTarget::new("postgres://u@db.example.com/db")
            .config()
            .unwrap();
        assert!(!loopback);
        assert_eq!(config.get_ssl_mode(), SslMode::Require);
        let (_, loopback) = PgTarget::new("postgres://u@127.0.0.1:1/db")
            .config()
            .unwrap();
        assert!(loopback);
    }
}
