//! `controls:`: sync, lifetime, unread and conversation-list behaviour, callbacks.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::HumanDuration;

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
