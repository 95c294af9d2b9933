//! The account endpoint `account_check`.

use serde_json::{Map, Value};

use super::{Refusal, refuse};

/// `account_check`: 1–100 `{"UserID": String}` items.
pub(in crate::sandbox) fn account_check(obj: &Map<String, Value>) -> Result<Vec<String>, Refusal> {
    let Some(items) = obj.get("CheckItem").and_then(Value::as_array) else {
        return refuse(70402, "CheckItem is missing or not an Array");
    };
    if items.is_empty() || items.len() > crate::im::MAX_ACCOUNT_CHECK_ITEMS {
        return refuse(70206, "CheckItem must hold 1 to 100 accounts");
    }
    items
        .iter()
        .map(|item| match item.get("UserID") {
            Some(Value::String(s)) => Ok(s.clone()),
            _ => refuse(70402, "CheckItem[].UserID is missing or not a String"),
        })
        .collect()
}
