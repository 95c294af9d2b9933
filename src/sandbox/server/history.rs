//! `admin_getroammsg`: a one-to-one conversation's history, from the deliveries the sandbox
//! recorded (a lost reply's message included: it was delivered), within the roaming retention,
//! newest first, paged by `MaxCnt`, the reply size and the configured page size.

use serde_json::{Map, Value, json};

use crate::sandbox::state::{Delivery, conversation};
use crate::sandbox::validate;

use super::{App, Handled, ok_reply};

/// What a reply holds besides its messages, in bytes (the envelope and the paging fields).
const REPLY_OVERHEAD_BYTES: usize = 200;

/// One message as the history lists it.
fn roam_item(d: &Delivery) -> Value {
    json!({
        "From_Account": d.sender,
        "To_Account": d.recipient,
        // A sender that gave no MsgSeq gets the server's own sequence number.
        "MsgSeq": d.msg_seq.unwrap_or(u32::try_from(d.seq).unwrap_or(u32::MAX)),
        "MsgRandom": d.msg_random.unwrap_or(0),
        "MsgTimeStamp": d.msg_time,
        // The sandbox marks a recalled message with bit 0.
        "MsgFlagBits": u32::from(d.recalled),
        "IsPeerRead": 0,
        "MsgKey": d.msg_key,
        "MsgBody": d.body,
    })
}

impl App {
    fn is_party(&self, id: &str) -> bool {
        self.config.admins.contains(id) || self.config.directory.is_account(id)
    }

    pub(super) fn roam_history(&self, body: &[u8], now: u64) -> Handled {
        let obj = validate::object(body, 90001)?;
        let query = validate::roam_query(&obj)?;
        for who in [&query.operator, &query.peer] {
            if !self.is_party(who) {
                return Err((70107, format!("account {who:?} is not imported")));
            }
        }
        let history = &self.config.history;
        let retention_ms = u64::try_from(history.retention.as_millis()).unwrap_or(u64::MAX);
        let kept_from_ms = now.saturating_sub(retention_ms);
        let state = self.lock();
        let key = conversation(&query.operator, &query.peer);
        let mut visible: Vec<&Delivery> = state
            .conversations
            .get(&key)
            .into_iter()
            .flatten()
            .filter_map(|&i| state.deliveries.get(i))
            .filter(|d| d.time_ms >= kept_from_ms)
            // SyncOtherMachine 2: not in the sender's own history.
            .filter(|d| !(d.sender == query.operator && d.sync_other_machine == Some(2)))
            .filter(|d| (query.min_time..=query.max_time).contains(&d.msg_time))
            .collect();
        visible.sort_by_key(|d| std::cmp::Reverse((d.msg_time, d.seq)));
        let start = query
            .last_msg_key
            .as_ref()
            .and_then(|last| visible.iter().position(|d| &d.msg_key == last))
            .map_or(0, |at| at + 1);
        let most = usize::try_from(query.max_cnt)
            .unwrap_or(usize::MAX)
            .min(history.page_size.unwrap_or(usize::MAX))
            .max(1);
        let mut list = Vec::new();
        let mut bytes = REPLY_OVERHEAD_BYTES;
        for d in visible.iter().skip(start) {
            if list.len() >= most {
                break;
            }
            let item = roam_item(d);
            let size = item.to_string().len() + 1;
            if !list.is_empty() && bytes + size > history.reply_bytes {
                break;
            }
            bytes += size;
            list.push(item);
        }
        let complete = start + list.len() >= visible.len();
        let (last_time, last_key) = list
            .last()
            .map(|m: &Value| (m["MsgTimeStamp"].clone(), m["MsgKey"].clone()))
            .unwrap_or((0.into(), "".into()));
        let mut reply: Map<String, Value> = ok_reply();
        reply.insert("Complete".into(), u32::from(complete).into());
        reply.insert("MsgCnt".into(), list.len().into());
        reply.insert("LastMsgTime".into(), last_time);
        reply.insert("LastMsgKey".into(), last_key);
        reply.insert("MsgList".into(), Value::Array(list));
        Ok(reply)
    }
}
