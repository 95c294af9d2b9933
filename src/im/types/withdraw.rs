//! Recalling a one-to-one message: `openim/admin_msgwithdraw`.

use serde::{Deserialize, Serialize};

use super::{Envelope, Reply};

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

reply!(MsgWithdrawResponse);
