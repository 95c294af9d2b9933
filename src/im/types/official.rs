//! Official accounts: send, recall and look up (`official_account_open_http_svc`).

use serde::{Deserialize, Serialize};

use super::{Envelope, ForbidCallback, MsgElement, OfflinePushInfo, Reply, SendMsgControl};

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

sent_reply!(SendOfficialAccountMsgResponse => |r| r.msg_time);
reply!(
    OfficialAccountMsgRecallResponse,
    GetOfficialAccountInfoResponse,
);
