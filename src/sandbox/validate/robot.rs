//! The robot endpoint `send_stream_msg`: one chunk of a streamed message.

use serde_json::{Map, Value};

use super::{Refusal, opt_u32, refuse, required_string};

/// One chunk of `send_stream_msg` (seed 000).
#[derive(Debug, Clone)]
pub(in crate::sandbox) struct StreamChunk {
    pub from: String,
    pub to: String,
    pub chunk: String,
    pub msg_key: Option<String>,
    pub finish: bool,
}

/// `send_stream_msg`: only 10002 and 10004 are documented, so every problem is 10004.
pub(in crate::sandbox) fn stream(obj: &Map<String, Value>) -> Result<StreamChunk, Refusal> {
    let required = |name: &str| required_string(obj, name, 10004);
    let from = required("From_Account")?;
    let to = required("To_Account")?;
    let chunk = match obj.get("Chunk") {
        Some(Value::String(s)) => s.clone(),
        _ => return refuse(10004, "Chunk is missing or not a String"),
    };
    let msg_key = match obj.get("MsgKey") {
        None => None,
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(_) => return refuse(10004, "MsgKey is not a non-empty String"),
    };
    let finish = match opt_u32(obj, "Finish") {
        Ok(None | Some(0)) => false,
        Ok(Some(1)) => true,
        _ => return refuse(10004, "Finish must be 0 or 1"),
    };
    Ok(StreamChunk {
        from,
        to,
        chunk,
        msg_key,
        finish,
    })
}
