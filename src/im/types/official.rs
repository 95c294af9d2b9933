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

/// Most MsgKeys one `official_account_msg_recall` call may carry.
pub const MAX_RECALL_MSG_KEYS: usize = 10;
/// Longest `Reason` of an `official_account_msg_recall`, in bytes.
pub const MAX_RECALL_REASON_BYTES: usize = 100;
/// Most accounts one `get_official_account_info` call may ask about.
pub const MAX_OFFICIAL_ACCOUNT_INFO_IDS: usize = 50;

/// `official_account_msg_recall`: withdraws up to [`MAX_RECALL_MSG_KEYS`] broadcasts of one
/// account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfficialAccountMsgRecallRequest {
    #[serde(rename = "Official_Account")]
    pub official_account: String,
    #[serde(rename = "MsgKeyList")]
    pub msg_key_list: Vec<String>,
    /// Why the messages are withdrawn, at most [`MAX_RECALL_REASON_BYTES`] bytes.
    #[serde(rename = "Reason", default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl OfficialAccountMsgRecallRequest {
    /// A request for `msg_key_list` without a reason.
    pub fn new(official_account: impl Into<String>, msg_key_list: Vec<String>) -> Self {
        OfficialAccountMsgRecallRequest {
            official_account: official_account.into(),
            msg_key_list,
            reason: None,
        }
    }
}

/// The outcome of one MsgKey of a recall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecallRet {
    #[serde(rename = "MsgKey")]
    pub msg_key: String,
    /// 0: recalled; anything else: this message was not recalled.
    #[serde(rename = "RetCode")]
    pub ret_code: i64,
}

/// Reply of `official_account_msg_recall`. `ErrorCode` 0 says the call was processed, not that
/// every message was recalled: each key's own result is in `RecallRetList`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OfficialAccountMsgRecallResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    /// `None` when the reply has no `RecallRetList` at all.
    #[serde(
        rename = "RecallRetList",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub recall_ret_list: Option<Vec<RecallRet>>,
}

impl OfficialAccountMsgRecallResponse {
    /// The `RetCode` the reply gives `msg_key`, if it lists it.
    pub fn ret_code(&self, msg_key: &str) -> Option<i64> {
        self.recall_ret_list
            .as_deref()?
            .iter()
            .find(|r| r.msg_key == msg_key)
            .map(|r| r.ret_code)
    }
}

/// One entry of `OfficialAccountIdList`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfficialAccountId {
    #[serde(rename = "Official_Account")]
    pub official_account: String,
}

/// A field of an official account's details that `ResponseFilter` can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OfficialAccountInfoField {
    CreateTime,
    Name,
    #[serde(rename = "Owner_Account")]
    OwnerAccount,
    LastMsgTime,
    SubscriberNum,
    Introduction,
    FaceUrl,
    Organization,
    CustomString,
}

impl OfficialAccountInfoField {
    /// Every field, in the documentation's order.
    pub const ALL: [OfficialAccountInfoField; 9] = [
        OfficialAccountInfoField::CreateTime,
        OfficialAccountInfoField::Name,
        OfficialAccountInfoField::OwnerAccount,
        OfficialAccountInfoField::LastMsgTime,
        OfficialAccountInfoField::SubscriberNum,
        OfficialAccountInfoField::Introduction,
        OfficialAccountInfoField::FaceUrl,
        OfficialAccountInfoField::Organization,
        OfficialAccountInfoField::CustomString,
    ];

    /// The wire name, e.g. `Owner_Account`.
    pub fn name(self) -> &'static str {
        match self {
            OfficialAccountInfoField::CreateTime => "CreateTime",
            OfficialAccountInfoField::Name => "Name",
            OfficialAccountInfoField::OwnerAccount => "Owner_Account",
            OfficialAccountInfoField::LastMsgTime => "LastMsgTime",
            OfficialAccountInfoField::SubscriberNum => "SubscriberNum",
            OfficialAccountInfoField::Introduction => "Introduction",
            OfficialAccountInfoField::FaceUrl => "FaceUrl",
            OfficialAccountInfoField::Organization => "Organization",
            OfficialAccountInfoField::CustomString => "CustomString",
        }
    }
}

/// `ResponseFilter` of `get_official_account_info`: an object of filters, not a list. Absent,
/// every field comes back.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ResponseFilter {
    /// The account fields to return.
    #[serde(
        rename = "OfficialAccountBaseInfoFilter",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub official_account_base_info_filter: Vec<OfficialAccountInfoField>,
}

impl ResponseFilter {
    /// A filter that returns only `fields`.
    pub fn only(fields: impl IntoIterator<Item = OfficialAccountInfoField>) -> Self {
        ResponseFilter {
            official_account_base_info_filter: fields.into_iter().collect(),
        }
    }
}

/// `get_official_account_info`: at most [`MAX_OFFICIAL_ACCOUNT_INFO_IDS`] accounts a call
/// (see [`GetOfficialAccountInfoRequest::chunks`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetOfficialAccountInfoRequest {
    #[serde(rename = "OfficialAccountIdList")]
    pub official_account_id_list: Vec<OfficialAccountId>,
    #[serde(
        rename = "ResponseFilter",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub response_filter: Option<ResponseFilter>,
}

impl GetOfficialAccountInfoRequest {
    /// The calls that ask about `accounts`, at most [`MAX_OFFICIAL_ACCOUNT_INFO_IDS`] each, in
    /// order, each with `filter`.
    pub fn chunks(accounts: &[String], filter: Option<&ResponseFilter>) -> Vec<Self> {
        accounts
            .chunks(MAX_OFFICIAL_ACCOUNT_INFO_IDS)
            .map(|chunk| GetOfficialAccountInfoRequest {
                official_account_id_list: chunk
                    .iter()
                    .map(|a| OfficialAccountId {
                        official_account: a.clone(),
                    })
                    .collect(),
                response_filter: filter.cloned(),
            })
            .collect()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> serde_json::Value {
        let path = format!(
            "{}/tests/fixtures/api_docs/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn the_recall_samples_read_and_write_back_unchanged() {
        let doc = sample("official_account_msg_recall.request.json");
        let request: OfficialAccountMsgRecallRequest = serde_json::from_value(doc.clone()).unwrap();
        assert_eq!(request.reason.as_deref(), Some("Revocation Reason"));
        assert_eq!(serde_json::to_value(&request).unwrap(), doc);

        let doc = sample("official_account_msg_recall.response.json");
        let reply: OfficialAccountMsgRecallResponse = serde_json::from_value(doc.clone()).unwrap();
        assert_eq!(reply.envelope.error_code, 0);
        // ErrorCode 0, and yet the first message was not recalled.
        assert_eq!(reply.ret_code("71_1_1698741698"), Some(10030));
        assert_eq!(reply.ret_code("72_1_1698741699"), Some(0));
        assert_eq!(reply.ret_code("72_1_1698741698"), None);
        assert_eq!(serde_json::to_value(&reply).unwrap(), doc);
    }

    #[test]
    fn a_recall_without_a_reason_sends_none_and_a_reply_without_a_list_says_so() {
        let request = OfficialAccountMsgRecallRequest::new("@TOA#a", vec!["1_1_1".into()]);
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            serde_json::json!({"Official_Account": "@TOA#a", "MsgKeyList": ["1_1_1"]})
        );
        let reply: OfficialAccountMsgRecallResponse =
            serde_json::from_str(r#"{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}"#).unwrap();
        assert_eq!(reply.recall_ret_list, None);
        assert_eq!(reply.ret_code("1_1_1"), None);
    }

    #[test]
    fn the_info_sample_has_an_object_response_filter() {
        let doc = sample("get_official_account_info.request.json");
        let request: GetOfficialAccountInfoRequest = serde_json::from_value(doc.clone()).unwrap();
        let filter = request.response_filter.clone().unwrap();
        assert_eq!(
            filter.official_account_base_info_filter,
            OfficialAccountInfoField::ALL.to_vec()
        );
        assert_eq!(serde_json::to_value(&request).unwrap(), doc);
        // An array, the shape timcast used to send, is not a filter.
        assert!(
            serde_json::from_value::<GetOfficialAccountInfoRequest>(serde_json::json!({
                "OfficialAccountIdList": [{"Official_Account": "@TOA#a"}],
                "ResponseFilter": ["SubscriberNum"]
            }))
            .is_err()
        );
        for field in OfficialAccountInfoField::ALL {
            assert_eq!(serde_json::to_value(field).unwrap(), field.name());
        }
    }

    #[test]
    fn info_requests_ask_about_at_most_50_accounts_each() {
        let accounts: Vec<String> = (0..120).map(|i| format!("@TOA#a{i}")).collect();
        let filter = ResponseFilter::only([OfficialAccountInfoField::SubscriberNum]);
        let calls = GetOfficialAccountInfoRequest::chunks(&accounts, Some(&filter));
        let sizes: Vec<usize> = calls
            .iter()
            .map(|c| c.official_account_id_list.len())
            .collect();
        assert_eq!(sizes, [50, 50, 20]);
        let asked: Vec<&str> = calls
            .iter()
            .flat_map(|c| &c.official_account_id_list)
            .map(|id| id.official_account.as_str())
            .collect();
        assert_eq!(
            asked,
            accounts.iter().map(String::as_str).collect::<Vec<_>>()
        );
        assert!(
            calls
                .iter()
                .all(|c| c.response_filter.as_ref() == Some(&filter))
        );
        assert_eq!(
            serde_json::to_value(&calls[2]).unwrap()["ResponseFilter"],
            serde_json::json!({"OfficialAccountBaseInfoFilter": ["SubscriberNum"]})
        );
        assert!(GetOfficialAccountInfoRequest::chunks(&[], None).is_empty());
    }
}
