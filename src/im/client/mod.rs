//! The HTTP client of the REST API: one shared reqwest client (rustls, timeouts set), the
//! common query string, and the mapping of every failure to a [`ClientError`] the executor can
//! act on — in particular whether a failed call may nevertheless have taken effect.
//!
//! The client itself is here; `transport` sends one request, `reply` reads the answer and
//! `endpoints` gives each endpoint its typed method.

mod endpoints;
mod reply;
mod transport;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::codes::ErrorClass;
use super::settings::{BaseUrl, Connection, Credentials};
use super::types::*;
use super::usersig::{DEFAULT_EXPIRE_SECS, UserSigCache};

pub use reply::read_reply;
pub(crate) use transport::error_text;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The request never left: connection refused, DNS, TLS handshake. Safe to resend.
    #[error("could not reach {endpoint}; the request was not sent: {reason}")]
    NotSent { endpoint: Endpoint, reason: String },
    /// The request may have been sent and acted on, but no usable reply came back: timeout,
    /// connection reset, HTTP 5xx (e.g. 502). The send is *uncertain*.
    #[error("no reply from {endpoint}; the request may have taken effect: {reason}")]
    LostReply { endpoint: Endpoint, reason: String },
    /// An HTTP status other than 200, 3xx and 5xx: 429 (throttled) or a wrong URL / proxy.
    #[error("{endpoint} answered HTTP {status}")]
    HttpStatus { endpoint: Endpoint, status: u16 },
    /// A redirect. timcast never follows one: the API does not redirect, and following a POST
    /// to another host would hand it the admin's UserSig. The call may have taken effect.
    #[error(
        "{endpoint} answered HTTP {status}, a redirect{}, which timcast does not follow (the API never redirects: check the base URL and any proxy); the request may have taken effect",
        location.as_deref().map(|l| format!(" to {l:?}")).unwrap_or_default()
    )]
    Redirect {
        endpoint: Endpoint,
        status: u16,
        location: Option<String>,
    },
    /// The API refused the call with a non-zero `ErrorCode`.
    #[error("{endpoint} failed with error {code} ({class}): {info}")]
    Api {
        endpoint: Endpoint,
        code: i64,
        info: String,
        class: ErrorClass,
    },
    /// HTTP 200 with a body that is not a reply of this endpoint. The call may have taken effect.
    #[error("{endpoint} sent a reply timcast cannot read: {detail}")]
    BadResponse { endpoint: Endpoint, detail: String },
    /// The request could not be encoded (a bug, never the server's fault).
    #[error("cannot encode the {endpoint} request: {detail}")]
    InvalidRequest { endpoint: Endpoint, detail: String },
    /// The HTTP client could not be built.
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
}

impl ClientError {
    /// What the executor should do about it.
    pub fn class(&self) -> ErrorClass {
        match self {
            ClientError::NotSent { .. }
            | ClientError::LostReply { .. }
            | ClientError::Redirect { .. }
            | ClientError::BadResponse { .. } => ErrorClass::Retry,
            ClientError::HttpStatus { status: 429, .. } => ErrorClass::RateLimited,
            ClientError::HttpStatus { .. } => ErrorClass::FatalRun,
            ClientError::Api { class, .. } => *class,
            ClientError::InvalidRequest { .. } => ErrorClass::PermanentRequest,
            ClientError::Setup(_) => ErrorClass::FatalRun,
        }
    }

    /// Whether the call may have taken effect although it failed: resending it could deliver
    /// a message twice unless the server's dedup window covers it.
    pub fn is_uncertain(&self) -> bool {
        matches!(
            self,
            ClientError::LostReply { .. }
                | ClientError::Redirect { .. }
                | ClientError::BadResponse { .. }
        )
    }

    /// The API's error code, when the API answered.
    pub fn code(&self) -> Option<i64> {
        match self {
            ClientError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// How to reach the API and how long to wait.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub base_url: BaseUrl,
    pub credentials: Credentials,
    /// Longest wait for a TCP + TLS connection.
    pub connect_timeout: Duration,
    /// Longest wait for a whole call. The docs report ~2 s at worst for one sendmsg.
    pub timeout: Duration,
    /// Validity of each admin UserSig the client signs, in seconds.
    pub usersig_validity: u64,
}

impl ClientConfig {
    /// Defaults: 5 s to connect, 30 s per call, 180-day UserSigs.
    pub fn new(connection: Connection) -> Self {
        ClientConfig {
            base_url: connection.base_url,
            credentials: connection.credentials,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            usersig_validity: DEFAULT_EXPIRE_SECS,
        }
    }
}

/// The REST client. Cheap to clone; clones share the connection pool and the UserSig.
#[derive(Debug, Clone)]
pub struct ImClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    base_url: BaseUrl,
    sdkappid: u64,
    admin: String,
    usersig: UserSigCache,
}

impl ImClient {
    /// Builds the client.
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .pool_idle_timeout(Duration::from_secs(50))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("timcast/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Setup(error_text(e)))?;
        let usersig = UserSigCache::new(
            config.credentials.secret.clone(),
            config.credentials.sdkappid,
            config.credentials.admin.clone(),
            config.usersig_validity,
        );
        Ok(ImClient {
            inner: Arc::new(Inner {
                http,
                base_url: config.base_url,
                sdkappid: config.credentials.sdkappid,
                admin: config.credentials.admin,
                usersig,
            }),
        })
    }

    /// The app this client calls for.
    pub fn sdkappid(&self) -> u64 {
        self.inner.sdkappid
    }

    /// A client with the default timeouts for resolved connection settings
    /// (see [`crate::im::ConnectionArgs::resolve`]).
    pub fn from_connection(connection: Connection) -> Result<Self, ClientError> {
        ImClient::new(ClientConfig::new(connection))
    }

    /// The base URL calls go to.
    pub fn base_url(&self) -> &BaseUrl {
        &self.inner.base_url
    }

    /// Signs a fresh admin UserSig for the next call (the client does this itself after
    /// 70001 / 70052).
    pub fn renew_usersig(&self) {
        self.inner.usersig.invalidate();
    }

    /// Calls `endpoint` with `body`. On 70001 / 70052 it signs a new UserSig and retries once,
    /// which is safe because the server refused the first call before acting on it; if the
    /// retry is refused the same way, the error is fatal for the run.
    pub async fn call<Req, Resp>(&self, endpoint: Endpoint, body: &Req) -> Result<Resp, ClientError>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned + Reply,
    {
        let bytes = serde_json::to_vec(body).map_err(|e| ClientError::InvalidRequest {
            endpoint,
            detail: e.to_string(),
        })?;
        // Only the endpoint and the outcome are logged: the URL's query carries the UserSig.
        let span = tracing::debug_span!("call", endpoint = %endpoint);
        let started = std::time::Instant::now();
        let result =
            tracing::Instrument::instrument(self.call_with_renewal(endpoint, &bytes), span.clone())
                .await;
        let _entered = span.enter();
        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match &result {
            Ok(_) => tracing::debug!(ms, outcome = "ok", "call {endpoint}: ok in {ms} ms"),
            Err(e) => tracing::debug!(ms, outcome = "error", "call {endpoint}: {e} after {ms} ms"),
        }
        result
    }

    /// One call, and once more with a new UserSig after 70001 / 70052.
    async fn call_with_renewal<Resp>(
        &self,
        endpoint: Endpoint,
        bytes: &[u8],
    ) -> Result<Resp, ClientError>
    where
        Resp: DeserializeOwned + Reply,
    {
        match self.call_once(endpoint, bytes).await {
            Err(ClientError::Api {
                class: ErrorClass::RenewUserSig,
                ..
            }) => {
                self.renew_usersig();
                match self.call_once(endpoint, bytes).await {
                    Err(ClientError::Api {
                        endpoint,
                        code,
                        info,
                        class: ErrorClass::RenewUserSig,
                    }) => Err(ClientError::Api {
                        endpoint,
                        code,
                        info: format!("{info} (again after signing a new UserSig)"),
                        class: ErrorClass::FatalRun,
                    }),
                    other => other,
                }
            }
            other => other,
        }
    }

    /// The App admin the client signs as (the sender of messages sent without `From_Account`).
    pub fn admin(&self) -> &str {
        &self.inner.admin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncertain_errors_are_the_lost_replies() {
        let lost = ClientError::LostReply {
            endpoint: Endpoint::SendMsg,
            reason: "HTTP 502".into(),
        };
        assert!(lost.is_uncertain());
        assert_eq!(lost.class(), ErrorClass::Retry);
        let not_sent = ClientError::NotSent {
            endpoint: Endpoint::SendMsg,
            reason: "refused".into(),
        };
        assert!(!not_sent.is_uncertain());
        assert_eq!(
            ClientError::HttpStatus {
                endpoint: Endpoint::SendMsg,
                status: 429
            }
            .class(),
            ErrorClass::RateLimited
        );
    }
}
