//! `push:`: the offline push (`OfflinePushInfo`) and its Android, APNs and HarmonyOS parts,
//! with the `class` shorthand that classifies a push for the Android vendors at once.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `OfflinePushInfo`. Text fields are templates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Push {
    /// `false` sends `PushFlag: 1`: no offline push at all.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// `marketing` or `notification`: fills the Android vendors' classification fields with the
    /// documented values for that class; a field set under `android` wins over it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<PushClass>,
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
    /// `HarmonyInfo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harmony: Option<HarmonyPush>,
}

impl Push {
    /// The Android settings to send: `android`, with what it leaves unset filled in from
    /// `class`. `None` when there are neither.
    pub fn android_settings(&self) -> Option<AndroidPush> {
        let defaults = self.class.map(PushClass::vendor_defaults);
        match (self.android.clone(), defaults) {
            (Some(explicit), Some(defaults)) => Some(explicit.or(defaults)),
            (explicit, defaults) => explicit.or(defaults),
        }
    }
}

/// What a push is, to the Android vendors that classify notifications (and cap marketing ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PushClass {
    /// Marketing and news: `OPPOCategory`, `VIVOCategory` and `HuaWeiCategory` `MARKETING`,
    /// `HonorImportance` `LOW`, `MeiZuNoticeMsgType` 0 (public).
    Marketing,
    /// Communication and service (the documentation's instant-messaging class): the three
    /// categories `IM`, `HonorImportance` `NORMAL`, `MeiZuNoticeMsgType` 1 (private).
    Notification,
}

impl PushClass {
    /// The vendor fields the documentation's sample of this class sets (the "OfflinePushInfo
    /// description" page of the push service's server API).
    pub fn vendor_defaults(self) -> AndroidPush {
        let (category, honor, meizu) = match self {
            PushClass::Marketing => (
                VendorCategory::Marketing,
                Importance::Low,
                MeizuNoticeMsgType::Public,
            ),
            PushClass::Notification => (
                VendorCategory::Im,
                Importance::Normal,
                MeizuNoticeMsgType::Private,
            ),
        };
        AndroidPush {
            oppo_category: Some(category),
            vivo_category: Some(category),
            huawei_category: Some(category.wire().to_owned()),
            honor_importance: Some(honor),
            meizu_notice_msg_type: Some(meizu),
            ..AndroidPush::default()
        }
    }
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
    /// `VIVOCategory`: vivo's message category, e.g. `marketing` or `im`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vivo_category: Option<VendorCategory>,
    /// `OPPOCategory`: OPPO's message category, e.g. `marketing` or `im`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oppo_category: Option<VendorCategory>,
    /// `OPPONotifyLevel`: `bar` (1), `lock_screen` (2) or `banner` (16); needs `oppo_category`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oppo_notify_level: Option<OppoNotifyLevel>,
    /// `OPPOPrivateMsgTemplateId`: an OPPO private-message template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oppo_private_msg_template_id: Option<String>,
    /// `HuaWeiImportance`: `low` or `normal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huawei_importance: Option<HuaweiImportance>,
    /// `HuaWeiCategory`, e.g. `MARKETING` or `IM`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huawei_category: Option<String>,
    /// `ExtAsHuaweiIntentParam`: pass `Ext` as an Intent parameter.
    #[serde(default)]
    pub ext_as_huawei_intent_param: bool,
    /// `HuaWeiImage`: HTTPS URL of an image under 512 KB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huawei_image: Option<String>,
    /// `HonorImportance`: `low` (marketing) or `normal` (service and communication).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honor_importance: Option<Importance>,
    /// `HonorImage`: HTTPS URL of an image under 512 KB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honor_image: Option<String>,
    /// `GoogleImage`: URL of an image of at most 1 MB (FCM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub google_image: Option<String>,
    /// `MeiZuNoticeMsgType`: `public` (0, e.g. marketing) or `private` (1) message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meizu_notice_msg_type: Option<MeizuNoticeMsgType>,
}

impl AndroidPush {
    /// These settings, with every field they leave unset taken from `defaults`.
    pub fn or(self, defaults: AndroidPush) -> AndroidPush {
        AndroidPush {
            sound: self.sound.or(defaults.sound),
            huawei_channel_id: self.huawei_channel_id.or(defaults.huawei_channel_id),
            xiaomi_channel_id: self.xiaomi_channel_id.or(defaults.xiaomi_channel_id),
            oppo_channel_id: self.oppo_channel_id.or(defaults.oppo_channel_id),
            google_channel_id: self.google_channel_id.or(defaults.google_channel_id),
            vivo_classification: self.vivo_classification.or(defaults.vivo_classification),
            vivo_category: self.vivo_category.or(defaults.vivo_category),
            oppo_category: self.oppo_category.or(defaults.oppo_category),
            oppo_notify_level: self.oppo_notify_level.or(defaults.oppo_notify_level),
            oppo_private_msg_template_id: self
                .oppo_private_msg_template_id
                .or(defaults.oppo_private_msg_template_id),
            huawei_importance: self.huawei_importance.or(defaults.huawei_importance),
            huawei_category: self.huawei_category.or(defaults.huawei_category),
            ext_as_huawei_intent_param: self.ext_as_huawei_intent_param
                || defaults.ext_as_huawei_intent_param,
            huawei_image: self.huawei_image.or(defaults.huawei_image),
            honor_importance: self.honor_importance.or(defaults.honor_importance),
            honor_image: self.honor_image.or(defaults.honor_image),
            google_image: self.google_image.or(defaults.google_image),
            meizu_notice_msg_type: self
                .meizu_notice_msg_type
                .or(defaults.meizu_notice_msg_type),
        }
    }
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

/// Honor notification importance: `LOW` marks marketing, `NORMAL` service and communication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Importance {
    Low,
    Normal,
}

impl Importance {
    /// The value on the wire.
    pub fn wire(self) -> &'static str {
        match self {
            Importance::Low => "LOW",
            Importance::Normal => "NORMAL",
        }
    }
}

/// A message category of OPPO and vivo, which both sort notifications into service messages
/// (the first six) and marketing ones (the last four), and cap the latter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VendorCategory {
    /// Instant messages.
    Im,
    /// Account and asset changes.
    Account,
    /// Device reminders.
    DeviceReminder,
    /// Orders and logistics.
    Order,
    /// Schedules and to-dos.
    Todo,
    /// Subscriptions.
    Subscription,
    /// News.
    News,
    /// Content recommendations.
    Content,
    /// Marketing and promotions.
    Marketing,
    /// Social updates.
    Social,
}

impl VendorCategory {
    /// The value on the wire, e.g. `DEVICE_REMINDER`.
    pub fn wire(self) -> &'static str {
        match self {
            VendorCategory::Im => "IM",
            VendorCategory::Account => "ACCOUNT",
            VendorCategory::DeviceReminder => "DEVICE_REMINDER",
            VendorCategory::Order => "ORDER",
            VendorCategory::Todo => "TODO",
            VendorCategory::Subscription => "SUBSCRIPTION",
            VendorCategory::News => "NEWS",
            VendorCategory::Content => "CONTENT",
            VendorCategory::Marketing => "MARKETING",
            VendorCategory::Social => "SOCIAL",
        }
    }
}

/// How loudly OPPO shows a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OppoNotifyLevel {
    /// 1: the notification bar only.
    Bar,
    /// 2: the notification bar and the lock screen.
    LockScreen,
    /// 16: bar, lock screen, banner, vibration and ring (OPPO grants it on request).
    Banner,
}

impl OppoNotifyLevel {
    /// The value on the wire.
    pub fn wire(self) -> i64 {
        match self {
            OppoNotifyLevel::Bar => 1,
            OppoNotifyLevel::LockScreen => 2,
            OppoNotifyLevel::Banner => 16,
        }
    }
}

/// Meizu's message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MeizuNoticeMsgType {
    /// 0: a public message (news, marketing).
    Public,
    /// 1: a private message.
    Private,
}

impl MeizuNoticeMsgType {
    /// The value on the wire.
    pub fn wire(self) -> i64 {
        match self {
            MeizuNoticeMsgType::Public => 0,
            MeizuNoticeMsgType::Private => 1,
        }
    }
}

/// `HarmonyInfo` of the offline push.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HarmonyPush {
    /// `Category`: the HarmonyOS Push Kit notification category, e.g. `marketing` or `im`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<HarmonyCategory>,
    /// `Image`: URL of an image to show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// `BadgeAddNum`: added to the app's badge, 1 to 99.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 99))]
    pub badge_add_num: Option<u8>,
    /// `BadgeSetNum`: the app's badge, 0 to 99; wins over `badge_add_num`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 99))]
    pub badge_set_num: Option<u8>,
}

/// A HarmonyOS Push Kit notification category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HarmonyCategory {
    Im,
    Voip,
    Subscription,
    Travel,
    Health,
    Work,
    Account,
    Express,
    Finance,
    DeviceReminder,
    Mail,
    CustomerService,
    Marketing,
}

impl HarmonyCategory {
    /// The value on the wire, e.g. `DEVICE_REMINDER`.
    pub fn wire(self) -> &'static str {
        match self {
            HarmonyCategory::Im => "IM",
            HarmonyCategory::Voip => "VOIP",
            HarmonyCategory::Subscription => "SUBSCRIPTION",
            HarmonyCategory::Travel => "TRAVEL",
            HarmonyCategory::Health => "HEALTH",
            HarmonyCategory::Work => "WORK",
            HarmonyCategory::Account => "ACCOUNT",
            HarmonyCategory::Express => "EXPRESS",
            HarmonyCategory::Finance => "FINANCE",
            HarmonyCategory::DeviceReminder => "DEVICE_REMINDER",
            HarmonyCategory::Mail => "MAIL",
            HarmonyCategory::CustomerService => "CUSTOMER_SERVICE",
            HarmonyCategory::Marketing => "MARKETING",
        }
    }
}

/// iOS interruption level (iOS 15+).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InterruptionLevel {
    /// Silently into the notification centre.
    Passive,
    /// Sound and banner (the default).
    Active,
    /// Breaks through Focus; needs the entitlement.
    TimeSensitive,
    /// Breaks through silent mode; needs Apple's approval.
    Critical,
}

impl InterruptionLevel {
    /// The value on the wire, e.g. `time-sensitive`.
    pub fn wire(self) -> &'static str {
        match self {
            InterruptionLevel::Passive => "passive",
            InterruptionLevel::Active => "active",
            InterruptionLevel::TimeSensitive => "time-sensitive",
            InterruptionLevel::Critical => "critical",
        }
    }
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
    /// `InterruptionLevel`: `passive`, `active`, `time_sensitive` or `critical`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interruption_level: Option<InterruptionLevel>,
    /// `ContentAvailable` 1: a silent background push (Apple advises at most 3 an hour).
    #[serde(default)]
    pub content_available: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(class: Option<PushClass>, android: Option<AndroidPush>) -> Push {
        Push {
            enabled: true,
            class,
            title: None,
            desc: None,
            ext: None,
            android,
            apns: None,
            harmony: None,
        }
    }

    #[test]
    fn a_class_fills_the_vendor_fields_of_the_documented_samples() {
        let marketing = push(Some(PushClass::Marketing), None)
            .android_settings()
            .unwrap();
        assert_eq!(marketing.oppo_category, Some(VendorCategory::Marketing));
        assert_eq!(marketing.vivo_category, Some(VendorCategory::Marketing));
        assert_eq!(marketing.huawei_category.as_deref(), Some("MARKETING"));
        assert_eq!(marketing.honor_importance, Some(Importance::Low));
        assert_eq!(
            marketing.meizu_notice_msg_type,
            Some(MeizuNoticeMsgType::Public)
        );
        let notification = push(Some(PushClass::Notification), None)
            .android_settings()
            .unwrap();
        assert_eq!(notification.oppo_category, Some(VendorCategory::Im));
        assert_eq!(notification.huawei_category.as_deref(), Some("IM"));
        assert_eq!(notification.honor_importance, Some(Importance::Normal));
        assert_eq!(
            notification.meizu_notice_msg_type,
            Some(MeizuNoticeMsgType::Private)
        );
        assert_eq!(push(None, None).android_settings(), None);
    }

    #[test]
    fn explicit_android_fields_win_over_the_class() {
        let explicit = AndroidPush {
            sound: Some("shake".into()),
            honor_importance: Some(Importance::Normal),
            huawei_category: Some("FINANCE".into()),
            ..AndroidPush::default()
        };
        let merged = push(Some(PushClass::Marketing), Some(explicit.clone()))
            .android_settings()
            .unwrap();
        assert_eq!(merged.sound.as_deref(), Some("shake"));
        assert_eq!(merged.honor_importance, Some(Importance::Normal));
        assert_eq!(merged.huawei_category.as_deref(), Some("FINANCE"));
        assert_eq!(merged.oppo_category, Some(VendorCategory::Marketing));
        assert_eq!(
            push(None, Some(explicit.clone())).android_settings(),
            Some(explicit)
        );
    }

    #[test]
    fn wire_values_are_the_documented_spellings() {
        assert_eq!(VendorCategory::DeviceReminder.wire(), "DEVICE_REMINDER");
        assert_eq!(HarmonyCategory::CustomerService.wire(), "CUSTOMER_SERVICE");
        assert_eq!(InterruptionLevel::TimeSensitive.wire(), "time-sensitive");
        let levels: Vec<i64> = [
            OppoNotifyLevel::Bar,
            OppoNotifyLevel::LockScreen,
            OppoNotifyLevel::Banner,
        ]
        .map(OppoNotifyLevel::wire)
        .to_vec();
        assert_eq!(levels, [1, 2, 16]);
    }
}
