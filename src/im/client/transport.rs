//! Sending one request: the common query string (signed as the admin), the POST, and the
//! mapping of transport failures to "not sent" or "may have taken effect".

use serde::de::DeserializeOwned;

use super::{ClientError, ImClient, read_reply};
use crate::im::types::*;

impl ImClient {
    pub(super) async fn call_once<Resp>(
        &self,
        endpoint: Endpoint,
        body: &[u8],
    ) -> Result<Resp, ClientError>
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
pub(crate) fn error_text(err: reqwest::Error) -> String {
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
}
