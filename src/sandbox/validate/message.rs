//! `MsgBody` and `OfflinePushInfo`, which every send endpoint carries: the elements, the
//! control lists and the vendor push fields, with the error code each endpoint gives.

use serde_json::{Map, Value};

use super::{Refusal, refuse, string_array};

/// Checks `MsgBody`: an array of valid `TIMMsgElement`s with at most one custom element.
/// Returns the body for recording.
pub(super) fn msg_body(
    obj: &Map<String, Value>,
    not_array: i64,
    bad_element: i64,
) -> Result<Value, Refusal> {
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

pub(super) fn controls(
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

pub(super) fn offline_push(obj: &Map<String, Value>, code: i64) -> Result<(), Refusal> {
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
