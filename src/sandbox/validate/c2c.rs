//! The one-to-one endpoints: `openim/sendmsg`, `openim/batchsendmsg`, `admin_msgwithdraw`
//! and `admin_getroammsg`.

use serde_json::{Map, Value};

use super::message::{controls, msg_body, offline_push};
use super::{Refusal, opt_str, opt_u32, refuse, required_string, string_array};

/// The parts of a C2C send (single or batch) the sandbox acts on.
#[derive(Debug, Clone)]
pub(in crate::sandbox) struct C2cSend {
    pub from: Option<String>,
    pub to: Vec<String>,
    pub msg_seq: Option<u32>,
    pub msg_random: u32,
    pub sync_other_machine: Option<u32>,
    pub body: Value,
}

/// `openim/sendmsg` (seed 003's error table).
pub(in crate::sandbox) fn sendmsg(obj: &Map<String, Value>) -> Result<C2cSend, Refusal> {
    let to = required_string(obj, "To_Account", 90003)?;
    let mut send = c2c_common(obj)?;
    if obj.get("MsgTimeStamp").is_some_and(|v| !v.is_u64()) {
        return refuse(90006, "MsgTimeStamp is not an Integer");
    }
    controls(
        obj,
        "ForbidCallbackControl",
        &["ForbidBeforeSendMsgCallback", "ForbidAfterSendMsgCallback"],
        90010,
    )?;
    send.to = vec![to];
    Ok(send)
}

/// `openim/batchsendmsg`.
pub(in crate::sandbox) fn batchsendmsg(obj: &Map<String, Value>) -> Result<C2cSend, Refusal> {
    let to = match obj.get("To_Account").and_then(string_array) {
        Some(to) if !to.is_empty() => to,
        _ => return refuse(90003, "To_Account is missing or not an Array of Strings"),
    };
    if to.len() > crate::im::MAX_BATCH_RECIPIENTS {
        return refuse(
            90011,
            format!("{} recipients; at most 500 per call", to.len()),
        );
    }
    let mut send = c2c_common(obj)?;
    // A repeated recipient gets the message once.
    let mut seen = std::collections::HashSet::new();
    send.to = to
        .into_iter()
        .filter(|t| seen.insert(*t))
        .map(str::to_owned)
        .collect();
    Ok(send)
}

fn c2c_common(obj: &Map<String, Value>) -> Result<C2cSend, Refusal> {
    let msg_random = match obj.get("MsgRandom") {
        Some(v) => v.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or((
            90005,
            "MsgRandom is not an Integer in [0, 4294967295]".to_owned(),
        ))?,
        None => return refuse(90005, "MsgRandom is missing"),
    };
    let body = msg_body(obj, 90007, 90002)?;
    let from = opt_str(obj, "From_Account")
        .map_err(|()| (90010, "From_Account is not a String".to_owned()))?
        .map(str::to_owned);
    let sync_other_machine = match opt_u32(obj, "SyncOtherMachine") {
        Ok(sync @ (None | Some(1 | 2))) => sync,
        Ok(Some(_)) => return refuse(90010, "SyncOtherMachine must be 1 or 2"),
        Err(()) => return refuse(90031, "SyncOtherMachine is not an Integer"),
    };
    match obj.get("MsgLifeTime") {
        None => {}
        Some(v) => match v.as_u64() {
            Some(n) if n <= u64::from(crate::im::MAX_MSG_LIFETIME_SECS) => {}
            Some(_) => return refuse(90026, "MsgLifeTime is over 7 days (604800 s)"),
            None => return refuse(90044, "MsgLifeTime is not an Integer"),
        },
    }
    let msg_seq = opt_u32(obj, "MsgSeq").map_err(|()| {
        (
            90010,
            "MsgSeq is not an Integer in [0, 4294967295]".to_owned(),
        )
    })?;
    controls(
        obj,
        "SendMsgControl",
        &["NoUnread", "NoLastMsg", "WithMuteNotifications"],
        90010,
    )?;
    for name in [
        "IsNeedReadReceipt",
        "SupportMessageExtension",
        "OnlineOnlyFlag",
    ] {
        match opt_u32(obj, name) {
            Ok(None | Some(0 | 1)) => {}
            _ => return refuse(90010, format!("{name} must be 0 or 1")),
        }
    }
    if opt_str(obj, "CloudCustomData").is_err() {
        return refuse(90010, "CloudCustomData is not a String");
    }
    offline_push(obj, 90010)?;
    Ok(C2cSend {
        from,
        to: Vec::new(),
        msg_seq,
        msg_random,
        sync_other_machine,
        body,
    })
}

/// `admin_msgwithdraw`: (From, To, MsgKey).
pub(in crate::sandbox) fn withdraw(
    obj: &Map<String, Value>,
) -> Result<(String, String, String), Refusal> {
    let from = required_string(obj, "From_Account", 90008)?;
    let to = required_string(obj, "To_Account", 90003)?;
    let key = match obj.get("MsgKey") {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 50 => s.clone(),
        _ => return refuse(90054, "MsgKey is missing or invalid"),
    };
    Ok((from, to, key))
}

/// What an `admin_getroammsg` call asks for.
pub(in crate::sandbox) struct RoamQuery {
    pub operator: String,
    pub peer: String,
    pub max_cnt: u64,
    pub min_time: u64,
    pub max_time: u64,
    pub last_msg_key: Option<String>,
}

/// `admin_getroammsg`: two accounts, a positive `MaxCnt`, a time range and an optional
/// `LastMsgKey` to continue from.
pub(in crate::sandbox) fn roam_query(obj: &Map<String, Value>) -> Result<RoamQuery, Refusal> {
    let operator = required_string(obj, "Operator_Account", 90010)?;
    let peer = required_string(obj, "Peer_Account", 90010)?;
    let integer = |name: &str| match obj.get(name) {
        Some(v) => v
            .as_u64()
            .ok_or((90010, format!("{name} is not a non-negative Integer"))),
        None => refuse(90010, format!("{name} is missing")),
    };
    let max_cnt = integer("MaxCnt")?;
    if max_cnt == 0 {
        return refuse(90010, "MaxCnt must be at least 1");
    }
    let (min_time, max_time) = (integer("MinTime")?, integer("MaxTime")?);
    if min_time > max_time {
        return refuse(90010, "MinTime is after MaxTime");
    }
    let last_msg_key = opt_str(obj, "LastMsgKey")
        .map_err(|()| (90010, "LastMsgKey is not a String".to_owned()))?
        .filter(|k| !k.is_empty())
        .map(str::to_owned);
    Ok(RoamQuery {
        operator,
        peer,
        max_cnt,
        min_time,
        max_time,
        last_msg_key,
    })
}
