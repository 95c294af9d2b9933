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
        let location = response.headers().get(reqwest::header::LOCATION).map(|l| {
            String::from_utf8_lossy(l.as_bytes())
                .chars()
                .take(200)
                .collect()
        });
        if status == 200 {
            let bytes = response.bytes().await.map_err(|e| ClientError::LostReply {
                endpoint,
                reason: format!("reading the reply failed: {}", error_text(e)),
            })?;
            read_reply(endpoint, 200, None, &bytes)
        } else {
            read_reply(endpoint, status, location, &[])
        }
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
        /// `admin_getroammsg`: one page of a one-to-one conversation's history; see
        /// [`ImClient::roam_history`] for all of it.
        admin_get_roam_msg(GetRoamMsgRequest) -> GetRoamMsgResponse = AdminGetRoamMsg;
    }

    /// Every message of the conversation `first` asks for, newest first: pages fetched with
    /// `MaxTime` / `LastMsgKey` until `Complete` (at most `max_pages`, so a server that never
    /// completes cannot keep the caller forever). Without retries or pacing: callers that need
    /// them page with [`GetRoamMsgRequest::next_page`] themselves.
    pub async fn roam_history(
        &self,
        first: GetRoamMsgRequest,
        max_pages: usize,
    ) -> Result<Vec<RoamMsg>, ClientError> {
        let mut messages = Vec::new();
        let mut request = first;
        for _ in 0..max_pages.max(1) {
            let reply = self.admin_get_roam_msg(&request).await?;
            let complete = reply.is_complete();
            let next = request.next_page(&reply);
            messages.extend(reply.msg_list);
            match next {
                Some(next) => request = next,
                None if complete => return Ok(messages),
                None => {
                    return Err(ClientError::BadResponse {
                        endpoint: Endpoint::AdminGetRoamMsg,
                        detail: "the history is not complete but its next page would be the same"
                            .to_owned(),
                    });
                }
            }
        }
        Err(ClientError::BadResponse {
            endpoint: Endpoint::AdminGetRoamMsg,
            detail: format!(
                "the history was not complete after {} pages",
                max_pages.max(1)
            ),
        })
    }

    /// The App admin the client signs as (the sender of messages sent without `From_Account`).
    pub fn admin(&self) -> &str {
        &self.inner.admin
    }

    /// `get_official_account_info` for any number of accounts: one call per
    /// [`MAX_OFFICIAL_ACCOUNT_INFO_IDS`], the details of every call in order.
    pub async fn official_account_infos(
        &self,
        accounts: &[String],
        filter: Option<&ResponseFilter>,
    ) -> Result<Vec<OfficialAccountInfo>, ClientError> {
        let mut infos = Vec::with_capacity(accounts.len());
        for request in GetOfficialAccountInfoRequest::chunks(accounts, filter) {
            let reply = self.get_official_account_info(&request).await?;
            infos.extend(reply.official_account_info_list);
        }
        Ok(infos)
    }

    /// `get_all_robots`.
    pub async fn get_all_robots(&self) -> Result<GetAllRobotsResponse, ClientError> {
        self.call(Endpoint::GetAllRobots, &GetAllRobotsRequest {})
            .await
    }
}

/// What an answer with `status` and `body` means: the reply, or the error the executor acts on.
/// Any bytes at all give one of the two, never a panic (a property test holds it to that).
pub fn read_reply<Resp>(
    endpoint: Endpoint,
    status: u16,
    location: Option<String>,
    body: &[u8],
) -> Result<Resp, ClientError>
where
    Resp: DeserializeOwned + Reply,
{
    match status {
        200 => {}
        300..=399 => {
            return Err(ClientError::Redirect {
                endpoint,
                status,
                location,
            });
        }
        500.. => {
            return Err(ClientError::LostReply {
                endpoint,
                reason: format!("HTTP {status}"),
            });
        }
        _ => return Err(ClientError::HttpStatus { endpoint, status }),
    }
    let bad = |detail: String| ClientError::BadResponse { endpoint, detail };
    let reply: Resp = serde_json::from_slice(body).map_err(|e| bad(unreadable(body, &e)))?;
    let envelope = reply.envelope();
    if envelope.error_code != 0 {
        let code = envelope.error_code;
        let info = if envelope.error_info.is_empty() {
            describe(code)
                .unwrap_or("undocumented error code")
                .to_owned()
        } else {
            envelope.error_info.chars().take(500).collect()
        };
        return Err(ClientError::Api {
            endpoint,
            code,
            info,
            class: classify(code),
        });
    }
    if envelope.action_status != "OK"
        && !Resp::authoritative_field().is_some_and(|f| has_key(body, f))
    {
        return Err(bad(format!(
            "ActionStatus {:?} with ErrorCode 0{}",
            envelope.action_status.chars().take(40).collect::<String>(),
            Resp::authoritative_field()
                .map(|f| format!(" and no {f}"))
                .unwrap_or_default()
        )));
    }
    if let Some(problem) = reply.malformed() {
        return Err(bad(problem));
    }
    Ok(reply)
}

/// Whether `body`, a JSON object, has the top-level key `key`.
fn has_key(body: &[u8], key: &str) -> bool {
    matches!(
        serde_json::from_slice::<serde_json::Value>(body),
        Ok(serde_json::Value::Object(map)) if map.contains_key(key)
    )
}

/// What a body that is not this endpoint's reply was, in words.
fn unreadable(body: &[u8], err: &serde_json::Error) -> String {
    let trimmed = body.trim_ascii_start();
    if trimmed.is_empty() {
        "an empty body".to_owned()
    } else if std::str::from_utf8(body).is_err() {
        format!("{} bytes that are not UTF-8 text", body.len())
    } else if trimmed.starts_with(b"<") {
        "an HTML or XML page, not JSON".to_owned()
    } else if err.is_eof() {
        format!("JSON cut short after {} bytes", body.len())
    } else {
        // serde quotes the offending value whole, which a hostile server can make huge.
        let mut text: String = err.to_string().chars().take(300).collect();
        if text.len() < err.to_string().len() {
            text.push('…');
        }
        format!("not a reply of this API: {text}")
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

    fn read(body: &str) -> Result<SendMsgResponse, ClientError> {
        read_reply(Endpoint::SendMsg, 200, None, body.as_bytes())
    }

    fn bad_detail(result: Result<SendMsgResponse, ClientError>) -> String {
        match result {
            Err(e @ ClientError::BadResponse { .. }) => {
                assert!(e.is_uncertain(), "a malformed reply is uncertain: {e}");
                e.to_string()
            }
            other => panic!("expected an unreadable reply, got {other:?}"),
        }
    }

    #[test]
    fn a_success_is_read_when_well_formed() {
        let ok = read(
            r#"{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","MsgTime":1497249503,"MsgKey":"89541_1_1572870301"}"#,
        );
        assert_eq!(
            ok.map(|r| r.msg_key).ok().flatten().as_deref(),
            Some("89541_1_1572870301")
        );
    }

    #[test]
    fn a_batch_error_list_stands_whatever_action_status_says() {
        let batch = |body: &str| {
            read_reply::<BatchSendMsgResponse>(Endpoint::BatchSendMsg, 200, None, body.as_bytes())
        };
        // ErrorCode 0 and an ErrorList: the list says who did not get it, the rest did.
        let reply = batch(
            r#"{"ActionStatus":"FAIL","ErrorCode":0,"ErrorInfo":"","MsgKey":"128493_903762_1572870301","ErrorList":[{"To_Account":"rong","ErrorCode":70107}]}"#,
        )
        .unwrap();
        assert_eq!(reply.error_list.len(), 1);
        let reply =
            batch(r#"{"ActionStatus":"PARTIAL","ErrorCode":0,"MsgKey":"1_2_3","ErrorList":[]}"#)
                .unwrap();
        assert!(reply.error_list.is_empty());
        // Without the list, who got it cannot be told: uncertain, not a failure to resend.
        match batch(r#"{"ActionStatus":"FAIL","ErrorCode":0,"MsgKey":"1_2_3"}"#) {
            Err(e @ ClientError::BadResponse { .. }) => {
                assert!(e.is_uncertain());
                assert!(e.to_string().contains("and no ErrorList"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        // The list does not excuse a broken MsgKey, nor does it help another endpoint.
        assert!(matches!(
            batch(r#"{"ActionStatus":"FAIL","ErrorCode":0,"MsgKey":"x;y","ErrorList":[]}"#),
            Err(ClientError::BadResponse { .. })
        ));
        assert!(matches!(
            read(r#"{"ActionStatus":"FAIL","ErrorCode":0,"MsgKey":"1_2_3","ErrorList":[]}"#),
            Err(ClientError::BadResponse { .. })
        ));
    }

    #[test]
    fn a_malformed_success_is_unreadable_and_says_what_was_wrong() {
        let long_key = format!(
            r#"{{"ActionStatus":"OK","ErrorCode":0,"MsgTime":1497249503,"MsgKey":"{}"}}"#,
            "1".repeat(100_000)
        );
        let detail = bad_detail(read(&long_key));
        assert!(detail.contains("100000 bytes long"), "{detail}");
        assert!(detail.len() < 300, "the text stays short: {}", detail.len());
        for (body, says) in [
            (
                r#"{"ActionStatus":"OK","ErrorCode":0,"MsgKey":""}"#,
                "MsgKey is empty",
            ),
            (
                r#"{"ActionStatus":"OK","ErrorCode":0,"MsgKey":"12;DROP"}"#,
                "not digits and underscores",
            ),
            (
                r#"{"ActionStatus":"OK","ErrorCode":0,"MsgTime":99999999999999,"MsgKey":"1_2_3"}"#,
                "not a plausible Unix time",
            ),
            (
                r#"{"ActionStatus":"OK","ErrorCode":0,"MsgTime":"yesterday","MsgKey":"1_2_3"}"#,
                "not a reply of this API",
            ),
            (
                r#"{"ActionStatus":"OK","ErrorCode":"0"}"#,
                "not a reply of this API",
            ),
            (
                r#"{"ActionStatus":"OK","ErrorCode":0,"MsgKey":5}"#,
                "not a reply of this API",
            ),
            (
                r#"{"ActionStatus":"OK","ErrorCode":9223372036854775808}"#,
                "not a reply of this API",
            ),
            (
                r#"{"ActionStatus":"FAIL","ErrorCode":0}"#,
                "ActionStatus \"FAIL\" with ErrorCode 0",
            ),
            (
                r#"{"ActionStatus":"OK","ErrorCode":0,"MsgKey":"1_2"#,
                "cut short",
            ),
            ("<html><body>502 Bad Gateway</body></html>", "HTML"),
            ("", "an empty body"),
            ("[]", "not a reply of this API"),
            ("{}", "ActionStatus \"\" with ErrorCode 0"),
        ] {
            let detail = bad_detail(read(body));
            assert!(detail.contains(says), "{body}: {detail}");
        }
        let bytes = [0xff, 0xfe, b'{', 0x80];
        let detail = bad_detail(read_reply(Endpoint::SendMsg, 200, None, &bytes));
        assert!(detail.contains("not UTF-8"), "{detail}");
    }

    #[test]
    fn an_undocumented_code_is_a_failure_of_unknown_class() {
        match read(r#"{"ActionStatus":"FAIL","ErrorCode":-1,"ErrorInfo":""}"#) {
            Err(e @ ClientError::Api { .. }) => {
                assert_eq!(e.class(), ErrorClass::Unknown);
                assert!(!e.is_uncertain());
                assert!(e.to_string().contains("undocumented error code"), "{e}");
            }
            other => panic!("expected an API error, got {other:?}"),
        }
    }

    #[test]
    fn a_redirect_is_not_followed_and_leaves_the_send_uncertain() {
        let e = read_reply::<SendMsgResponse>(
            Endpoint::SendMsg,
            302,
            Some("http://example.invalid/v4/openim/sendmsg".into()),
            &[],
        )
        .expect_err("a redirect is no reply");
        assert!(e.is_uncertain());
        let text = e.to_string();
        assert!(text.contains("does not follow"), "{text}");
        assert!(text.contains("example.invalid"), "{text}");
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_give_a_reply_or_an_error_never_a_panic(
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..400),
            status in 100u16..600,
        ) {
            let _ = read_reply::<SendMsgResponse>(Endpoint::SendMsg, status, None, &body);
            let _ = read_reply::<BatchSendMsgResponse>(Endpoint::BatchSendMsg, status, None, &body);
        }

        #[test]
        fn any_success_json_that_is_read_is_well_formed(
            key in proptest::option::of(".{0,200}"),
            time in proptest::option::of(proptest::num::u64::ANY),
            code in proptest::num::i64::ANY,
        ) {
            let mut body = serde_json::json!({"ActionStatus": "OK", "ErrorCode": code});
            if let Some(key) = &key { body["MsgKey"] = key.clone().into(); }
            if let Some(time) = time { body["MsgTime"] = time.into(); }
            let bytes = serde_json::to_vec(&body).unwrap_or_default();
            if let Ok(reply) = read_reply::<SendMsgResponse>(Endpoint::SendMsg, 200, None, &bytes) {
                proptest::prop_assert_eq!(code, 0);
                proptest::prop_assert!(sent_fields_problem(reply.msg_key.as_deref(), reply.msg_time).is_none());
            }
        }
    }
}
