//! The sandbox's own reading of request bodies: raw JSON checked against what the documents
//! say, with the documented error codes. Deliberately independent of the client's types, so
//! that a mistake in the client (a wrong field name, a string where an integer belongs) shows
//! up as the error the real server would give.
//!
//! The shared readers of fields are here; the message body and its push fields are in
//! `message`, each family of endpoints has its own module.

mod account;
mod c2c;
mod message;
mod official;
mod robot;

use serde_json::{Map, Value};

pub(super) use account::account_check;
pub(super) use c2c::{C2cSend, batchsendmsg, roam_query, sendmsg, withdraw};
pub(super) use official::{official, official_filter, official_ids, official_recall};
pub(super) use robot::stream;

/// A refusal: error code and text.
pub(super) type Refusal = (i64, String);

fn refuse<T>(code: i64, text: impl Into<String>) -> Result<T, Refusal> {
    Err((code, text.into()))
}

/// The non-empty string field `name`, refused with `code` when it is missing or not one.
fn required_string(obj: &Map<String, Value>, name: &str, code: i64) -> Result<String, Refusal> {
    match obj.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => refuse(code, format!("{name} is missing or not a String")),
    }
}

/// Parses a body as a JSON object.
pub(super) fn object(body: &[u8], bad_json_code: i64) -> Result<Map<String, Value>, Refusal> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => refuse(bad_json_code, "the body is not a JSON object"),
        Err(_) => refuse(
            bad_json_code,
            "Fail to Parse json data of body, Please check it",
        ),
    }
}

/// An optional field that must be an integer in `0..=u32::MAX` when present.
fn opt_u32(obj: &Map<String, Value>, name: &str) -> Result<Option<u32>, ()> {
    match obj.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or(()),
    }
}

fn opt_str<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, ()> {
    match obj.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(()),
    }
}

fn string_array(v: &Value) -> Option<Vec<&str>> {
    v.as_array()?.iter().map(Value::as_str).collect()
}
