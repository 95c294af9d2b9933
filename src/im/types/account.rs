//! Checking that accounts were imported: `im_open_login_svc/account_check`.

use serde::{Deserialize, Serialize};

use super::{Envelope, Reply};

/// One account to check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckItem {
    #[serde(rename = "UserID")]
    pub user_id: String,
}

/// `account_check`: 1–100 UserIDs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountCheckRequest {
    #[serde(rename = "CheckItem")]
    pub check_item: Vec<CheckItem>,
}

impl AccountCheckRequest {
    /// A request for these UserIDs.
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(ids: I) -> Self {
        AccountCheckRequest {
            check_item: ids
                .into_iter()
                .map(|id| CheckItem { user_id: id.into() })
                .collect(),
        }
    }
}

/// Whether an account was imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountStatus {
    Imported,
    NotImported,
    /// A value the docs do not list.
    #[serde(untagged)]
    Other(String),
}

/// One account's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountCheckResult {
    #[serde(rename = "UserID")]
    pub user_id: String,
    #[serde(rename = "ResultCode", default)]
    pub result_code: i64,
    #[serde(rename = "ResultInfo", default)]
    pub result_info: String,
    #[serde(
        rename = "AccountStatus",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub account_status: Option<AccountStatus>,
}

/// Reply of `account_check`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AccountCheckResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    #[serde(rename = "ResultItem", default)]
    pub result_item: Vec<AccountCheckResult>,
}

reply!(AccountCheckResponse);
