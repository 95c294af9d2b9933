//! The HTTP client of the REST API: one shared reqwest client (rustls, timeouts set), the
//! common query string, and the mapping of every failure to a [`ClientError`] the executor can
//! act on — in particular whether a failed call may nevertheless have taken effect.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::codes::{ErrorClass, classify, describe};
use super::settings::{BaseUrl, Connection, Credentials};
use super::types::*;
use super::usersig::{DEFAULT_EXPIRE_SECS, UserSigCache};

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
    /// An HTTP status other than 200 and 5xx: 429 (throttled) or a wrong URL / proxy.
    #[error("{endpoint} answered HTTP {status}")]
    HttpStatus { endpoint: Endpoint, status: u16 },
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
            ClientError::LostReply { .. } | ClientError::BadResponse { .. }
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

/// The typed call of each endpoint: `name(Request) -> Response = Endpoint;`, each a method
/// that sends the request to that endpoint with [`ImClient::call`].
macro_rules! endpoint_methods {
    ($($(#[$doc:meta])* $name:ident($req:ty) -> $reply:ty = $endpoint:ident;)*) => {$(
        $(#[$doc])*
        pub async fn $name(&self, req: &$req) -> Result<$reply, ClientError> {
            self.call(Endpoint::$endpoint, req).await
        }
    )*};
}

impl ImClient {
    /// Builds the client.
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .pool_idle_timeout(Duration::from_secs(50))
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
        match self.call_once(endpoint, &bytes).await {
            Err(ClientError::Api {
                class: ErrorClass::RenewUserSig,
                ..
            }) => {
                self.renew_usersig();
                match self.call_once(endpoint, &bytes).await {
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

    async fn call_once<Resp>(&self, endpoint: Endpoint, body: &[u8]) -> Result<Resp, ClientError>
    where
        Resp: DeserializeOwned + Reply,
    {
        let inner = &self.inner;
        let url = format!(
            "{}?sdkappid={}&identifier={}&usersig={}&random={}&contenttype=json",
            inner.base_url.endpoint_url(endpoint.path()),
            inner.sdkappid,
            percent_encode(&inner.admin),
            percent_encode(&inner.usersig.get()),
            rand::random::<u32>(),
        );
        let response = inner
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| transport_error(endpoint, e))?;
        let status = response.status().as_u16();
        if status >= 500 {
            return Err(ClientError::LostReply {
                endpoint,
                reason: format!("HTTP {status}"),
            });
        }
        if status != 200 {
            return Err(ClientError::HttpStatus { endpoint, status });
        }
        let bytes = response.bytes().await.map_err(|e| ClientError::LostReply {
            endpoint,
            reason: format!("reading the reply failed: {}", error_text(e)),
        })?;
        let reply: Resp = serde_json::from_slice(&bytes).map_err(|e| ClientError::BadResponse {
            endpoint,
            detail: e.to_string(),
        })?;
        let envelope = reply.envelope();
        if envelope.error_code != 0 {
            let code = envelope.error_code;
            let info = if envelope.error_info.is_empty() {
                describe(code)
                    .unwrap_or("undocumented error code")
                    .to_owned()
            } else {
                envelope.error_info.clone()
            };
            return Err(ClientError::Api {
                endpoint,
                code,
                info,
                class: classify(code),
            });
        }
        if envelope.action_status != "OK" {
            return Err(ClientError::BadResponse {
                endpoint,
                detail: format!("ActionStatus {:?} with ErrorCode 0", envelope.action_status),
            });
        }
        Ok(reply)
    }

    endpoint_methods! {
        /// `openim/sendmsg`.
        send_msg(SendMsgRequest) -> SendMsgResponse = SendMsg;
        /// `openim/batchsendmsg`. Partial failures come back in `ErrorList`; split them with
        /// [`crate::im::batch_outcomes`].
        batch_send_msg(BatchSendMsgRequest) -> BatchSendMsgResponse = BatchSendMsg;
        /// `send_official_account_msg`.
        send_official_account_msg(SendOfficialAccountMsgRequest)
            -> SendOfficialAccountMsgResponse = SendOfficialAccountMsg;
        /// `official_account_msg_recall`.
        official_account_msg_recall(OfficialAccountMsgRecallRequest)
            -> OfficialAccountMsgRecallResponse = OfficialAccountMsgRecall;
        /// `get_official_account_info`.
        get_official_account_info(GetOfficialAccountInfoRequest)
            -> GetOfficialAccountInfoResponse = GetOfficialAccountInfo;
        /// `send_stream_msg`: one chunk.
        send_stream_msg(SendStreamMsgRequest) -> SendStreamMsgResponse = SendStreamMsg;
        /// `admin_msgwithdraw`. 20023 (already recalled) counts as done for the caller.
        admin_msg_withdraw(MsgWithdrawRequest) -> MsgWithdrawResponse = AdminMsgWithdraw;
        /// `account_check`: up to 100 UserIDs.
        account_check(AccountCheckRequest) -> AccountCheckResponse = AccountCheck;
    }

    /// `get_all_robots`.
    pub async fn get_all_robots(&self) -> Result<GetAllRobotsResponse, ClientError> {
        self.call(Endpoint::GetAllRobots, &GetAllRobotsRequest {})
            .await
    }
}

fn transport_error(endpoint: Endpoint, err: reqwest::Error) -> ClientError {
    // Connect errors (refused, DNS, TLS, connect timeout) happen before a byte of the request
    // is written; anything later may have reached the server.
    if err.is_connect() {
        ClientError::NotSent {
            endpoint,
            reason: error_text(err),
        }
    } else {
        let reason = if err.is_timeout() {
            format!("timed out: {}", error_text(err))
        } else {
            error_text(err)
        };
        ClientError::LostReply { endpoint, reason }
    }
}

/// The error and its causes, without the URL: the query string carries the admin's UserSig.
fn error_text(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Percent-encodes a query value. `*` stays as is: UserSigs use it and the references send it raw.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'*') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(percent_encode("administrator"), "administrator");
        assert_eq!(percent_encode("@RBT#a b"), "%40RBT%23a%20b");
        assert_eq!(percent_encode("eJy*-_"), "eJy*-_");
    }

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
