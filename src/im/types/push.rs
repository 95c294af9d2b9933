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
