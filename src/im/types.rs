//! Request and response bodies of the IM REST endpoints timcast uses, with their wire names.
//!
//! These are plain data: the client serializes them, the planner builds them from rendered
//! templates, and the sandbox may read valid bodies with them. Validation lives elsewhere (the
//! planner's checks and, independently, the sandbox's), so these types accept anything that has
//! the documented shape. Optional fields are left out of the JSON when `None`, because the
//! server treats an absent field differently from a zero (e.g. `MsgLifeTime`).

use serde::{Deserialize, Serialize};

/// One endpoint of the REST API: its path after `v4/` and its documented per-call limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    SendMsg,
    BatchSendMsg,
    SendOfficialAccountMsg,
    OfficialAccountMsgRecall,
    GetOfficialAccountInfo,
    SendStreamMsg,
    GetAllRobots,
    AdminMsgWithdraw,
    AccountCheck,
}

impl Endpoint {
    /// Every endpoint, for tables and counters.
    pub const ALL: [Endpoint; 9] = [
        Endpoint::SendMsg,
        Endpoint::BatchSendMsg,
        Endpoint::SendOfficialAccountMsg,
        Endpoint::OfficialAccountMsgRecall,
        Endpoint::GetOfficialAccountInfo,
        Endpoint::SendStreamMsg,
        Endpoint::GetAllRobots,
        Endpoint::AdminMsgWithdraw,
        Endpoint::AccountCheck,
    ];

    /// The path after `v4/`, e.g. `openim/sendmsg`.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::SendMsg => "openim/sendmsg",
            Endpoint::BatchSendMsg => "openim/batchsendmsg",
            Endpoint::SendOfficialAccountMsg => {
                "official_account_open_http_svc/send_official_account_msg"
            }
            Endpoint::OfficialAccountMsgRecall => {
                "official_account_open_http_svc/official_account_msg_recall"
            }
            Endpoint::GetOfficialAccountInfo => {
                "official_account_open_http_svc/get_official_account_info"
            }
            Endpoint::SendStreamMsg => "openim_robot_http_svc/send_stream_msg",
            Endpoint::GetAllRobots => "openim_robot_http_svc/get_all_robots",
            Endpoint::AdminMsgWithdraw => "openim/admin_msgwithdraw",
            Endpoint::AccountCheck => "im_open_login_svc/account_check",
        }
    }

    /// The endpoint whose path after `v4/` is `path`.
    pub fn from_path(path: &str) -> Option<Endpoint> {
        Endpoint::ALL.into_iter().find(|e| e.path() == path)
    }

    /// Documented calls per second for this endpoint (API.md §2.0).
    pub fn documented_calls_per_second(self) -> u32 {
        match self {
            Endpoint::AccountCheck => 100,
            _ => 200,
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.path())
    }
}

/// Most recipients one `batchsendmsg` call may carry (more → 90011).
pub const MAX_BATCH_RECIPIENTS: usize = 500;
/// Most UserIDs one `account_check` call may carry.
pub const MAX_ACCOUNT_CHECK_ITEMS: usize = 100;
/// Longest offline retention, `MsgLifeTime`, in seconds (more → 90026).
pub const MAX_MSG_LIFETIME_SECS: u32 = 604_800;
/// Largest message body the current docs allow (12 KB; 93000 / 80002 beyond it).
pub const MAX_MESSAGE_BYTES: usize = 12 * 1024;

/// The envelope every reply carries. `ErrorCode` 0 is success.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Envelope {
    #[serde(rename = "ActionStatus", default)]
    pub action_status: String,
    #[serde(rename = "ErrorCode", default)]
    pub error_code: i64,
    #[serde(rename = "ErrorInfo", default)]
    pub error_info: String,
    #[serde(rename = "RequestId", default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl Envelope {
    /// A success envelope, as the server writes it.
    pub fn ok() -> Self {
        Envelope {
            action_status: "OK".to_owned(),
            ..Envelope::default()
        }
    }

    /// A failure envelope with `code` and `info`.
    pub fn fail(code: i64, info: impl Into<String>) -> Self {
        Envelope {
            action_status: "FAIL".to_owned(),
            error_code: code,
            error_info: info.into(),
            request_id: None,
        }
    }
}

/// A reply type: gives access to its envelope so the client can check the outcome generically.
pub trait Reply {
    fn envelope(&self) -> &Envelope;
}

macro_rules! reply {
    ($($t:ty),* $(,)?) => {$(
        impl Reply for $t {
            fn envelope(&self) -> &Envelope {
                &self.envelope
            }
        }
    )*};
}

// ---------------------------------------------------------------------------------------------
// Message elements (API.md §3.1)

/// One element of `MsgBody`: `{"MsgType": "TIMTextElem", "MsgContent": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "MsgType", content = "MsgContent")]
pub enum MsgElement {
    #[serde(rename = "TIMTextElem")]
    Text(TextElem),
    #[serde(rename = "TIMFaceElem")]
    Face(FaceElem),
    #[serde(rename = "TIMLocationElem")]
    Location(LocationElem),
    #[serde(rename = "TIMCustomElem")]
    Custom(CustomElem),
    #[serde(rename = "TIMImageElem")]
    Image(ImageElem),
    #[serde(rename = "TIMSoundElem")]
    Sound(SoundElem),
    #[serde(rename = "TIMFileElem")]
    File(FileElem),
    #[serde(rename = "TIMVideoFileElem")]
    VideoFile(VideoFileElem),
}

impl MsgElement {
    /// A text element.
    pub fn text(text: impl Into<String>) -> Self {
        MsgElement::Text(TextElem { text: text.into() })
    }
}

/// `TIMTextElem`: plain text; it doubles as the push text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextElem {
    #[serde(rename = "Text")]
    pub text: String,
}

/// `TIMFaceElem`: an app-defined emoji.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaceElem {
    #[serde(rename = "Index")]
    pub index: i64,
    #[serde(rename = "Data", default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

/// `TIMLocationElem`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocationElem {
    #[serde(rename = "Desc")]
    pub desc: String,
    #[serde(rename = "Latitude")]
    pub latitude: f64,
    #[serde(rename = "Longitude")]
    pub longitude: f64,
}

/// `TIMCustomElem`: at most one per message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomElem {
    #[serde(rename = "Data")]
    pub data: String,
    #[serde(rename = "Desc", default, skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    #[serde(rename = "Ext", default, skip_serializing_if = "Option::is_none")]
    pub ext: Option<String>,
    #[serde(rename = "Sound", default, skip_serializing_if = "Option::is_none")]
    pub sound: Option<String>,
}

/// `TIMImageElem`: REST must set `UUID` and each entry's `URL`, `Width`, `Height`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageElem {
    #[serde(rename = "UUID")]
    pub uuid: String,
    /// JPG=1, GIF=2, PNG=3, BMP=4, other=255.
    #[serde(
        rename = "ImageFormat",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub image_format: Option<i64>,
    #[serde(rename = "ImageInfoArray")]
    pub image_info_array: Vec<ImageInfo>,
}

/// One size of an image: 1 original, 2 large, 3 thumbnail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageInfo {
    #[serde(rename = "Type")]
    pub kind: i64,
    #[serde(rename = "Size", default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(rename = "Width")]
    pub width: u64,
    #[serde(rename = "Height")]
    pub height: u64,
    #[serde(rename = "URL")]
    pub url: String,
}

/// `TIMSoundElem`: REST must set `Url`, `UUID` and `Download_Flag` = 2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SoundElem {
    #[serde(rename = "Url")]
    pub url: String,
    #[serde(rename = "UUID")]
    pub uuid: String,
    #[serde(rename = "Size", default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(rename = "Second", default, skip_serializing_if = "Option::is_none")]
    pub second: Option<u64>,
    #[serde(rename = "Download_Flag")]
    pub download_flag: i64,
}

/// `TIMFileElem`: `Download_Flag` = 2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileElem {
    #[serde(rename = "Url")]
    pub url: String,
    #[serde(rename = "UUID")]
    pub uuid: String,
    #[serde(rename = "FileSize", default, skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
    #[serde(rename = "FileName", default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    #[serde(rename = "Download_Flag")]
    pub download_flag: i64,
}

/// `TIMVideoFileElem`: both download flags = 2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoFileElem {
    #[serde(rename = "VideoUrl")]
    pub video_url: String,
    #[serde(rename = "VideoUUID")]
    pub video_uuid: String,
    #[serde(rename = "VideoSize", default, skip_serializing_if = "Option::is_none")]
    pub video_size: Option<u64>,
    #[serde(
        rename = "VideoSecond",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub video_second: Option<u64>,
    #[serde(
        rename = "VideoFormat",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub video_format: Option<String>,
    #[serde(rename = "VideoDownloadFlag")]
    pub video_download_flag: i64,
    #[serde(rename = "ThumbUrl")]
    pub thumb_url: String,
    #[serde(rename = "ThumbUUID")]
    pub thumb_uuid: String,
    #[serde(rename = "ThumbSize", default, skip_serializing_if = "Option::is_none")]
    pub thumb_size: Option<u64>,
    #[serde(
        rename = "ThumbWidth",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub thumb_width: Option<u64>,
    #[serde(
        rename = "ThumbHeight",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub thumb_height: Option<u64>,
    #[serde(
        rename = "ThumbFormat",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub thumb_format: Option<String>,
    #[serde(rename = "ThumbDownloadFlag")]
    pub thumb_download_flag: i64,
}

// ---------------------------------------------------------------------------------------------
// Controls and push (API.md §3.2, §3.3)

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

// ---------------------------------------------------------------------------------------------
// openim/sendmsg

/// `openim/sendmsg`: one C2C message to one user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendMsgRequest {
    /// 1 copies to the sender's devices and roaming, 2 does not.
    #[serde(
        rename = "SyncOtherMachine",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sync_other_machine: Option<u32>,
    /// The sender; the admin when absent.
    #[serde(
        rename = "From_Account",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub from_account: Option<String>,
    #[serde(rename = "To_Account")]
    pub to_account: String,
    /// Offline retention in seconds, at most 604800; 0 = online only.
    #[serde(
        rename = "MsgLifeTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub msg_life_time: Option<u32>,
    /// Part of the 120 s dedup key.
    #[serde(rename = "MsgSeq", default, skip_serializing_if = "Option::is_none")]
    pub msg_seq: Option<u32>,
    /// Part of the 120 s dedup key.
    #[serde(rename = "MsgRandom")]
    pub msg_random: u32,
    #[serde(
        rename = "MsgTimeStamp",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub msg_time_stamp: Option<u64>,
    #[serde(
        rename = "ForbidCallbackControl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub forbid_callback_control: Option<Vec<ForbidCallback>>,
    #[serde(
        rename = "SendMsgControl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub send_msg_control: Option<Vec<SendMsgControl>>,
    #[serde(rename = "MsgBody")]
    pub msg_body: Vec<MsgElement>,
    #[serde(
        rename = "CloudCustomData",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub cloud_custom_data: Option<String>,
    #[serde(
        rename = "OfflinePushInfo",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub offline_push_info: Option<OfflinePushInfo>,
    #[serde(
        rename = "SupportMessageExtension",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub support_message_extension: Option<u32>,
    #[serde(
        rename = "IsNeedReadReceipt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub is_need_read_receipt: Option<u32>,
    /// 1 = deliver only to online users and keep no history.
    #[serde(
        rename = "OnlineOnlyFlag",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub online_only_flag: Option<u32>,
}

impl SendMsgRequest {
    /// A request with the required fields only.
    pub fn new(to_account: impl Into<String>, msg_random: u32, msg_body: Vec<MsgElement>) -> Self {
        SendMsgRequest {
            sync_other_machine: None,
            from_account: None,
            to_account: to_account.into(),
            msg_life_time: None,
            msg_seq: None,
            msg_random,
            msg_time_stamp: None,
            forbid_callback_control: None,
            send_msg_control: None,
            msg_body,
            cloud_custom_data: None,
            offline_push_info: None,
            support_message_extension: None,
            is_need_read_receipt: None,
            online_only_flag: None,
        }
    }
}

/// Reply of `openim/sendmsg`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SendMsgResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    #[serde(rename = "MsgTime", default, skip_serializing_if = "Option::is_none")]
    pub msg_time: Option<u64>,
    /// Needed for recall; at most 50 characters.
    #[serde(rename = "MsgKey", default, skip_serializing_if = "Option::is_none")]
    pub msg_key: Option<String>,
    #[serde(rename = "MsgId", default, skip_serializing_if = "Option::is_none")]
    pub msg_id: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// openim/batchsendmsg

/// `openim/batchsendmsg`: one message to up to 500 users; fires no callbacks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchSendMsgRequest {
    #[serde(
        rename = "SyncOtherMachine",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sync_other_machine: Option<u32>,
    #[serde(
        rename = "From_Account",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub from_account: Option<String>,
    /// 1–500 recipients.
    #[serde(rename = "To_Account")]
    pub to_account: Vec<String>,
    #[serde(
        rename = "MsgLifeTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub msg_life_time: Option<u32>,
    #[serde(rename = "MsgSeq", default, skip_serializing_if = "Option::is_none")]
    pub msg_seq: Option<u32>,
    #[serde(rename = "MsgRandom")]
    pub msg_random: u32,
    #[serde(
        rename = "SendMsgControl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub send_msg_control: Option<Vec<SendMsgControl>>,
    #[serde(rename = "MsgBody")]
    pub msg_body: Vec<MsgElement>,
    #[serde(
        rename = "CloudCustomData",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub cloud_custom_data: Option<String>,
    #[serde(
        rename = "OfflinePushInfo",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub offline_push_info: Option<OfflinePushInfo>,
    #[serde(
        rename = "IsNeedReadReceipt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub is_need_read_receipt: Option<u32>,
    #[serde(
        rename = "OnlineOnlyFlag",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub online_only_flag: Option<u32>,
}

impl BatchSendMsgRequest {
    /// A request with the required fields only.
    pub fn new(to_account: Vec<String>, msg_random: u32, msg_body: Vec<MsgElement>) -> Self {
        BatchSendMsgRequest {
            sync_other_machine: None,
            from_account: None,
            to_account,
            msg_life_time: None,
            msg_seq: None,
            msg_random,
            send_msg_control: None,
            msg_body,
            cloud_custom_data: None,
            offline_push_info: None,
            is_need_read_receipt: None,
            online_only_flag: None,
        }
    }
}

/// One failed recipient of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchErrorItem {
    #[serde(rename = "To_Account")]
    pub to_account: String,
    #[serde(rename = "ErrorCode")]
    pub error_code: i64,
}

/// Reply of `openim/batchsendmsg`: one `MsgKey` for the whole call, failures in `ErrorList`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BatchSendMsgResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    #[serde(rename = "MsgKey", default, skip_serializing_if = "Option::is_none")]
    pub msg_key: Option<String>,
    #[serde(rename = "MsgId", default, skip_serializing_if = "Option::is_none")]
    pub msg_id: Option<String>,
    #[serde(rename = "ErrorList", default, skip_serializing_if = "Vec::is_empty")]
    pub error_list: Vec<BatchErrorItem>,
}

// ---------------------------------------------------------------------------------------------
// Official accounts

/// `send_official_account_msg`: one call reaches every subscriber.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendOfficialAccountMsgRequest {
    /// e.g. `@TOA#_2C5SZEAEF`.
    #[serde(rename = "Official_Account")]
    pub official_account: String,
    /// Part of the 5-minute duplicate rule (with the content).
    #[serde(rename = "Random")]
    pub random: u32,
    #[serde(rename = "MsgBody")]
    pub msg_body: Vec<MsgElement>,
    #[serde(
        rename = "OfflinePushInfo",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub offline_push_info: Option<OfflinePushInfo>,
    #[serde(
        rename = "ForbidCallbackControl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub forbid_callback_control: Option<Vec<ForbidCallback>>,
    /// 1 = online subscribers only; not to be combined with `SendMsgControl`.
    #[serde(
        rename = "OnlineOnlyFlag",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub online_only_flag: Option<u32>,
    /// `NoLastMsg` only.
    #[serde(
        rename = "SendMsgControl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub send_msg_control: Option<Vec<SendMsgControl>>,
    #[serde(
        rename = "CloudCustomData",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub cloud_custom_data: Option<String>,
}

impl SendOfficialAccountMsgRequest {
    /// A request with the required fields only.
    pub fn new(
        official_account: impl Into<String>,
        random: u32,
        msg_body: Vec<MsgElement>,
    ) -> Self {
        SendOfficialAccountMsgRequest {
            official_account: official_account.into(),
            random,
            msg_body,
            offline_push_info: None,
            forbid_callback_control: None,
            online_only_flag: None,
            send_msg_control: None,
            cloud_custom_data: None,
        }
    }
}

/// Reply of `send_official_account_msg`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SendOfficialAccountMsgResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    #[serde(rename = "MsgTime", default, skip_serializing_if = "Option::is_none")]
    pub msg_time: Option<u64>,
    #[serde(rename = "MsgKey", default, skip_serializing_if = "Option::is_none")]
    pub msg_key: Option<String>,
}

/// `official_account_msg_recall` (field list from a third-party SDK).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfficialAccountMsgRecallRequest {
    #[serde(rename = "Official_Account")]
    pub official_account: String,
    #[serde(rename = "MsgKeyList")]
    pub msg_key_list: Vec<String>,
}

/// Reply of `official_account_msg_recall`: the envelope only.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OfficialAccountMsgRecallResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
}

/// One entry of `OfficialAccountIdList`. The element shape is unverified (API.md §2.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfficialAccountId {
    #[serde(rename = "Official_Account")]
    pub official_account: String,
}

/// `get_official_account_info` (field list from a third-party SDK).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetOfficialAccountInfoRequest {
    #[serde(rename = "OfficialAccountIdList")]
    pub official_account_id_list: Vec<OfficialAccountId>,
    #[serde(
        rename = "ResponseFilter",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub response_filter: Option<Vec<String>>,
}

/// One official account's details.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OfficialAccountInfo {
    #[serde(
        rename = "Official_Account",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub official_account: Option<String>,
    #[serde(rename = "Name", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(
        rename = "Owner_Account",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owner_account: Option<String>,
    #[serde(
        rename = "CreateTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub create_time: Option<u64>,
    #[serde(
        rename = "LastMsgTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_msg_time: Option<u64>,
    #[serde(
        rename = "SubscriberNum",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub subscriber_num: Option<u64>,
    #[serde(
        rename = "Introduction",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub introduction: Option<String>,
    #[serde(rename = "FaceUrl", default, skip_serializing_if = "Option::is_none")]
    pub face_url: Option<String>,
    #[serde(
        rename = "Organization",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub organization: Option<String>,
    #[serde(
        rename = "CustomString",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub custom_string: Option<String>,
}

/// Reply of `get_official_account_info`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GetOfficialAccountInfoResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    #[serde(rename = "OfficialAccountInfoList", default)]
    pub official_account_info_list: Vec<OfficialAccountInfo>,
}

// ---------------------------------------------------------------------------------------------
// Robots

/// `send_stream_msg`: one chunk of a robot's streamed text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendStreamMsgRequest {
    /// A robot, `@RBT#…`.
    #[serde(rename = "From_Account")]
    pub from_account: String,
    #[serde(rename = "To_Account")]
    pub to_account: String,
    #[serde(rename = "Chunk")]
    pub chunk: String,
    /// Absent on the first call; the key that call returned on every later one.
    #[serde(rename = "MsgKey", default, skip_serializing_if = "Option::is_none")]
    pub msg_key: Option<String>,
    /// 1 on the last call ends the stream.
    #[serde(rename = "Finish", default, skip_serializing_if = "Option::is_none")]
    pub finish: Option<u32>,
}

/// Reply of `send_stream_msg`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SendStreamMsgResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    #[serde(rename = "MsgKey", default, skip_serializing_if = "Option::is_none")]
    pub msg_key: Option<String>,
}

/// `get_all_robots`: the body is `{}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GetAllRobotsRequest {}

/// Reply of `get_all_robots`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GetAllRobotsResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    #[serde(rename = "Robot_Account", default)]
    pub robot_account: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Recall and accounts

/// `admin_msgwithdraw`: recall one C2C message (a batch: one call per recipient).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MsgWithdrawRequest {
    #[serde(rename = "From_Account")]
    pub from_account: String,
    #[serde(rename = "To_Account")]
    pub to_account: String,
    #[serde(rename = "MsgKey")]
    pub msg_key: String,
}

/// Reply of `admin_msgwithdraw`: the envelope only.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MsgWithdrawResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
}

/// One account to check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckItem {
    #[serde(rename = "UserID")]
    pub user_id: String,
}

/// `account_check`: 1–100 UserIDs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountCheckRequest {
    #[serde(rename = "CheckItem")]
    pub check_item: Vec<CheckItem>,
}

impl AccountCheckRequest {
    /// A request for these UserIDs.
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(ids: I) -> Self {
        AccountCheckRequest {
            check_item: ids
                .into_iter()
                .map(|id| CheckItem { user_id: id.into() })
                .collect(),
        }
    }
}

/// Whether an account was imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountStatus {
    Imported,
    NotImported,
    /// A value the docs do not list.
    #[serde(untagged)]
    Other(String),
}

/// One account's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountCheckResult {
    #[serde(rename = "UserID")]
    pub user_id: String,
    #[serde(rename = "ResultCode", default)]
    pub result_code: i64,
    #[serde(rename = "ResultInfo", default)]
    pub result_info: String,
    #[serde(
        rename = "AccountStatus",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub account_status: Option<AccountStatus>,
}

/// Reply of `account_check`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AccountCheckResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    #[serde(rename = "ResultItem", default)]
    pub result_item: Vec<AccountCheckResult>,
}

reply!(
    SendMsgResponse,
    BatchSendMsgResponse,
    SendOfficialAccountMsgResponse,
    OfficialAccountMsgRecallResponse,
    GetOfficialAccountInfoResponse,
    SendStreamMsgResponse,
    GetAllRobotsResponse,
    MsgWithdrawResponse,
    AccountCheckResponse,
);
