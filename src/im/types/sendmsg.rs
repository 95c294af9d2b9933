//! One-to-one sends: `openim/sendmsg` and `openim/batchsendmsg`.

use serde::{Deserialize, Serialize};

use super::{Envelope, ForbidCallback, MsgElement, OfflinePushInfo, Reply, SendMsgControl};

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

sent_reply! {
    SendMsgResponse => |r| r.msg_time,
}

impl Reply for BatchSendMsgResponse {
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    fn malformed(&self) -> Option<String> {
        super::sent_fields_problem(self.msg_key.as_deref(), None)
    }

    /// `ErrorCode` 0 says at least one recipient got the message, and `ErrorList` names every
    /// one that did not: whatever `ActionStatus` says, a reply that has the list is the
    /// server's account of each recipient. (Without it, who got the message cannot be told.)
    fn authoritative_field() -> Option<&'static str> {
        Some("ErrorList")
    }
}
