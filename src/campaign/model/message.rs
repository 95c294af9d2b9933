//! `message:`: the elements of `MsgBody`, each kind with its fields.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
