//! Official accounts: `send_official_account_msg` (with its duplicate rule and per-account
//! limits), its recall, and `get_official_account_info`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::im::Endpoint;
use crate::sandbox::state::{Bucket, Delivery, OfficialDedupKey};
use crate::sandbox::validate;

use super::{App, Handled, ok_reply, sent_reply};

/// The `RetCode` of a key the account never sent (see [`App::official_recall`]).
const NO_SUCH_BROADCAST: i64 = 10030;
/// The `RetCode` of a key already recalled.
const ALREADY_RECALLED: i64 = 20023;

impl App {
    fn admin(&self) -> Option<&str> {
        self.config.admins.iter().next().map(String::as_str)
    }

    pub(super) fn official(&self, body: &[u8], now: u64) -> Handled {
        self.size_check(body, 80002)?;
        let obj = validate::object(body, 10004)?;
        let send = validate::official(&obj)?;
        let Some(&subscribers) = self.config.directory.official_accounts.get(&send.account) else {
            return Err((
                10010,
                format!("official account {:?} does not exist", send.account),
            ));
        };
        if let Some(&code) = self.config.scripted_errors.get(&send.account) {
            return Err((code, format!("scripted error for {}", send.account)));
        }
        let key = OfficialDedupKey {
            account: send.account.clone(),
            random: send.random,
            content: send.body.to_string(),
        };
        let mut state = self.lock();
        state.expire_dedup(now);
        // A repeat is answered like the original (the docs leave the shape unverified) and
        // does not count against the account's limits, since nothing is sent.
        if let Some(first) = state.official_seen.get(&key) {
            let (msg_key, msg_time) = (first.msg_key.clone(), first.msg_time);
            state.stats.duplicates_dropped += 1;
            return Ok(sent_reply(msg_time, msg_key));
        }
        let limits = &self.config.limits;
        if limits.enabled {
            let per_second = state
                .official_second
                .entry(send.account.clone())
                .or_insert_with(|| {
                    Bucket::new(
                        limits.official_messages_per_second,
                        Duration::from_secs(1),
                        now,
                    )
                })
                .clone();
            let hour = state.official_hour.entry(send.account.clone()).or_default();
            while hour
                .front()
                .is_some_and(|t| now.saturating_sub(*t) >= 3_600_000)
            {
                hour.pop_front();
            }
            let hour_full = hour.len() >= limits.official_broadcasts_per_hour as usize;
            let mut second = per_second;
            if hour_full || !second.take(1.0, now) {
                state.stats.rate_limited += 1;
                return Err((
                    10023,
                    "sending too often: at most 1 message per second and 2 broadcasts per hour \
                     per official account"
                        .to_owned(),
                ));
            }
            state.official_second.insert(send.account.clone(), second);
            state
                .official_hour
                .entry(send.account.clone())
                .or_default()
                .push_back(now);
        }
        let (msg_key, msg_time) = state.mint_msg_key(1, now);
        let account = send.account.clone();
        let delivery = Delivery {
            subscribers: Some(subscribers),
            ..Delivery::new(
                Endpoint::SendOfficialAccountMsg,
                account.clone(),
                account,
                msg_key.clone(),
                now,
                send.body,
            )
        };
        state.official_seen.remember(key, &delivery);
        state.deliver(delivery);
        Ok(sent_reply(msg_time, msg_key))
    }

    /// Recalls each key on its own, as the docs' reply shows: `ErrorCode` 0 for a processed
    /// call, and a `RetCode` per key in `RecallRetList`. A key the account never sent gets
    /// 10030 (the code the documentation's sample gives a key that was not recalled; its
    /// meaning is not documented) and one already withdrawn 20023 (admin_msgwithdraw's code
    /// for it; the official account docs give none).
    pub(super) fn official_recall(&self, body: &[u8]) -> Handled {
        let obj = validate::object(body, 10004)?;
        let (account, keys, reason) = validate::official_recall(&obj)?;
        if !self
            .config
            .directory
            .official_accounts
            .contains_key(&account)
        {
            return Err((
                10010,
                format!("official account {account:?} does not exist"),
            ));
        }
        let mut state = self.lock();
        let mut results = Vec::with_capacity(keys.len());
        for key in keys {
            let index = state
                .by_key
                .get(&(account.clone(), account.clone(), key.clone()))
                .copied();
            let code = match index.and_then(|i| state.deliveries.get_mut(i)) {
                None => NO_SUCH_BROADCAST,
                Some(d) if d.recalled => ALREADY_RECALLED,
                Some(d) => {
                    d.recalled = true;
                    d.recall_reason.clone_from(&reason);
                    0
                }
            };
            if code == 0 {
                state.stats.recalls += 1;
            }
            results.push(json!({"MsgKey": key, "RetCode": code}));
        }
        let mut reply = ok_reply();
        reply.insert("RecallRetList".into(), Value::Array(results));
        Ok(reply)
    }

    pub(super) fn official_info(&self, body: &[u8]) -> Handled {
        let obj = validate::object(body, 10004)?;
        let ids = validate::official_ids(&obj)?;
        let filter = validate::official_filter(&obj)?;
        let mut list = Vec::new();
        for id in ids {
            let Some(&subscribers) = self.config.directory.official_accounts.get(&id) else {
                return Err((10010, format!("official account {id:?} does not exist")));
            };
            let mut info = serde_json::Map::new();
            info.insert("Official_Account".into(), id.clone().into());
            let fields = [
                ("Name", Value::from(id.trim_start_matches("@TOA#"))),
                (
                    "Owner_Account",
                    Value::from(self.admin().unwrap_or("administrator")),
                ),
                ("SubscriberNum", Value::from(subscribers)),
            ];
            for (name, value) in fields {
                if filter.as_ref().is_none_or(|f| f.iter().any(|n| n == name)) {
                    info.insert(name.into(), value);
                }
            }
            list.push(Value::Object(info));
        }
        let mut reply = ok_reply();
        reply.insert("OfficialAccountInfoList".into(), Value::Array(list));
        Ok(reply)
    }
}
