//! The typed campaign model: what a valid campaign file means.
//!
//! These types are the single source of truth for the file format: `timcast schema` derives the
//! JSON Schema from them, the structural check walks that schema, and the doc comments become
//! its descriptions. Deserialized only after the checks have passed, so every field here is
//! already known to have the right shape.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A broadcast campaign on the Tencent Cloud IM REST API (timcast file format, version 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "timcast campaign")]
pub struct Campaign {
    /// Format version of this file; must be 1.
    pub version: u32,
    /// Unique name of the campaign: its key in the journal. Letters, digits, `.`, `_` and `-`.
    pub name: String,
    /// What the campaign is for, shown in plans and reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The IM application; environment variables and flags override it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<App>,
    /// Who receives the campaign: a CSV of user IDs, or an official account's subscribers.
    pub audience: Audience,
    /// `From_Account`: the sender's UserID (a `@RBT#` chatbot or any account); the admin when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    /// Campaign-wide template variables, available as `{{name}}` and `{{vars.name}}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, serde_json::Value>,
    /// `MsgBody`: the message elements, in order. Text fields are Handlebars templates.
    pub message: Vec<MessageElement>,
    /// Send as a chatbot stream (`send_stream_msg`): only with a `@RBT#` sender and text elements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<Stream>,
    /// `CloudCustomData`: a template; the rendered string is delivered with the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_custom_data: Option<String>,
    /// `OfflinePushInfo`: the notification shown when the recipient is offline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<Push>,
    /// Message controls: sync, lifetime, unread and conversation-list behaviour, callbacks.
    #[serde(default)]
    pub controls: Controls,
    /// How fast and how the sends go out.
    #[serde(default)]
    pub delivery: Delivery,
    /// When the campaign may be sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
}

/// The IM application (SDKAppID, data centre, admin). The secret key never goes here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct App {
    /// SDKAppID from the IM console (`TIM_SDKAPPID` overrides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdkappid: Option<u64>,
    /// The data centre that hosts the app (`TIM_REGION` overrides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
    /// The App admin's UserID used as `identifier` (`TIM_ADMIN` overrides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<String>,
}

/// Data centres and their REST domains (shared with the client).
pub use crate::im::settings::Region;

/// Who receives the campaign. Exactly one of `csv` and `official_account`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Audience {
    /// CSV file of recipients, relative to the campaign file; its columns are template variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv: Option<String>,
    /// The CSV column that holds the recipient's UserID.
    #[serde(default = "default_user_id_column")]
    pub user_id_column: String,
    /// Suppression lists: CSV files whose users (same column) never receive the campaign.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// Instead of `csv`: an official account (`@TOA#...`); one call reaches every subscriber.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub official_account: Option<String>,
    /// What to do with a malformed CSV row: `fail` stops the plan, `skip` reports and skips it.
    #[serde(default)]
    pub on_bad_row: BadRowPolicy,
}

fn default_user_id_column() -> String {
    "user_id".to_owned()
}

/// What a malformed CSV row does to the plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BadRowPolicy {
    /// Refuse to plan until the row is fixed.
    #[default]
    Fail,
    /// Report the row with its number and leave it out.
    Skip,
}

/// One element of `MsgBody`. Write exactly one kind per list entry, e.g. `- text: "Hi {{first_name}}"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum MessageElement {
    /// `TIMTextElem`: a Handlebars template.
    Text(String),
    /// `TIMTextElem` read from a Handlebars template file, relative to the campaign file.
    TextFile(String),
    /// `TIMCustomElem` (at most one per message).
    Custom(CustomElement),
    /// `TIMFaceElem`.
    Face(FaceElement),
    /// `TIMLocationElem`.
    Location(LocationElement),
    /// `TIMImageElem`.
    Image(ImageElement),
    /// `TIMSoundElem`.
    Sound(SoundElement),
    /// `TIMFileElem`.
    File(FileElement),
    /// `TIMVideoFileElem`.
    Video(VideoElement),
}

impl MessageElement {
    /// The key that names this element in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            MessageElement::Text(_) => "text",
            MessageElement::TextFile(_) => "text_file",
            MessageElement::Custom(_) => "custom",
            MessageElement::Face(_) => "face",
            MessageElement::Location(_) => "location",
            MessageElement::Image(_) => "image",
            MessageElement::Sound(_) => "sound",
            MessageElement::File(_) => "file",
            MessageElement::Video(_) => "video",
        }
    }
}

/// `TIMCustomElem`. `desc` is the push text unless `push.desc` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomElement {
    /// `Data`: a template (often JSON).
    pub data: String,
    /// `Desc`: a template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    /// `Ext`: a template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext: Option<String>,
    /// `Sound`: APNs sound file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sound: Option<String>,
}

/// `TIMFaceElem`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaceElement {
    /// `Index`: the app-defined face number.
    pub index: i64,
    /// `Data`: a template.
    #[serde(default)]
    pub data: String,
}

/// `TIMLocationElem`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationElement {
    /// `Desc`: a template.
    pub desc: String,
    /// `Latitude`, -90 to 90.
    pub latitude: f64,
    /// `Longitude`, -180 to 180.
    pub longitude: f64,
}

/// `TIMImageElem`: an image already hosted at `url`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageElement {
    /// `URL` of the original image.
    pub url: String,
    /// `UUID`; derived from the URL when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// `ImageFormat`.
    #[serde(default)]
    pub format: ImageFormat,
    /// Width of the original in pixels.
    pub width: u32,
    /// Height of the original in pixels.
    pub height: u32,
    /// Size of the original in bytes.
    #[serde(default)]
    pub size: u64,
    /// A large version (`ImageInfoArray` type 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub large: Option<ImageVariant>,
    /// A thumbnail (`ImageInfoArray` type 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<ImageVariant>,
}

/// One more size of an image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageVariant {
    pub url: String,
    pub width: u32,
    pub height: u32,
    #[serde(default)]
    pub size: u64,
}

/// `ImageFormat` values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImageFormat {
    Jpg,
    Gif,
    Png,
    Bmp,
    #[default]
    Other,
}

/// `TIMSoundElem`: an audio clip already hosted at `url`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SoundElement {
    /// `Url`.
    pub url: String,
    /// `UUID`; derived from the URL when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// `Size` in bytes.
    #[serde(default)]
    pub size: u64,
    /// `Second`: duration in seconds.
    pub seconds: u32,
}

/// `TIMFileElem`: a file already hosted at `url`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileElement {
    /// `Url`.
    pub url: String,
    /// `UUID`; derived from the URL when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// `FileName` shown to the recipient.
    pub name: String,
    /// `FileSize` in bytes.
    #[serde(default)]
    pub size: u64,
}

/// `TIMVideoFileElem`: a video and its thumbnail, already hosted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VideoElement {
    /// `VideoUrl`.
    pub url: String,
    /// `VideoUUID`; derived from the URL when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// `VideoSize` in bytes.
    #[serde(default)]
    pub size: u64,
    /// `VideoSecond`: duration in seconds.
    pub seconds: u32,
    /// `VideoFormat`, e.g. `mp4`.
    #[serde(default = "default_video_format")]
    pub format: String,
    /// The thumbnail shown before playing.
    pub thumbnail: VideoThumbnail,
}

fn default_video_format() -> String {
    "mp4".to_owned()
}

/// The thumbnail of a video element.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VideoThumbnail {
    /// `ThumbUrl`.
    pub url: String,
    /// `ThumbUUID`; derived from the URL when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// `ThumbWidth`.
    pub width: u32,
    /// `ThumbHeight`.
    pub height: u32,
    /// `ThumbSize` in bytes.
    #[serde(default)]
    pub size: u64,
    /// `ThumbFormat`, e.g. `jpg`.
    #[serde(default = "default_thumb_format")]
    pub format: String,
}

fn default_thumb_format() -> String {
    "jpg".to_owned()
}

/// Chatbot streaming: the rendered text goes out in chunks through `send_stream_msg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stream {
    /// Characters per chunk.
    #[serde(default = "default_chunk_chars")]
    pub chunk_chars: u32,
    /// Pause between chunks, in milliseconds.
    #[serde(default = "default_interval_ms")]
    pub interval_ms: u64,
}

fn default_chunk_chars() -> u32 {
    40
}
fn default_interval_ms() -> u64 {
    80
}

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

/// Message controls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Controls {
    /// `SyncOtherMachine`: `true` (1) copies the message to the sender's devices, `false` (2) does not.
    #[serde(default)]
    pub sync_to_sender: bool,
    /// `MsgLifeTime`: how long an offline recipient can still get it; `0` = online only; at most `7d`.
    #[serde(default = "default_lifetime")]
    pub lifetime: HumanDuration,
    /// `SendMsgControl: NoLastMsg`: do not move the conversation up the recipient's list.
    #[serde(default)]
    pub no_last_msg: bool,
    /// `SendMsgControl: NoUnread`: do not count the message as unread.
    #[serde(default)]
    pub no_unread: bool,
    /// `SendMsgControl: WithMuteNotifications`: honour the recipient's do-not-disturb setting.
    #[serde(default)]
    pub with_mute_notifications: bool,
    /// `ForbidCallbackControl`: app callbacks to skip for these messages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skip_callbacks: Vec<Callback>,
    /// `OnlineOnlyFlag: 1`: deliver only to users online now; keep no history.
    #[serde(default)]
    pub online_only: bool,
}

impl Default for Controls {
    fn default() -> Self {
        Controls {
            sync_to_sender: false,
            lifetime: default_lifetime(),
            no_last_msg: false,
            no_unread: false,
            with_mute_notifications: false,
            skip_callbacks: Vec::new(),
            online_only: false,
        }
    }
}

fn default_lifetime() -> HumanDuration {
    HumanDuration::from_secs(MAX_LIFETIME_SECS)
}

/// The longest `MsgLifeTime` the API takes (7 days).
pub const MAX_LIFETIME_SECS: u64 = 604_800;

/// App callbacks a message can skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Callback {
    /// `ForbidBeforeSendMsgCallback`.
    BeforeSend,
    /// `ForbidAfterSendMsgCallback`.
    AfterSend,
}

/// Delivery: rates, batching, retries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    /// API calls per second, per API. The documented default limit is 200.
    #[serde(default = "default_rate")]
    pub rate: f64,
    /// Batch sends count each recipient; the documented default limit is 12000 a minute.
    #[serde(default = "default_recipients_per_minute")]
    pub recipients_per_minute: u32,
    /// Calls in flight at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: u32,
    /// `auto`: one `batchsendmsg` (up to 500) for recipients whose rendered message is identical.
    #[serde(default)]
    pub batch: BatchMode,
    /// Attempts per send before it is recorded as failed.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// A send in flight when a previous run died, outside the server's duplicate window.
    #[serde(default)]
    pub on_uncertain: OnUncertain,
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            rate: default_rate(),
            recipients_per_minute: default_recipients_per_minute(),
            concurrency: default_concurrency(),
            batch: BatchMode::default(),
            max_attempts: default_max_attempts(),
            on_uncertain: OnUncertain::default(),
        }
    }
}

/// The documented default call rate per API.
pub const DOCUMENTED_RATE: f64 = 200.0;
/// The documented default batch-recipient rate per minute.
pub const DOCUMENTED_RECIPIENTS_PER_MINUTE: u32 = 12_000;

fn default_rate() -> f64 {
    DOCUMENTED_RATE
}
fn default_recipients_per_minute() -> u32 {
    DOCUMENTED_RECIPIENTS_PER_MINUTE
}
fn default_concurrency() -> u32 {
    32
}
fn default_max_attempts() -> u32 {
    5
}

/// Whether identical rendered messages are grouped into batch sends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BatchMode {
    /// Group identical messages into `batchsendmsg` calls of up to 500.
    #[default]
    Auto,
    /// One `sendmsg` per recipient.
    Off,
}

/// What happens to a send whose outcome is unknown after a crash, past the duplicate window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnUncertain {
    /// Skip it and report it (it may have been delivered).
    #[default]
    Skip,
    /// Send it again (it may arrive twice).
    Resend,
}

/// When the campaign may be sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Not before this time (RFC 3339 with offset, e.g. `2026-11-27T09:00:00+08:00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Timestamp>,
    /// Never after this time: `apply` refuses past it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<Timestamp>,
    /// A daily sending window; sending pauses outside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
}

/// A daily window in a time zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Start of the window, `HH:MM`.
    pub from: TimeOfDay,
    /// End of the window, `HH:MM` (before `from` means the window spans midnight).
    pub to: TimeOfDay,
    /// IANA time zone of the window, e.g. `Asia/Shanghai`.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Days of the week the window is open; every day when omitted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<Weekday>,
    /// A CSV column with each recipient's IANA time zone: their window is in their own zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_timezone_column: Option<String>,
}

fn default_timezone() -> String {
    "UTC".to_owned()
}

/// Days of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

/// A duration written `30s`, `90m`, `12h`, `3d` (or a whole number of seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HumanDuration(std::time::Duration);

impl HumanDuration {
    pub const fn from_secs(secs: u64) -> Self {
        HumanDuration(std::time::Duration::from_secs(secs))
    }

    pub fn as_secs(&self) -> u64 {
        self.0.as_secs()
    }

    pub fn get(&self) -> std::time::Duration {
        self.0
    }

    /// Parses `30s`, `90m`, `12h`, `3d`, `250ms` or a bare number of seconds.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let digits = text.chars().take_while(char::is_ascii_digit).count();
        let (number, unit) = text.split_at(digits);
        let number: u64 = number
            .parse()
            .map_err(|_| format!("`{text}` is not a duration"))?;
        let millis_per_unit: u64 = match unit {
            "" | "s" => 1_000,
            "ms" => 1,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(format!("`{text}` has an unknown unit `{unit}`")),
        };
        number
            .checked_mul(millis_per_unit)
            .map(|ms| HumanDuration(std::time::Duration::from_millis(ms)))
            .ok_or_else(|| format!("`{text}` is too long"))
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        for (unit, size) in [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1_000),
        ] {
            if ms != 0 && ms.is_multiple_of(size) {
                return write!(f, "{}{unit}", ms / size);
            }
        }
        if ms == 0 {
            f.write_str("0s")
        } else {
            write!(f, "{ms}ms")
        }
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Number(n) => n
                .as_u64()
                .map(HumanDuration::from_secs)
                .ok_or_else(|| serde::de::Error::custom("a duration must not be negative")),
            serde_json::Value::String(s) => {
                HumanDuration::parse(&s).map_err(serde::de::Error::custom)
            }
            other => Err(serde::de::Error::custom(format!(
                "expected a duration, found {other}"
            ))),
        }
    }
}

impl JsonSchema for HumanDuration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A duration: `30s`, `90m`, `12h`, `3d`, or a whole number of seconds.",
            "type": ["string", "integer"],
            "pattern": "^[0-9]+(ms|s|m|h|d)?$",
            "minimum": 0,
            "format": "duration"
        })
    }
}

/// An instant written in RFC 3339 with an offset, e.g. `2026-11-27T09:00:00+08:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub jiff::Timestamp);

impl Timestamp {
    pub fn parse(text: &str) -> Result<Self, String> {
        text.trim().parse::<jiff::Timestamp>().map(Timestamp).map_err(|e| {
            format!("`{text}` is not an RFC 3339 time with an offset (e.g. 2026-11-27T09:00:00+08:00): {e}")
        })
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Timestamp {
    fn schema_name() -> Cow<'static, str> {
        "Timestamp".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "RFC 3339 time with an offset, e.g. `2026-11-27T09:00:00+08:00`.",
            "type": "string",
            "format": "date-time"
        })
    }
}

/// A time of day, `HH:MM` (24-hour clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeOfDay {
    pub hour: u8,
    pub minute: u8,
}

impl TimeOfDay {
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}` is not a time of day: write HH:MM, e.g. 09:00 or 21:30");
        let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let hour: u8 = h.parse().map_err(|_| bad())?;
        let minute: u8 = m.parse().map_err(|_| bad())?;
        if hour > 23 || minute > 59 {
            return Err(bad());
        }
        Ok(TimeOfDay { hour, minute })
    }

    pub fn minutes(&self) -> u32 {
        u32::from(self.hour) * 60 + u32::from(self.minute)
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

impl Serialize for TimeOfDay {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TimeOfDay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        TimeOfDay::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for TimeOfDay {
    fn schema_name() -> Cow<'static, str> {
        "TimeOfDay".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A time of day, `HH:MM` on a 24-hour clock.",
            "type": "string",
            "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$",
            "format": "time-of-day"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_the_units_users_write() {
        assert_eq!(HumanDuration::parse("30s").unwrap().as_secs(), 30);
        assert_eq!(HumanDuration::parse("90m").unwrap().as_secs(), 5400);
        assert_eq!(HumanDuration::parse("3d").unwrap().as_secs(), 259_200);
        assert_eq!(HumanDuration::parse("0").unwrap().as_secs(), 0);
        assert!(HumanDuration::parse("3x").is_err());
        assert!(HumanDuration::parse("-3s").is_err());
        assert!(HumanDuration::parse("99999999999999999999d").is_err());
        assert_eq!(HumanDuration::parse("7d").unwrap().to_string(), "7d");
    }

    #[test]
    fn times_of_day_are_hh_mm() {
        assert_eq!(TimeOfDay::parse("09:05").unwrap().minutes(), 545);
        assert!(TimeOfDay::parse("9:05").is_err());
        assert!(TimeOfDay::parse("24:00").is_err());
    }
}
