//! `account_check`: whether each UserID is in the sandbox's directory.

use serde_json::{Value, json};

use crate::sandbox::validate;

use super::{App, Handled, ok_reply};

impl App {
    pub(super) fn account_check(&self, body: &[u8]) -> Handled {
        let obj = validate::object(body, 90001)?;
        let ids = validate::account_check(&obj)?;
        let items: Vec<Value> = ids
            .into_iter()
            .map(|id| {
                let status = if self.config.directory.is_account(&id) {
                    "Imported"
                } else {
                    "NotImported"
                };
                json!({"UserID": id, "ResultCode": 0, "ResultInfo": "", "AccountStatus": status})
            })
            .collect();
        let mut reply = ok_reply();
        reply.insert("ResultItem".into(), Value::Array(items));
        Ok(reply)
    }
}
