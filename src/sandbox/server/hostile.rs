//! Hostile replies (`Faults::hostile_rate`, `timcast sandbox --hostile-rate`).
//!
//! The API documents only well-formed answers, but between the client and the service sit
//! proxies, load balancers and networks that cut replies short, answer with an HTML page, redirect
//! elsewhere or stall, and the service itself can answer with types and codes its documents
//! never show. A client that trusts every reply can panic, hang, follow the UserSig to another
//! host, or record a send as refused when it went out. These replies let the tests (and anyone
//! pointing a client at the sandbox) prove it does none of that. On the wire a broken reply
//! says nothing about whether the message went out, so half of them follow a call that really
//! took effect.

use serde_json::{Map, Value, json};

use crate::im::Endpoint;

use super::{Answer, ok_reply};

/// The length of the `long_msg_key` kind's MsgKey: far beyond anything a journal column or a
/// log line expects.
pub(super) const LONG_MSG_KEY_CHARS: usize = 100_000;

/// The recipient the `foreign_error_list` kind blames (made unique against the call).
const FOREIGN_RECIPIENT: &str = "not-in-this-call";

/// One way of answering badly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hostile {
    /// A valid success reply cut in the middle.
    TruncatedJson,
    /// `"ErrorCode": "0"`.
    ErrorCodeString,
    /// `"MsgKey": 5`.
    MsgKeyNumber,
    /// `"MsgTime": "yesterday"`.
    MsgTimeString,
    /// `"ErrorCode": 9223372036854775808` (2^63, not an i64) with ActionStatus OK.
    OutOfRangeCode,
    /// ActionStatus FAIL with `"ErrorCode": -1`; the only kind that never takes effect.
    UndocumentedCode,
    /// A success whose MsgKey is 100,000 characters long.
    LongMsgKey,
    /// A success whose MsgTime is 99999999999999 or -5.
    ImplausibleMsgTime,
    /// A proxy's HTML error page, with status 200.
    HtmlPage,
    /// Bytes that are not UTF-8, with status 200.
    NonUtf8,
    /// An empty 200.
    EmptyBody,
    /// `[]` or `[{"ActionStatus":"OK"}]`.
    JsonArray,
    /// A 302 to another host.
    Redirect,
    /// Part of a success reply, then the connection breaks.
    ClosedConnection,
    /// A success reply, 4 bytes every 300 ms (see `streamed.rs`).
    Drip,
    /// ActionStatus FAIL with ErrorCode 0. A batch's `ErrorList` is authoritative even then
    /// (it names who did not get the message), so this answer carries one only when the call
    /// took effect and the real reply had it; a call that did not take effect gets none and
    /// stays a reply the client cannot read.
    FailWithZeroCode,
    /// A batch success whose ErrorList names a recipient the call did not have.
    ForeignErrorList,
    /// `{}`.
    EmptyObject,
}

impl Hostile {
    pub(crate) const ALL: [Hostile; 18] = [
        Hostile::TruncatedJson,
        Hostile::ErrorCodeString,
        Hostile::MsgKeyNumber,
        Hostile::MsgTimeString,
        Hostile::OutOfRangeCode,
        Hostile::UndocumentedCode,
        Hostile::LongMsgKey,
        Hostile::ImplausibleMsgTime,
        Hostile::HtmlPage,
        Hostile::NonUtf8,
        Hostile::EmptyBody,
        Hostile::JsonArray,
        Hostile::Redirect,
        Hostile::ClosedConnection,
        Hostile::Drip,
        Hostile::FailWithZeroCode,
        Hostile::ForeignErrorList,
        Hostile::EmptyObject,
    ];

    /// The name in the answer log.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Hostile::TruncatedJson => "truncated_json",
            Hostile::ErrorCodeString => "error_code_string",
            Hostile::MsgKeyNumber => "msg_key_number",
            Hostile::MsgTimeString => "msg_time_string",
            Hostile::OutOfRangeCode => "out_of_range_code",
            Hostile::UndocumentedCode => "undocumented_code",
            Hostile::LongMsgKey => "long_msg_key",
            Hostile::ImplausibleMsgTime => "implausible_msg_time",
            Hostile::HtmlPage => "html_page",
            Hostile::NonUtf8 => "non_utf8",
            Hostile::EmptyBody => "empty_body",
            Hostile::JsonArray => "json_array",
            Hostile::Redirect => "redirect",
            Hostile::ClosedConnection => "closed_connection",
            Hostile::Drip => "drip",
            Hostile::FailWithZeroCode => "fail_with_zero_code",
            Hostile::ForeignErrorList => "foreign_error_list",
            Hostile::EmptyObject => "empty_object",
        }
    }

    /// Whether the call may take effect before this answer: an explicit refusal code says it
    /// did not, however odd the code, so the sandbox keeps its word.
    pub(crate) fn may_take_effect(self) -> bool {
        self != Hostile::UndocumentedCode
    }

    /// Whether this kind makes sense for `endpoint`: a field can only have the wrong type on
    /// a reply that carries it.
    fn fits(self, endpoint: Endpoint) -> bool {
        match self {
            Hostile::MsgKeyNumber | Hostile::LongMsgKey => has_msg_key(endpoint),
            Hostile::MsgTimeString | Hostile::ImplausibleMsgTime => has_msg_time(endpoint),
            Hostile::ForeignErrorList => endpoint == Endpoint::BatchSendMsg,
            _ => true,
        }
    }

    /// The kind for draw `r` among those that fit `endpoint`, uniformly.
    pub(crate) fn pick(endpoint: Endpoint, r: u64) -> Hostile {
        let fitting: Vec<Hostile> = Hostile::ALL
            .into_iter()
            .filter(|k| k.fits(endpoint))
            .collect();
        let len = fitting.len().max(1) as u64;
        let i = usize::try_from(r % len).unwrap_or(0);
        fitting.get(i).copied().unwrap_or(Hostile::EmptyObject)
    }
}

/// Which calls may be answered badly: those whose effect a client must get right. Lookups
/// (robots, official account info, account_check) answer normally so `plan --online` works.
pub(crate) fn applies_to(endpoint: Endpoint) -> bool {
    matches!(
        endpoint,
        Endpoint::SendMsg
            | Endpoint::BatchSendMsg
            | Endpoint::SendOfficialAccountMsg
            | Endpoint::SendStreamMsg
            | Endpoint::AdminMsgWithdraw
            | Endpoint::OfficialAccountMsgRecall
    )
}

fn has_msg_key(endpoint: Endpoint) -> bool {
    matches!(
        endpoint,
        Endpoint::SendMsg
            | Endpoint::BatchSendMsg
            | Endpoint::SendOfficialAccountMsg
            | Endpoint::SendStreamMsg
    )
}

fn has_msg_time(endpoint: Endpoint) -> bool {
    matches!(
        endpoint,
        Endpoint::SendMsg | Endpoint::SendOfficialAccountMsg
    )
}

/// A plausible success reply for a call that did not take effect, so the broken reply still
/// looks like it came from a send. Its MsgKey has sequence 0, which no real send gets, so a
/// recall of it is refused rather than hitting another message.
pub(super) fn fabricated_success(
    endpoint: Endpoint,
    now_ms: u64,
    variant: u64,
) -> Map<String, Value> {
    let mut reply = ok_reply();
    let msg_time = now_ms / 1000;
    let random = variant as u32;
    if has_msg_key(endpoint) {
        reply.insert("MsgKey".into(), format!("0_{random}_{msg_time}").into());
    }
    if has_msg_time(endpoint) {
        reply.insert("MsgTime".into(), msg_time.into());
    }
    reply
}

fn json_bytes(value: &Value) -> Answer {
    Answer::Bytes {
        content_type: "application/json",
        body: value.to_string().into_bytes(),
    }
}

/// The broken answer of `kind` to a call of `endpoint` whose body was `call`, made from the
/// `success` reply it would (or did) get. `variant` picks among a kind's variants and where
/// truncated replies are cut, so a seed reproduces the exact bytes.
pub(super) fn reply(
    kind: Hostile,
    endpoint: Endpoint,
    success: Map<String, Value>,
    call: &Value,
    variant: u64,
) -> Answer {
    let mut success = success;
    let text = Value::Object(success.clone()).to_string().into_bytes();
    match kind {
        Hostile::TruncatedJson => {
            // A proper prefix of an object is never valid JSON: its brace is never closed.
            let len = text.len().max(2) as u64;
            let cut = usize::try_from(1 + variant % (len - 1)).unwrap_or(1);
            Answer::Bytes {
                content_type: "application/json",
                body: text.get(..cut).unwrap_or_default().to_vec(),
            }
        }
        Hostile::ErrorCodeString => {
            success.insert("ErrorCode".into(), "0".into());
            json_bytes(&Value::Object(success))
        }
        Hostile::MsgKeyNumber => {
            success.insert("MsgKey".into(), 5.into());
            json_bytes(&Value::Object(success))
        }
        Hostile::MsgTimeString => {
            success.insert("MsgTime".into(), "yesterday".into());
            json_bytes(&Value::Object(success))
        }
        Hostile::OutOfRangeCode => {
            success.insert("ErrorCode".into(), (1u64 << 63).into());
            json_bytes(&Value::Object(success))
        }
        Hostile::UndocumentedCode => json_bytes(&json!({
            "ActionStatus": "FAIL",
            "ErrorCode": -1,
            "ErrorInfo": "unknown error",
        })),
        Hostile::LongMsgKey => {
            let mut key = success
                .get("MsgKey")
                .and_then(Value::as_str)
                .unwrap_or("0")
                .to_owned();
            key.push('_');
            while key.len() < LONG_MSG_KEY_CHARS {
                key.push('9');
            }
            key.truncate(LONG_MSG_KEY_CHARS);
            success.insert("MsgKey".into(), key.into());
            json_bytes(&Value::Object(success))
        }
        Hostile::ImplausibleMsgTime => {
            let time: i64 = if variant.is_multiple_of(2) {
                99_999_999_999_999
            } else {
                -5
            };
            success.insert("MsgTime".into(), time.into());
            json_bytes(&Value::Object(success))
        }
        Hostile::HtmlPage => Answer::Bytes {
            content_type: "text/html",
            body: b"<html><body>502 Bad Gateway</body></html>".to_vec(),
        },
        Hostile::NonUtf8 => {
            let mut body = br#"{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""#.to_vec();
            // A lone continuation byte, a truncated two-byte sequence and bytes UTF-8 never uses.
            body.extend_from_slice(&[0x80, 0xc3, 0x28, 0xfe, 0xff]);
            body.extend_from_slice(b"\"}");
            Answer::Bytes {
                content_type: "application/json",
                body,
            }
        }
        Hostile::EmptyBody => Answer::Bytes {
            content_type: "application/json",
            body: Vec::new(),
        },
        Hostile::JsonArray => {
            if variant.is_multiple_of(2) {
                json_bytes(&json!([]))
            } else {
                json_bytes(&json!([{"ActionStatus": "OK"}]))
            }
        }
        Hostile::Redirect => {
            Answer::Redirect(format!("http://example.invalid/v4/{}", endpoint.path()))
        }
        Hostile::ClosedConnection => {
            let half = (text.len() / 2).max(1);
            Answer::Cut(text.get(..half).unwrap_or_default().to_vec())
        }
        Hostile::Drip => Answer::Drip(text),
        Hostile::FailWithZeroCode => {
            // `success` is the real reply or a fabricated one, which never has an ErrorList
            // (see `fabricated_success`): the list, when there is one, tells the truth.
            success.insert("ActionStatus".into(), "FAIL".into());
            success.insert("ErrorCode".into(), 0.into());
            json_bytes(&Value::Object(success))
        }
        Hostile::ForeignErrorList => {
            let stranger = stranger_to(call);
            let entry = json!({"To_Account": stranger, "ErrorCode": 70107});
            match success.get_mut("ErrorList") {
                Some(Value::Array(list)) => list.push(entry),
                _ => {
                    success.insert("ErrorList".into(), Value::Array(vec![entry]));
                }
            }
            json_bytes(&Value::Object(success))
        }
        Hostile::EmptyObject => json_bytes(&json!({})),
    }
}

/// A recipient the call does not have.
fn stranger_to(call: &Value) -> String {
    let named: Vec<&str> = match call.get("To_Account") {
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) => vec![s.as_str()],
        _ => Vec::new(),
    };
    let mut stranger = FOREIGN_RECIPIENT.to_owned();
    while named.contains(&stranger.as_str()) {
        stranger.push('-');
    }
    stranger
}

#[cfg(test)]
mod tests;
