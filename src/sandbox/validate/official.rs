//! The official account endpoints: `send_official_account_msg`,
//! `official_account_msg_recall` and `get_official_account_info`.

use serde_json::{Map, Value};

use super::message::{controls, msg_body, offline_push};
use super::{Refusal, opt_str, opt_u32, refuse, required_string, string_array};

/// The parts of an official account broadcast the sandbox acts on.
#[derive(Debug, Clone)]
pub(in crate::sandbox) struct OfficialSend {
    pub account: String,
    pub random: u32,
    pub body: Value,
}

/// `send_official_account_msg` (seed 001).
pub(in crate::sandbox) fn official(obj: &Map<String, Value>) -> Result<OfficialSend, Refusal> {
    let account = required_string(obj, "Official_Account", 10004)?;
    if !account.starts_with("@TOA#") || !crate::sandbox::config::valid_user_id(&account) {
        return refuse(
            10015,
            format!("{account:?} is not an official account UserID"),
        );
    }
    let random = match obj.get("Random") {
        Some(v) => v.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or((
            10004,
            "Random is not an Integer in [0, 4294967295]".to_owned(),
        ))?,
        None => return refuse(10004, "Random is missing"),
    };
    let body = msg_body(obj, 10004, 10004)?;
    let online_only = match opt_u32(obj, "OnlineOnlyFlag") {
        Ok(None) => false,
        Ok(Some(0)) => false,
        Ok(Some(1)) => true,
        _ => return refuse(10004, "OnlineOnlyFlag must be 0 or 1"),
    };
    controls(obj, "SendMsgControl", &["NoLastMsg"], 10004)?;
    if online_only && obj.contains_key("SendMsgControl") {
        return refuse(
            10004,
            "SendMsgControl must not be combined with OnlineOnlyFlag 1",
        );
    }
    controls(
        obj,
        "ForbidCallbackControl",
        &["ForbidBeforeSendMsgCallback", "ForbidAfterSendMsgCallback"],
        10004,
    )?;
    if opt_str(obj, "CloudCustomData").is_err() {
        return refuse(10004, "CloudCustomData is not a String");
    }
    offline_push(obj, 10004)?;
    Ok(OfficialSend {
        account,
        random,
        body,
    })
}

/// `OfficialAccountIdList` entries: objects with `Official_Account`, or plain strings (the
/// element shape is unverified, so both are read).
pub(in crate::sandbox) fn official_ids(obj: &Map<String, Value>) -> Result<Vec<String>, Refusal> {
    let Some(items) = obj.get("OfficialAccountIdList").and_then(Value::as_array) else {
        return refuse(10004, "OfficialAccountIdList is missing or not an Array");
    };
    if items.is_empty() {
        return refuse(10004, "OfficialAccountIdList is empty");
    }
    let max = crate::im::types::MAX_OFFICIAL_ACCOUNT_INFO_IDS;
    if items.len() > max {
        return refuse(
            10004,
            format!("{} official accounts; at most {max} per call", items.len()),
        );
    }
    items
        .iter()
        .map(|item| match item {
            Value::String(s) => Ok(s.clone()),
            Value::Object(o) => match o.get("Official_Account") {
                Some(Value::String(s)) => Ok(s.clone()),
                _ => refuse(10004, "Official_Account missing in OfficialAccountIdList"),
            },
            _ => refuse(10004, "OfficialAccountIdList entries must be Objects"),
        })
        .collect()
}

/// `get_official_account_info.ResponseFilter`: the account fields to return (every one when
/// the filter or its `OfficialAccountBaseInfoFilter` is absent). It is an Object.
pub(in crate::sandbox) fn official_filter(
    obj: &Map<String, Value>,
) -> Result<Option<Vec<String>>, Refusal> {
    let filter = match obj.get("ResponseFilter") {
        None => return Ok(None),
        Some(Value::Object(filter)) => filter,
        Some(_) => return refuse(10004, "ResponseFilter is not an Object"),
    };
    let Some(base) = filter.get("OfficialAccountBaseInfoFilter") else {
        return Ok(None);
    };
    let Some(names) = string_array(base) else {
        return refuse(
            10004,
            "ResponseFilter.OfficialAccountBaseInfoFilter is not an Array of Strings",
        );
    };
    let known = crate::im::types::OfficialAccountInfoField::ALL.map(|f| f.name());
    if let Some(unknown) = names.iter().find(|n| !known.contains(n)) {
        return refuse(
            10004,
            format!("{unknown:?} is not a field of OfficialAccountBaseInfoFilter"),
        );
    }
    Ok(Some(names.into_iter().map(str::to_owned).collect()))
}

/// `official_account_msg_recall`: the account, its keys (1 to 10) and the reason.
pub(in crate::sandbox) fn official_recall(
    obj: &Map<String, Value>,
) -> Result<(String, Vec<String>, Option<String>), Refusal> {
    let account = required_string(obj, "Official_Account", 10004)?;
    let keys = match obj.get("MsgKeyList").and_then(string_array) {
        Some(keys) if !keys.is_empty() => keys,
        _ => return refuse(10004, "MsgKeyList is missing or not an Array of Strings"),
    };
    let max = crate::im::types::MAX_RECALL_MSG_KEYS;
    if keys.len() > max {
        return refuse(
            10004,
            format!("{} MsgKeys; at most {max} per call", keys.len()),
        );
    }
    let reason = match opt_str(obj, "Reason") {
        Ok(reason) => reason,
        Err(()) => return refuse(10004, "Reason is not a String"),
    };
    let max = crate::im::types::MAX_RECALL_REASON_BYTES;
    if let Some(reason) = reason
        && reason.len() > max
    {
        return refuse(
            10004,
            format!("Reason is {} bytes; at most {max}", reason.len()),
        );
    }
    Ok((
        account,
        keys.into_iter().map(str::to_owned).collect(),
        reason.map(str::to_owned),
    ))
}
