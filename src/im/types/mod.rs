//! Request and response bodies of the IM REST endpoints timcast uses, with their wire names.
//!
//! These are plain data: the client serializes them, the planner builds them from rendered
//! templates, and the sandbox may read valid bodies with them. Validation lives elsewhere (the
//! planner's checks and, independently, the sandbox's), so these types accept anything that has
//! the documented shape. Optional fields are left out of the JSON when `None`, because the
//! server treats an absent field differently from a zero (e.g. `MsgLifeTime`).
//!
//! This file owns what every call shares: [`Endpoint`], the documented limits, the reply
//! [`Envelope`] and the [`Reply`] trait; each call family's bodies live in a file of its own.

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
    AdminGetRoamMsg,
}

impl Endpoint {
    /// Every endpoint, for tables and counters.
    pub const ALL: [Endpoint; 10] = [
        Endpoint::SendMsg,
        Endpoint::BatchSendMsg,
        Endpoint::SendOfficialAccountMsg,
        Endpoint::OfficialAccountMsgRecall,
        Endpoint::GetOfficialAccountInfo,
        Endpoint::SendStreamMsg,
        Endpoint::GetAllRobots,
        Endpoint::AdminMsgWithdraw,
        Endpoint::AccountCheck,
        Endpoint::AdminGetRoamMsg,
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
            Endpoint::AdminGetRoamMsg => "openim/admin_getroammsg",
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

    /// Why a success is not well formed, when it is not: the client then treats the call as
    /// one whose reply was lost, because it cannot tell what the server did.
    fn malformed(&self) -> Option<String> {
        None
    }

    /// A field that, when the reply has it, says per item what the call did, so the reply
    /// stands even with an `ActionStatus` other than `OK` (and `ErrorCode` 0): batchsendmsg's
    /// `ErrorList`. Without it such a reply is malformed (see [`Reply::malformed`]).
    fn authoritative_field() -> Option<&'static str>
    where
        Self: Sized,
    {
        None
    }
}

/// Longest MsgKey timcast accepts. The docs give 50 characters for sendmsg; a key longer than
/// this is not a key at all (a broken or hostile server).
pub const MAX_MSG_KEY_BYTES: usize = 128;
/// The range of a plausible `MsgTime` (Unix seconds): 2000-01-01 to 2100-01-01.
const PLAUSIBLE_MSG_TIME: std::ops::RangeInclusive<u64> = 946_684_800..=4_102_444_800;

/// Why a sent message's `MsgKey` and `MsgTime` cannot be what the server says they are.
///
/// A key is the digits and underscores of the docs' `89541_1_1572870301`; recall needs it as
/// it was given, so one that is not is not recorded.
pub fn sent_fields_problem(msg_key: Option<&str>, msg_time: Option<u64>) -> Option<String> {
    if let Some(key) = msg_key {
        if key.is_empty() {
            return Some("the MsgKey is empty".to_owned());
        }
        if key.len() > MAX_MSG_KEY_BYTES {
            return Some(format!(
                "the MsgKey is {} bytes long, at most {MAX_MSG_KEY_BYTES} are plausible",
                key.len()
            ));
        }
        if !key.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
            return Some(format!("the MsgKey {key:?} is not digits and underscores"));
        }
    }
    if let Some(time) = msg_time
        && !PLAUSIBLE_MSG_TIME.contains(&time)
    {
        return Some(format!("the MsgTime {time} is not a plausible Unix time"));
    }
    None
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

/// A reply to a send, whose `MsgKey` (and `MsgTime`, when the type has one) must be well formed.
macro_rules! sent_reply {
    ($($t:ty => |$r:ident| $time:expr),* $(,)?) => {$(
        impl Reply for $t {
            fn envelope(&self) -> &Envelope {
                &self.envelope
            }

            fn malformed(&self) -> Option<String> {
                let $r = self;
                super::sent_fields_problem($r.msg_key.as_deref(), $time)
            }
        }
    )*};
}

mod account;
mod elements;
mod history;
mod official;
mod push;
mod robot;
mod sendmsg;
mod withdraw;

pub use account::*;
pub use elements::*;
pub use history::*;
pub use official::*;
pub use push::*;
pub use robot::*;
pub use sendmsg::*;
pub use withdraw::*;
