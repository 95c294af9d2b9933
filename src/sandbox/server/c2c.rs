//! One-to-one messages: `sendmsg` (with its 120 s duplicate rule), `batchsendmsg` (with its
//! per-minute recipient budget) and their recall, `admin_msgwithdraw`.

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::im::Endpoint;
use crate::sandbox::state::{Bucket, Delivery, SENDMSG_DEDUP_MS, SendDedupKey};
use crate::sandbox::validate::{self, C2cSend, Refusal};

use super::{App, Handled, ok_reply, sent_reply};

impl App {
    /// `From_Account`, or the calling admin when it is absent; it must exist.
    fn sender_of(&self, from: Option<&String>, caller: &str) -> Result<String, Refusal> {
        match from {
            None => Ok(caller.to_owned()),
            Some(f) if self.config.admins.contains(f) || self.config.directory.is_account(f) => {
                Ok(f.clone())
            }
            Some(f) => Err((
                20003,
                format!("sender {f:?} does not exist or is not imported"),
            )),
        }
    }

    /// The checks `sendmsg` and `batchsendmsg` share: size, JSON, the body's fields (by
    /// `fields`) and the sender, which comes back with the send.
    fn c2c_send(
        &self,
        body: &[u8],
        caller: &str,
        fields: fn(&Map<String, Value>) -> Result<C2cSend, Refusal>,
    ) -> Result<(C2cSend, String), Refusal> {
        self.size_check(body, 93000)?;
        let obj = validate::object(body, 90001)?;
        let send = fields(&obj)?;
        let from = self.sender_of(send.from.as_ref(), caller)?;
        Ok((send, from))
    }

    pub(super) fn sendmsg(&self, body: &[u8], now: u64, caller: &str) -> Handled {
        let (send, from) = self.c2c_send(body, caller, validate::sendmsg)?;
        let to = send.to.first().cloned().unwrap_or_default();
        if !self.config.directory.is_account(&to) {
            return Err((90012, format!("To_Account {to:?} is not registered")));
        }
        if let Some(&code) = self.config.scripted_errors.get(&to) {
            return Err((code, format!("scripted error for {to}")));
        }
        let content = send.body.to_string();
        let key = SendDedupKey {
            from: from.clone(),
            msg_seq: send.msg_seq,
            msg_random: send.msg_random,
            content,
        };
        let mut state = self.lock();
        state.expire_dedup(now);
        if let Some(first) = state.sendmsg_seen.get(&key)
            && now.saturating_sub(first.at_ms) <= SENDMSG_DEDUP_MS
        {
            let (msg_key, msg_time) = (first.msg_key.clone(), first.msg_time);
            state.stats.duplicates_dropped += 1;
            return Ok(sent_reply(msg_time, msg_key));
        }
        let (msg_key, msg_time) = state.mint_msg_key(send.msg_random, now);
        let delivery = Delivery {
            msg_seq: send.msg_seq,
            msg_random: Some(send.msg_random),
            sync_other_machine: send.sync_other_machine,
            ..Delivery::new(Endpoint::SendMsg, from, to, msg_key.clone(), now, send.body)
        };
        state.sendmsg_seen.remember(key, &delivery);
        state.deliver(delivery);
        Ok(sent_reply(msg_time, msg_key))
    }

    pub(super) fn batchsendmsg(&self, body: &[u8], now: u64, caller: &str) -> Handled {
        let (send, from) = self.c2c_send(body, caller, validate::batchsendmsg)?;
        let mut state = self.lock();
        let limits = &self.config.limits;
        if limits.enabled {
            let bucket = state.batch_recipients.get_or_insert_with(|| {
                Bucket::new(
                    limits.batch_recipients_per_minute,
                    Duration::from_secs(60),
                    now,
                )
            });
            if !bucket.take(send.to.len() as f64, now) {
                state.stats.rate_limited += 1;
                return Err((
                    60007,
                    format!(
                        "over {} batch recipients per minute",
                        limits.batch_recipients_per_minute
                    ),
                ));
            }
        }
        let mut errors = Vec::new();
        let mut delivered = Vec::new();
        for to in &send.to {
            if !self.config.directory.is_account(to) {
                errors.push(json!({"To_Account": to, "ErrorCode": 70107}));
            } else if let Some(&code) = self.config.scripted_errors.get(to) {
                errors.push(json!({"To_Account": to, "ErrorCode": code}));
            } else {
                delivered.push(to.clone());
            }
        }
        if delivered.is_empty() {
            return Err((90012, "invalid To_Account".into()));
        }
        let (msg_key, _) = state.mint_msg_key(send.msg_random, now);
        for to in delivered {
            state.deliver(Delivery {
                msg_seq: send.msg_seq,
                msg_random: Some(send.msg_random),
                sync_other_machine: send.sync_other_machine,
                ..Delivery::new(
                    Endpoint::BatchSendMsg,
                    from.clone(),
                    to,
                    msg_key.clone(),
                    now,
                    send.body.clone(),
                )
            });
        }
        let mut reply = ok_reply();
        reply.insert("MsgKey".into(), msg_key.into());
        if !errors.is_empty() {
            reply.insert("ErrorList".into(), Value::Array(errors));
        }
        Ok(reply)
    }

    pub(super) fn withdraw(&self, body: &[u8]) -> Handled {
        let obj = validate::object(body, 90001)?;
        let (from, to, key) = validate::withdraw(&obj)?;
        let mut state = self.lock();
        let Some(&i) = state.by_key.get(&(from.clone(), to.clone(), key.clone())) else {
            return Err((20022, format!("no message {key:?} from {from} to {to}")));
        };
        match state.deliveries.get_mut(i) {
            Some(d) if d.recalled => Err((20023, "the message was already recalled".into())),
            Some(d) => {
                d.recalled = true;
                state.stats.recalls += 1;
                Ok(ok_reply())
            }
            None => Err((20022, format!("no message {key:?}"))),
        }
    }
}
