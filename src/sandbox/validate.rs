//! The sandbox's own reading of request bodies: raw JSON checked against what the documents
//! say, with the documented error codes. Deliberately independent of the client's types, so
//! that a mistake in the client (a wrong field name, a string where an integer belongs) shows
//! up as the error the real server would give.

use serde_json::{Map, Value};

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

/// Checks `MsgBody`: an array of valid `TIMMsgElement`s with at most one custom element.
/// Returns the body for recording.
fn msg_body(obj: &Map<String, Value>, not_array: i64, bad_element: i64) -> Result<Value, Refusal> {
    let Some(body) = obj.get("MsgBody") else {
        return refuse(not_array, "MsgBody is missing");
    };
    let Some(elements) = body.as_array() else {
        return refuse(not_array, "MsgBody is not an Array");
    };
    if elements.is_empty() {
        return refuse(bad_element, "MsgBody is empty");
    }
    let mut custom = 0;
    for (i, element) in elements.iter().enumerate() {
        let kind =
            element_kind(element).map_err(|why| (bad_element, format!("MsgBody[{i}]: {why}")))?;
        if kind == "TIMCustomElem" {
            custom += 1;
        }
    }
    if custom > 1 {
        return refuse(bad_element, "MsgBody has more than one TIMCustomElem");
    }
    Ok(body.clone())
}

fn element_kind(element: &Value) -> Result<&str, String> {
    let obj = element.as_object().ok_or("not an object")?;
    let kind = obj
        .get("MsgType")
        .and_then(Value::as_str)
        .ok_or("MsgType missing or not a String")?;
    let content = obj
        .get("MsgContent")
        .and_then(Value::as_object)
        .ok_or("MsgContent missing or not an Object")?;
    let text = |name: &str| match content.get(name) {
        Some(Value::String(_)) => Ok(()),
        _ => Err(format!("{kind}.{name} missing or not a String")),
    };
    let opt_text = |name: &str| match content.get(name) {
        None | Some(Value::String(_)) => Ok(()),
        _ => Err(format!("{kind}.{name} is not a String")),
    };
    let int = |name: &str| match content.get(name) {
        Some(v) if v.is_i64() || v.is_u64() => Ok(()),
        _ => Err(format!("{kind}.{name} missing or not an Integer")),
    };
    let opt_int = |name: &str| match content.get(name) {
        None => Ok(()),
        Some(v) if v.is_i64() || v.is_u64() => Ok(()),
        _ => Err(format!("{kind}.{name} is not an Integer")),
    };
    let number = |name: &str| match content.get(name) {
        Some(Value::Number(_)) => Ok(()),
        _ => Err(format!("{kind}.{name} missing or not a Number")),
    };
    // REST uploads must say "download from the URL" (2).
    let flag_two = |name: &str| match content.get(name).and_then(Value::as_i64) {
        Some(2) => Ok(()),
        _ => Err(format!("{kind}.{name} must be 2 for REST messages")),
    };
    match kind {
        "TIMTextElem" => text("Text")?,
        "TIMLocationElem" => {
            text("Desc")?;
            number("Latitude")?;
            number("Longitude")?;
        }
        "TIMFaceElem" => {
            int("Index")?;
            opt_text("Data")?;
        }
        "TIMCustomElem" => {
            text("Data")?;
            opt_text("Desc")?;
            opt_text("Ext")?;
            opt_text("Sound")?;
        }
        "TIMSoundElem" => {
            text("Url")?;
            text("UUID")?;
            opt_int("Size")?;
            opt_int("Second")?;
            flag_two("Download_Flag")?;
        }
        "TIMImageElem" => {
            text("UUID")?;
            opt_int("ImageFormat")?;
            let infos = content
                .get("ImageInfoArray")
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
                .ok_or("TIMImageElem.ImageInfoArray missing or empty")?;
            for info in infos {
                let info = info
                    .as_object()
                    .ok_or("ImageInfoArray entry not an Object")?;
                for name in ["Type", "Width", "Height"] {
                    if !info.get(name).is_some_and(|v| v.is_u64()) {
                        return Err(format!("ImageInfoArray.{name} missing or not an Integer"));
                    }
                }
                if !info.get("URL").is_some_and(Value::is_string) {
                    return Err("ImageInfoArray.URL missing or not a String".into());
                }
                if info.get("Size").is_some_and(|v| !v.is_u64()) {
                    return Err("ImageInfoArray.Size is not an Integer".into());
                }
            }
        }
        "TIMFileElem" => {
            text("Url")?;
            text("UUID")?;
            opt_int("FileSize")?;
            opt_text("FileName")?;
            flag_two("Download_Flag")?;
        }
        "TIMVideoFileElem" => {
            text("VideoUrl")?;
            text("VideoUUID")?;
            text("ThumbUrl")?;
            text("ThumbUUID")?;
            for name in [
                "VideoSize",
                "VideoSecond",
                "ThumbSize",
                "ThumbWidth",
                "ThumbHeight",
            ] {
                opt_int(name)?;
            }
            opt_text("VideoFormat")?;
            opt_text("ThumbFormat")?;
            flag_two("VideoDownloadFlag")?;
            flag_two("ThumbDownloadFlag")?;
        }
        "TIMRelayElem" => {}
        other => return Err(format!("unknown MsgType {other:?}")),
    }
    Ok(kind)
}

fn controls(
    obj: &Map<String, Value>,
    name: &str,
    allowed: &[&str],
    code: i64,
) -> Result<(), Refusal> {
    match obj.get(name) {
        None => Ok(()),
        Some(v) => match string_array(v) {
            Some(values) if values.iter().all(|x| allowed.contains(x)) => Ok(()),
            _ => refuse(code, format!("{name} must be an Array of {allowed:?}")),
        },
    }
}

fn offline_push(obj: &Map<String, Value>, code: i64) -> Result<(), Refusal> {
    match obj.get("OfflinePushInfo") {
        None => Ok(()),
        Some(Value::Object(push)) => {
            if let Some(flag) = push.get("PushFlag")
                && !matches!(flag.as_i64(), Some(0 | 1))
            {
                return refuse(code, "OfflinePushInfo.PushFlag must be 0 or 1");
            }
            for name in ["Title", "Desc", "Ext"] {
                if push.get(name).is_some_and(|v| !v.is_string()) {
                    return refuse(code, format!("OfflinePushInfo.{name} is not a String"));
                }
            }
            for name in ["AndroidInfo", "ApnsInfo", "HarmonyInfo"] {
                if push.get(name).is_some_and(|v| !v.is_object()) {
                    return refuse(code, format!("OfflinePushInfo.{name} is not an Object"));
                }
            }
            vendor_fields(push, code)
        }
        Some(_) => refuse(code, "OfflinePushInfo is not an Object"),
    }
}

/// The types of the vendor fields of `OfflinePushInfo`, and the values documented as a closed
/// set. Categories are left open: the vendors add to them.
fn vendor_fields(push: &Map<String, Value>, code: i64) -> Result<(), Refusal> {
    let section = |name: &str| push.get(name).and_then(Value::as_object);
    let strings: [(&str, &[&str]); 3] = [
        (
            "AndroidInfo",
            &[
                "Sound",
                "HuaWeiChannelID",
                "XiaoMiChannelID",
                "OPPOChannelID",
                "GoogleChannelID",
                "VIVOCategory",
                "HuaWeiCategory",
                "HuaWeiImportance",
                "HuaWeiImage",
                "HonorImage",
                "HonorImportance",
                "GoogleImage",
                "OPPOCategory",
                "OPPOPrivateMsgTemplateId",
            ],
        ),
        (
            "ApnsInfo",
            &["Sound", "Title", "SubTitle", "Image", "InterruptionLevel"],
        ),
        ("HarmonyInfo", &["Category", "Image"]),
    ];
    for (name, fields) in strings {
        let Some(info) = section(name) else { continue };
        for field in fields {
            if info.get(*field).is_some_and(|v| !v.is_string()) {
                return refuse(
                    code,
                    format!("OfflinePushInfo.{name}.{field} is not a String"),
                );
            }
        }
    }
    let closed: [(&str, &str, &[i64]); 8] = [
        ("AndroidInfo", "VIVOClassification", &[0, 1]),
        ("AndroidInfo", "ExtAsHuaweiIntentParam", &[0, 1]),
        ("AndroidInfo", "OPPONotifyLevel", &[1, 2, 16]),
        ("AndroidInfo", "MeiZuNoticeMsgType", &[0, 1]),
        ("ApnsInfo", "BadgeMode", &[0, 1]),
        ("ApnsInfo", "MutableContent", &[0, 1]),
        ("ApnsInfo", "ContentAvailable", &[0, 1]),
        ("HarmonyInfo", "BadgeSetNum", &[]),
    ];
    for (name, field, allowed) in closed {
        let Some(value) = section(name).and_then(|info| info.get(field)) else {
            continue;
        };
        match value.as_i64() {
            Some(n) if allowed.is_empty() && (0..=99).contains(&n) => {}
            Some(n) if allowed.contains(&n) => {}
            _ => {
                let expected = if allowed.is_empty() {
                    "an Integer in 0..=99".to_owned()
                } else {
                    format!("one of {allowed:?}")
                };
                return refuse(
                    code,
                    format!("OfflinePushInfo.{name}.{field} must be {expected}"),
                );
            }
        }
    }
    if let Some(add) = section("HarmonyInfo").and_then(|h| h.get("BadgeAddNum"))
        && !add.as_i64().is_some_and(|n| (1..=99).contains(&n))
    {
        return refuse(
            code,
            "OfflinePushInfo.HarmonyInfo.BadgeAddNum must be an Integer in 1..=99",
        );
    }
    for (name, field) in [
        ("AndroidInfo", "HuaWeiImportance"),
        ("AndroidInfo", "HonorImportance"),
    ] {
        if let Some(v) = section(name)
            .and_then(|i| i.get(field))
            .and_then(Value::as_str)
            && !matches!(v, "LOW" | "NORMAL")
        {
            return refuse(
                code,
                format!("OfflinePushInfo.{name}.{field} must be LOW or NORMAL"),
            );
        }
    }
    Ok(())
}

/// The parts of a C2C send (single or batch) the sandbox acts on.
#[derive(Debug, Clone)]
pub(super) struct C2cSend {
    pub from: Option<String>,
    pub to: Vec<String>,
    pub msg_seq: Option<u32>,
    pub msg_random: u32,
    pub sync_other_machine: Option<u32>,
    pub body: Value,
}

/// `openim/sendmsg` (seed 003's error table).
pub(super) fn sendmsg(obj: &Map<String, Value>) -> Result<C2cSend, Refusal> {
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
pub(super) fn batchsendmsg(obj: &Map<String, Value>) -> Result<C2cSend, Refusal> {
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

/// The parts of an official account broadcast the sandbox acts on.
#[derive(Debug, Clone)]
pub(super) struct OfficialSend {
    pub account: String,
    pub random: u32,
    pub body: Value,
}

/// `send_official_account_msg` (seed 001).
pub(super) fn official(obj: &Map<String, Value>) -> Result<OfficialSend, Refusal> {
    let account = required_string(obj, "Official_Account", 10004)?;
    if !account.starts_with("@TOA#") || !super::config::valid_user_id(&account) {
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

/// One chunk of `send_stream_msg` (seed 000).
#[derive(Debug, Clone)]
pub(super) struct StreamChunk {
    pub from: String,
    pub to: String,
    pub chunk: String,
    pub msg_key: Option<String>,
    pub finish: bool,
}

/// `send_stream_msg`: only 10002 and 10004 are documented, so every problem is 10004.
pub(super) fn stream(obj: &Map<String, Value>) -> Result<StreamChunk, Refusal> {
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

/// `admin_msgwithdraw`: (From, To, MsgKey).
pub(super) fn withdraw(obj: &Map<String, Value>) -> Result<(String, String, String), Refusal> {
    let from = required_string(obj, "From_Account", 90008)?;
    let to = required_string(obj, "To_Account", 90003)?;
    let key = match obj.get("MsgKey") {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 50 => s.clone(),
        _ => return refuse(90054, "MsgKey is missing or invalid"),
    };
    Ok((from, to, key))
}

/// What an `admin_getroammsg` call asks for.
pub(super) struct RoamQuery {
    pub operator: String,
    pub peer: String,
    pub max_cnt: u64,
    pub min_time: u64,
    pub max_time: u64,
    pub last_msg_key: Option<String>,
}

/// `admin_getroammsg`: two accounts, a positive `MaxCnt`, a time range and an optional
/// `LastMsgKey` to continue from.
pub(super) fn roam_query(obj: &Map<String, Value>) -> Result<RoamQuery, Refusal> {
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

/// `account_check`: 1–100 `{"UserID": String}` items.
pub(super) fn account_check(obj: &Map<String, Value>) -> Result<Vec<String>, Refusal> {
    let Some(items) = obj.get("CheckItem").and_then(Value::as_array) else {
        return refuse(70402, "CheckItem is missing or not an Array");
    };
    if items.is_empty() || items.len() > crate::im::MAX_ACCOUNT_CHECK_ITEMS {
        return refuse(70206, "CheckItem must hold 1 to 100 accounts");
    }
    items
        .iter()
        .map(|item| match item.get("UserID") {
            Some(Value::String(s)) => Ok(s.clone()),
            _ => refuse(70402, "CheckItem[].UserID is missing or not a String"),
        })
        .collect()
}

/// `OfficialAccountIdList` entries: objects with `Official_Account`, or plain strings (the
/// element shape is unverified, so both are read).
pub(super) fn official_ids(obj: &Map<String, Value>) -> Result<Vec<String>, Refusal> {
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
pub(super) fn official_filter(obj: &Map<String, Value>) -> Result<Option<Vec<String>>, Refusal> {
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
pub(super) fn official_recall(
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
