//! Message controls and the offline push, `OfflinePushInfo` (API.md §3.2, §3.3).

use serde::{Deserialize, Serialize};

/// A `SendMsgControl` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SendMsgControl {
    NoUnread,
    NoLastMsg,
    WithMuteNotifications,
}

/// A `ForbidCallbackControl` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ForbidCallback {
    ForbidBeforeSendMsgCallback,
    ForbidAfterSendMsgCallback,
}

/// `OfflinePushInfo`: when present, push settings inside a custom element are ignored.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OfflinePushInfo {
    /// 0 (default) sends the offline push, 1 suppresses it.
    #[serde(rename = "PushFlag", default, skip_serializing_if = "Option::is_none")]
    pub push_flag: Option<i64>,
    #[serde(rename = "Title", default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(rename = "Desc", default, skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    /// Passed to the device; use a JSON string, some Android vendors drop anything else.
    #[serde(rename = "Ext", default, skip_serializing_if = "Option::is_none")]
    pub ext: Option<String>,
    #[serde(
        rename = "AndroidInfo",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub android_info: Option<AndroidInfo>,
    #[serde(rename = "ApnsInfo", default, skip_serializing_if = "Option::is_none")]
    pub apns_info: Option<ApnsInfo>,
    /// HarmonyOS (Huawei Push Kit) settings.
    #[serde(
        rename = "HarmonyInfo",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub harmony_info: Option<HarmonyInfo>,
}

/// `OfflinePushInfo.AndroidInfo`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AndroidInfo {
    #[serde(rename = "Sound", default, skip_serializing_if = "Option::is_none")]
    pub sound: Option<String>,
    /// "0" default, "1" big text; documented without a type, so kept as raw JSON.
    #[serde(rename = "PushStyle", default, skip_serializing_if = "Option::is_none")]
    pub push_style: Option<serde_json::Value>,
    #[serde(
        rename = "HuaWeiChannelID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub huawei_channel_id: Option<String>,
    #[serde(
        rename = "XiaoMiChannelID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub xiaomi_channel_id: Option<String>,
    #[serde(
        rename = "OPPOChannelID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub oppo_channel_id: Option<String>,
    #[serde(
        rename = "GoogleChannelID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub google_channel_id: Option<String>,
    /// 0 marketing, 1 (default) system message.
    #[serde(
        rename = "VIVOClassification",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub vivo_classification: Option<i64>,
    #[serde(
        rename = "VIVOCategory",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub vivo_category: Option<String>,
    #[serde(
        rename = "HuaWeiImportance",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub huawei_importance: Option<String>,
    #[serde(
        rename = "HuaWeiCategory",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub huawei_category: Option<String>,
    #[serde(
        rename = "ExtAsHuaweiIntentParam",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ext_as_huawei_intent_param: Option<i64>,
    #[serde(
        rename = "HuaWeiImage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub huawei_image: Option<String>,
    #[serde(
        rename = "HonorImage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub honor_image: Option<String>,
    #[serde(
        rename = "HonorImportance",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub honor_importance: Option<String>,
    #[serde(
        rename = "GoogleImage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub google_image: Option<String>,
    /// OPPO message category: `MARKETING` (content and marketing) or `IM` (communication and
    /// service) in the documented samples; OPPO caps the marketing ones.
    #[serde(
        rename = "OPPOCategory",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub oppo_category: Option<String>,
    /// OPPO notification level: 1 notification bar, 2 bar and lock screen, 16 bar, lock screen,
    /// banner, vibration and ring. OPPO takes it only with `OPPOCategory`.
    #[serde(
        rename = "OPPONotifyLevel",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub oppo_notify_level: Option<i64>,
    /// The template ID of an OPPO private-message (`IM` category) template.
    #[serde(
        rename = "OPPOPrivateMsgTemplateId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub oppo_private_msg_template_id: Option<String>,
    /// Meizu message type: 0 public (marketing) message, 1 private message.
    #[serde(
        rename = "MeiZuNoticeMsgType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub meizu_notice_msg_type: Option<i64>,
}

/// `OfflinePushInfo.HarmonyInfo`: the HarmonyOS push.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HarmonyInfo {
    /// The Push Kit notification category, e.g. `IM` or `MARKETING`.
    #[serde(rename = "Category", default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// URL of an image to show.
    #[serde(rename = "Image", default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Added to the app's badge (1–99).
    #[serde(
        rename = "BadgeAddNum",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub badge_add_num: Option<i64>,
    /// Sets the app's badge (0–99); wins over `BadgeAddNum`.
    #[serde(
        rename = "BadgeSetNum",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub badge_set_num: Option<i64>,
}

/// `OfflinePushInfo.ApnsInfo`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ApnsInfo {
    #[serde(rename = "Sound", default, skip_serializing_if = "Option::is_none")]
    pub sound: Option<String>,
    /// 0 or absent increments the badge, 1 does not.
    #[serde(rename = "BadgeMode", default, skip_serializing_if = "Option::is_none")]
    pub badge_mode: Option<i64>,
    #[serde(rename = "Title", default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(rename = "SubTitle", default, skip_serializing_if = "Option::is_none")]
    pub sub_title: Option<String>,
    #[serde(rename = "Image", default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(
        rename = "MutableContent",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub mutable_content: Option<i64>,
    #[serde(
        rename = "InterruptionLevel",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub interruption_level: Option<String>,
    #[serde(
        rename = "ContentAvailable",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub content_available: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A documentation sample (tests/fixtures/api_docs/SOURCES.md).
    fn sample(name: &str) -> serde_json::Value {
        let path = format!(
            "{}/tests/fixtures/api_docs/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn every_documented_push_sample_reads_and_writes_back_unchanged() {
        for name in [
            "offline_push.marketing.json",
            "offline_push.im.json",
            "offline_push.sendmsg_seed003.json",
        ] {
            let doc = sample(name);
            let push: OfflinePushInfo = serde_json::from_value(doc.clone()).unwrap();
            // A field the type did not know would be dropped here.
            assert_eq!(serde_json::to_value(&push).unwrap(), doc, "{name}");
        }
    }

    #[test]
    fn the_marketing_sample_has_the_vendor_classification_fields() {
        let push: OfflinePushInfo =
            serde_json::from_value(sample("offline_push.marketing.json")).unwrap();
        let android = push.android_info.unwrap();
        assert_eq!(android.oppo_category.as_deref(), Some("MARKETING"));
        assert_eq!(android.vivo_category.as_deref(), Some("MARKETING"));
        assert_eq!(android.huawei_category.as_deref(), Some("MARKETING"));
        assert_eq!(android.honor_importance.as_deref(), Some("LOW"));
        assert_eq!(android.meizu_notice_msg_type, Some(0));
        assert_eq!(push.apns_info.unwrap().mutable_content, Some(1));
    }

    #[test]
    fn harmony_and_the_other_new_fields_have_their_wire_names() {
        let push = OfflinePushInfo {
            android_info: Some(AndroidInfo {
                oppo_notify_level: Some(2),
                oppo_private_msg_template_id: Some("t1".into()),
                ..AndroidInfo::default()
            }),
            harmony_info: Some(HarmonyInfo {
                category: Some("MARKETING".into()),
                image: Some("https://example.com/a.png".into()),
                badge_add_num: Some(1),
                badge_set_num: Some(3),
            }),
            ..OfflinePushInfo::default()
        };
        assert_eq!(
            serde_json::to_value(&push).unwrap(),
            serde_json::json!({
                "AndroidInfo": {"OPPONotifyLevel": 2, "OPPOPrivateMsgTemplateId": "t1"},
                "HarmonyInfo": {
                    "Category": "MARKETING",
                    "Image": "https://example.com/a.png",
                    "BadgeAddNum": 1,
                    "BadgeSetNum": 3
                }
            })
        );
    }
}
