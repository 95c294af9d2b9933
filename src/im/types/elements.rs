//! Message elements, the entries of `MsgBody` (API.md §3.1).

use serde::{Deserialize, Serialize};

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
