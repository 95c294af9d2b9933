//! The answer log (`SandboxConfig::answer_log`, `timcast sandbox --answer-log`): one JSON line
//! per answered send or recall, saying how it was answered and whether it took effect. A client
//! only sees the reply; with hostile replies and lost replies that reply can lie, so tests need
//! the sandbox's own account of each call to check what the client concluded.

use std::borrow::Cow;
use std::io::{BufWriter, Write};
use std::sync::Mutex;

use serde::Serialize;
use serde_json::Value;

use crate::im::Endpoint;

use super::Answer;
use super::hostile::{self, Hostile};

/// How a call was answered, beyond the answer itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Label {
    /// The answer is the honest one.
    Normal,
    /// It took effect but the reply was replaced by a 502.
    LostReply,
    /// A broken reply.
    Hostile(Hostile),
}

#[derive(Serialize)]
struct Line<'a> {
    endpoint: &'static str,
    to: Vec<String>,
    kind: Cow<'a, str>,
    took_effect: bool,
}

/// The open log. Its own mutex, so a slow disk never holds up the state.
pub(super) struct AnswerLog(Mutex<BufWriter<std::fs::File>>);

impl AnswerLog {
    pub(super) fn new(file: std::fs::File) -> Self {
        AnswerLog(Mutex::new(BufWriter::new(file)))
    }

    /// Appends the line for one answered call, if `endpoint` is one the log covers.
    pub(super) fn record(
        &self,
        endpoint: Endpoint,
        body: &[u8],
        answer: &Answer,
        label: Label,
        took_effect: bool,
    ) {
        if !hostile::applies_to(endpoint) {
            return;
        }
        let (kind, took_effect) = match (label, answer) {
            (Label::Hostile(kind), _) => (Cow::Borrowed(kind.name()), took_effect),
            (Label::LostReply, _) => (Cow::Borrowed("lost_reply"), true),
            (Label::Normal, Answer::Json(v)) => match v.get("ErrorCode").and_then(Value::as_i64) {
                Some(0) => (Cow::Borrowed("ok"), true),
                Some(code) => (Cow::Owned(format!("code_{code}")), took_effect),
                None => (Cow::Borrowed("ok"), true),
            },
            (Label::Normal, Answer::Status(status)) => {
                (Cow::Owned(format!("http_{status}")), took_effect)
            }
            (Label::Normal, _) => (Cow::Borrowed("other"), took_effect),
        };
        let line = Line {
            endpoint: endpoint.path(),
            to: recipients(endpoint, body),
            kind,
            took_effect,
        };
        let Ok(mut text) = serde_json::to_vec(&line) else {
            return;
        };
        text.push(b'\n');
        let mut w = match self.0.lock() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        };
        // The log is a test aid; a full disk must not stop the emulator.
        let _ = w.write_all(&text).and_then(|()| w.flush());
    }
}

/// Whom a call addresses, read leniently: the body may be exactly what the sandbox refused.
pub(super) fn recipients(endpoint: Endpoint, body: &[u8]) -> Vec<String> {
    let field = match endpoint {
        Endpoint::SendOfficialAccountMsg | Endpoint::OfficialAccountMsgRecall => "Official_Account",
        _ => "To_Account",
    };
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    match value.get(field) {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_are_read_leniently_per_endpoint() {
        assert_eq!(
            recipients(Endpoint::SendMsg, br#"{"To_Account":"u1"}"#),
            ["u1"]
        );
        assert_eq!(
            recipients(Endpoint::BatchSendMsg, br#"{"To_Account":["a",5,"b"]}"#),
            ["a", "b"]
        );
        assert_eq!(
            recipients(
                Endpoint::SendOfficialAccountMsg,
                br#"{"Official_Account":"@TOA#news","To_Account":"x"}"#
            ),
            ["@TOA#news"]
        );
        assert!(recipients(Endpoint::SendMsg, b"{not json").is_empty());
        assert!(recipients(Endpoint::SendMsg, br#"{"To_Account":{}}"#).is_empty());
    }
}
