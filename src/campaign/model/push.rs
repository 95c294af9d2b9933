//! `push:`: the offline push (`OfflinePushInfo`) and its Android and APNs parts.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `OfflinePushInfo`. Text fields are templates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Push {
    /// `false` sends `PushFlag: 1`: no offline push at all.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// `Title`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `Desc`: the notification body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    /// `Ext`: passed to the device; use a JSON string (some Android vendors drop anything else).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext: Option<String>,
    /// `AndroidInfo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub android: Option<AndroidPush>,
    /// `ApnsInfo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apns: Option<ApnsPush>,
}

fn default_true() -> bool {
    true
}

/// `AndroidInfo` of the offline push.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AndroidPush {
    /// `Sound`: path of the sound file on the device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sound: Option<String>,
    /// `HuaWeiChannelID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huawei_channel_id: Option<String>,
    /// `XiaoMiChannelID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xiaomi_channel_id: Option<String>,
    /// `OPPOChannelID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oppo_channel_id: Option<String>,
    /// `GoogleChannelID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub google_channel_id: Option<String>,
    /// `VIVOClassification`: `marketing` (0) or `system` (1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vivo_classification: Option<VivoClassification>,
    /// `HuaWeiImportance`: `low` or `normal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huawei_importance: Option<HuaweiImportance>,
    /// `HuaWeiCategory`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huawei_category: Option<String>,
    /// `ExtAsHuaweiIntentParam`: pass `Ext` as an Intent parameter.
    #[serde(default)]
    pub ext_as_huawei_intent_param: bool,
}

/// vivo message classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VivoClassification {
    Marketing,
    System,
}

/// Huawei notification importance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HuaweiImportance {
    Low,
    Normal,
}

/// `ApnsInfo` of the offline push.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApnsPush {
    /// `Sound`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sound: Option<String>,
    /// Increment the app badge (`BadgeMode` 0); `false` sends `BadgeMode` 1.
    #[serde(default = "default_true")]
    pub badge: bool,
    /// `Title`: a template; wins over `push.title` on iOS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `SubTitle`: a template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    /// `Image`: URL of an image to show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// `MutableContent` 1: let a notification service extension modify it.
    #[serde(default)]
    pub mutable_content: bool,
}
