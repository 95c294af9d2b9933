//! Chatbots: `send_stream_msg` and `get_all_robots` (`openim_robot_http_svc`).

use serde::{Deserialize, Serialize};

use super::{Envelope, Reply};

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

reply!(GetAllRobotsResponse);
sent_reply!(SendStreamMsgResponse => |_r| None);
