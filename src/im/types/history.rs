//! One-to-one message history: `openim/admin_getroammsg` ("Pulling Historical One-to-one
//! Messages").
//!
//! The conversation of `Operator_Account` and `Peer_Account`, seen from the operator's side,
//! between `MinTime` and `MaxTime` (Unix seconds), newest first. A reply holds at most about
//! 13 KB; `Complete: 0` means there is more, fetched by asking again with `MaxTime` set to the
//! reply's `LastMsgTime` and `LastMsgKey` to its `LastMsgKey` ([`GetRoamMsgRequest::next_page`]).
//! The server keeps roaming history for 7 days by default (longer on paid editions). A message
//! sent through sendmsg or batchsendmsg with `SyncOtherMachine: 2` is not in the sender's
//! history: look it up with the recipient as the operator and the sender as the peer.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Envelope, Reply};

/// Messages asked for per page (the documentation's example); the server may return fewer
/// (13 KB a reply).
pub const ROAM_MSG_PAGE: u32 = 100;

/// `admin_getroammsg`: one page of a one-to-one conversation's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetRoamMsgRequest {
    /// Whose view of the conversation: the recipient, for a message sent with
    /// `SyncOtherMachine: 2`.
    #[serde(rename = "Operator_Account")]
    pub operator_account: String,
    /// The other party.
    #[serde(rename = "Peer_Account")]
    pub peer_account: String,
    /// Most messages wanted in this reply.
    #[serde(rename = "MaxCnt")]
    pub max_cnt: u32,
    /// The oldest message time wanted, Unix seconds.
    #[serde(rename = "MinTime")]
    pub min_time: u64,
    /// The newest message time wanted, Unix seconds.
    #[serde(rename = "MaxTime")]
    pub max_time: u64,
    /// The previous reply's `LastMsgKey`, when continuing.
    #[serde(
        rename = "LastMsgKey",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_msg_key: Option<String>,
}

impl GetRoamMsgRequest {
    /// The first page of the conversation between `operator` and `peer` in
    /// `[min_time, max_time]`.
    pub fn first_page(operator: &str, peer: &str, min_time: u64, max_time: u64) -> Self {
        GetRoamMsgRequest {
            operator_account: operator.to_owned(),
            peer_account: peer.to_owned(),
            max_cnt: ROAM_MSG_PAGE,
            min_time,
            max_time,
            last_msg_key: None,
        }
    }

    /// The request for the page after `reply`, as the documentation says: `MaxTime` becomes
    /// the reply's `LastMsgTime` and `LastMsgKey` its `LastMsgKey`. `None` when the reply was
    /// complete, or when asking again would not move (a reply that does not advance).
    pub fn next_page(&self, reply: &GetRoamMsgResponse) -> Option<GetRoamMsgRequest> {
        if reply.is_complete() || reply.msg_list.is_empty() || reply.last_msg_key.is_empty() {
            return None;
        }
        let next = GetRoamMsgRequest {
            max_time: reply.last_msg_time,
            last_msg_key: Some(reply.last_msg_key.clone()),
            ..self.clone()
        };
        (next != *self).then_some(next)
    }
}

/// One message of the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoamMsg {
    #[serde(rename = "From_Account", default)]
    pub from_account: String,
    #[serde(rename = "To_Account", default)]
    pub to_account: String,
    /// The sender's `MsgSeq` (a u32; read wider so one odd message does not spoil a page).
    #[serde(rename = "MsgSeq", default)]
    pub msg_seq: u64,
    /// The sender's `MsgRandom`.
    #[serde(rename = "MsgRandom", default)]
    pub msg_random: u64,
    /// Server time of the message, Unix seconds.
    #[serde(rename = "MsgTimeStamp", default)]
    pub msg_time_stamp: u64,
    /// Marks recalled messages.
    #[serde(rename = "MsgFlagBits", default)]
    pub msg_flag_bits: u64,
    /// 1 once the recipient sent a read receipt.
    #[serde(
        rename = "IsPeerRead",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub is_peer_read: Option<u64>,
    /// What `admin_msgwithdraw` takes to recall it.
    #[serde(rename = "MsgKey", default)]
    pub msg_key: String,
    /// Kept as JSON: the history holds messages of every kind, not only timcast's.
    #[serde(rename = "MsgBody", default)]
    pub msg_body: Value,
    #[serde(
        rename = "CloudCustomData",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub cloud_custom_data: Option<String>,
}

/// Reply of `admin_getroammsg`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GetRoamMsgResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    /// 1: every message of the range was returned; 0: ask for the next page.
    #[serde(rename = "Complete", default)]
    pub complete: u64,
    #[serde(rename = "MsgCnt", default)]
    pub msg_cnt: u64,
    /// Time of the last (oldest) message of this page.
    #[serde(rename = "LastMsgTime", default)]
    pub last_msg_time: u64,
    /// Key of the last (oldest) message of this page.
    #[serde(rename = "LastMsgKey", default)]
    pub last_msg_key: String,
    #[serde(rename = "MsgList", default)]
    pub msg_list: Vec<RoamMsg>,
}

impl GetRoamMsgResponse {
    /// Whether every message of the range has been returned.
    pub fn is_complete(&self) -> bool {
        self.complete == 1
    }
}

impl Reply for GetRoamMsgResponse {
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    fn malformed(&self) -> Option<String> {
        if self.complete > 1 {
            return Some(format!("Complete is {}, not 0 or 1", self.complete));
        }
        if !self.is_complete() && (self.msg_list.is_empty() || self.last_msg_key.is_empty()) {
            return Some(
                "Complete is 0 but the reply gives no messages or no LastMsgKey to continue from"
                    .to_owned(),
            );
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documentation's sample reply (two of its twelve messages).
    const SAMPLE: &str = r#"{
        "ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0,
        "Complete": 0, "MsgCnt": 2, "LastMsgTime": 1584669680,
        "LastMsgKey": "549396494_2578554_1584669680",
        "MsgList": [
            {"From_Account": "user1", "To_Account": "user2", "MsgSeq": 549396494,
             "MsgRandom": 2578554, "MsgTimeStamp": 1584669680, "MsgFlagBits": 0, "IsPeerRead": 0,
             "MsgKey": "549396494_2578554_1584669680",
             "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "msg 1"}}],
             "CloudCustomData": "your cloud custom data"},
            {"From_Account": "user2", "To_Account": "user1", "MsgSeq": 1054803289,
             "MsgRandom": 7201, "MsgTimeStamp": 1584669689, "MsgFlagBits": 0, "IsPeerRead": 0,
             "MsgKey": "1054803289_7201_1584669689",
             "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "msg 2"}}]}
        ]
    }"#;

    #[test]
    fn the_documented_request_and_sample_reply_round_trip() {
        let request = GetRoamMsgRequest {
            max_cnt: 100,
            ..GetRoamMsgRequest::first_page("user2", "user1", 1_584_669_600, 1_584_673_200)
        };
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            serde_json::json!({"Operator_Account": "user2", "Peer_Account": "user1",
                "MaxCnt": 100, "MinTime": 1584669600, "MaxTime": 1584673200})
        );
        let reply: GetRoamMsgResponse = serde_json::from_str(SAMPLE).unwrap();
        assert!(reply.malformed().is_none());
        assert_eq!(reply.msg_list.len(), 2);
        assert_eq!(reply.msg_list[0].msg_seq, 549_396_494);
        assert_eq!(reply.msg_list[0].msg_random, 2_578_554);
        assert_eq!(reply.msg_list[1].from_account, "user2");
        // The documented continuation: MaxTime from LastMsgTime, and LastMsgKey.
        let next = request.next_page(&reply).unwrap();
        assert_eq!(
            serde_json::to_value(&next).unwrap(),
            serde_json::json!({"Operator_Account": "user2", "Peer_Account": "user1",
                "MaxCnt": 100, "MinTime": 1584669600, "MaxTime": 1584669680,
                "LastMsgKey": "549396494_2578554_1584669680"})
        );
        // A reply that does not move the request on ends the paging instead of looping.
        assert_eq!(next.next_page(&reply), None);
    }

    #[test]
    fn a_complete_reply_ends_the_paging_and_an_incomplete_one_must_say_where_to_go_on() {
        let request = GetRoamMsgRequest::first_page("a", "b", 1, 2);
        let done = GetRoamMsgResponse {
            envelope: Envelope::ok(),
            complete: 1,
            ..GetRoamMsgResponse::default()
        };
        assert!(done.malformed().is_none());
        assert_eq!(request.next_page(&done), None);
        let stuck = GetRoamMsgResponse {
            envelope: Envelope::ok(),
            complete: 0,
            ..GetRoamMsgResponse::default()
        };
        assert!(stuck.malformed().unwrap().contains("LastMsgKey"));
        let odd = GetRoamMsgResponse {
            complete: 7,
            ..done
        };
        assert!(odd.malformed().unwrap().contains("Complete is 7"));
    }
}
