//! The typed campaign model: what a valid campaign file means.
//!
//! These types are the single source of truth for the file format: `timcast schema` derives the
//! JSON Schema from them, the structural check walks that schema, and the doc comments become
//! its descriptions. Deserialized only after the checks have passed, so every field here is
//! already known to have the right shape.
//!
//! This file owns the top level (the campaign, its app and its audience); each other section
//! of the file, and the scalar values written as text, has a file of its own beside it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod caps;
mod controls;
mod delivery;
mod message;
mod notify;
mod push;
mod schedule;
mod values;
mod variants;

pub use caps::*;
pub use controls::*;
pub use delivery::*;
pub use message::*;
pub use notify::*;
pub use push::*;
pub use schedule::*;
pub use values::*;
pub use variants::*;

/// A broadcast campaign on the Tencent Cloud IM REST API (timcast file format, version 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "timcast campaign")]
pub struct Campaign {
    /// Format version of this file; must be 1.
    pub version: u32,
    /// Unique name of the campaign: its key in the journal. Letters, digits, `.`, `_` and `-`.
    pub name: String,
    /// What the campaign is for, shown in plans and reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The IM application; environment variables and flags override it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<App>,
    /// Who receives the campaign: a CSV of user IDs, or an official account's subscribers.
    pub audience: Audience,
    /// `From_Account`: the sender's UserID (a `@RBT#` chatbot or any account); the admin when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    /// Campaign-wide template variables, available as `{{name}}` and `{{vars.name}}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, serde_json::Value>,
    /// `MsgBody`: the message elements, in order. Text fields are Handlebars templates.
    pub message: Vec<MessageElement>,
    /// Send as a chatbot stream (`send_stream_msg`): only with a `@RBT#` sender and text elements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<Stream>,
    /// `CloudCustomData`: a template; the rendered string is delivered with the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_custom_data: Option<String>,
    /// `OfflinePushInfo`: the notification shown when the recipient is offline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<Push>,
    /// Message controls: sync, lifetime, unread and conversation-list behaviour, callbacks.
    #[serde(default)]
    pub controls: Controls,
    /// How fast and how the sends go out.
    #[serde(default)]
    pub delivery: Delivery,
    /// When the campaign may be sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// Webhooks told when a run ends, added to those of `timcast.toml`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<Notify>,
    /// An A/B/n test: each recipient gets one variant, chosen by a hash of the campaign name
    /// and their UserID (the same every run, whatever the CSV's order).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<Variant>,
    /// A control group, e.g. `10%`: chosen by the same kind of hash, planned and journaled as
    /// `held out`, never sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holdout: Option<Percent>,
    /// Translations of `message` and `push` by BCP 47 tag (`zh`, `zh-Hant`, `pt-BR`), chosen
    /// by `audience.locale_column`, falling back by prefix to the default message.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub locales: BTreeMap<String, LocaleContent>,
    /// Labels of the campaign (`promo`, `transactional`), recorded in the journal when it is
    /// applied, so that other campaigns' frequency caps can count by them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Not to send to a recipient who already got `max` messages in `per` from campaigns in
    /// the journal: e.g. `{max: 2, per: 7d, tags: [promo]}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_cap: Option<FrequencyCap>,
}

/// The IM application (SDKAppID, data centre, admin). The secret key never goes here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct App {
    /// SDKAppID from the IM console (`TIM_SDKAPPID` overrides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdkappid: Option<u64>,
    /// The data centre that hosts the app (`TIM_REGION` overrides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
    /// The App admin's UserID used as `identifier` (`TIM_ADMIN` overrides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<String>,
}

/// Data centres and their REST domains (shared with the client).
pub use crate::im::settings::Region;

/// Who receives the campaign. Exactly one of `csv` and `official_account`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Audience {
    /// CSV file of recipients, relative to the campaign file; its columns are template variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv: Option<String>,
    /// The CSV column that holds the recipient's UserID.
    #[serde(default = "default_user_id_column")]
    pub user_id_column: String,
    /// Suppression lists: CSV files whose users (same column) never receive the campaign.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// Instead of `csv`: an official account (`@TOA#...`); one call reaches every subscriber.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub official_account: Option<String>,
    /// What to do with a malformed CSV row: `fail` stops the plan, `skip` reports and skips it.
    #[serde(default)]
    pub on_bad_row: BadRowPolicy,
    /// The CSV column with each recipient's locale (a BCP 47 tag such as `zh-Hant-TW`), which
    /// picks their message from `locales`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale_column: Option<String>,
}

fn default_user_id_column() -> String {
    "user_id".to_owned()
}

/// What a malformed CSV row does to the plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BadRowPolicy {
    /// Refuse to plan until the row is fixed.
    #[default]
    Fail,
    /// Report the row with its number and leave it out.
    Skip,
}
