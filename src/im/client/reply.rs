//! Reading an answer: the HTTP status and body of one call turned into its reply or the
//! [`ClientError`] the executor acts on.

use serde::de::DeserializeOwned;

use super::ClientError;
use crate::im::codes::{classify, describe};
use crate::im::types::*;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::im::codes::ErrorClass;

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
