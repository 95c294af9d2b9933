//! Chatbots: `send_stream_msg` (a stream's chunks under one `MsgKey`) and `get_all_robots`.

use rand::RngExt;
use serde_json::{Value, json};

use crate::im::Endpoint;
use crate::sandbox::state::{Delivery, Stream};
use crate::sandbox::validate;

use super::{App, Handled, ok_reply};

impl App {
    pub(super) fn stream(&self, body: &[u8], now: u64) -> Handled {
        let obj = validate::object(body, 10004)?;
        let chunk = validate::stream(&obj)?;
        if !self.config.directory.is_robot(&chunk.from) {
            return Err((
                10004,
                format!("From_Account {:?} is not a chatbot", chunk.from),
            ));
        }
        if !self.config.directory.is_account(&chunk.to) {
            return Err((10004, format!("To_Account {:?} does not exist", chunk.to)));
        }
        if let Some(&code) = self.config.scripted_errors.get(&chunk.to) {
            return Err((code, format!("scripted error for {}", chunk.to)));
        }
        let mut state = self.lock();
        let msg_key = match &chunk.msg_key {
            None => {
                let random = state.rng.random::<u32>();
                let (key, _) = state.mint_msg_key(random, now);
                state.streams.insert(
                    key.clone(),
                    Stream {
                        from: chunk.from.clone(),
                        to: chunk.to.clone(),
                        finished: false,
                    },
                );
                key
            }
            Some(key) => match state.streams.get(key) {
                None => return Err((10004, format!("unknown stream MsgKey {key:?}"))),
                Some(s) if s.from != chunk.from || s.to != chunk.to => {
                    return Err((10004, format!("MsgKey {key:?} belongs to another stream")));
                }
                Some(s) if s.finished => {
                    return Err((10004, format!("the stream {key:?} has finished")));
                }
                Some(_) => key.clone(),
            },
        };
        if chunk.finish
            && let Some(s) = state.streams.get_mut(&msg_key)
        {
            s.finished = true;
        }
        state.deliver(Delivery::new(
            Endpoint::SendStreamMsg,
            chunk.from,
            chunk.to,
            msg_key.clone(),
            now,
            json!({"Chunk": chunk.chunk, "Finish": u8::from(chunk.finish)}),
        ));
        let mut reply = ok_reply();
        reply.insert("MsgKey".into(), msg_key.into());
        Ok(reply)
    }

    pub(super) fn robots(&self, body: &[u8]) -> Handled {
        validate::object(body, 10004)?;
        let mut reply = ok_reply();
        reply.insert(
            "Robot_Account".into(),
            Value::Array(
                self.config
                    .directory
                    .robots
                    .iter()
                    .map(|r| Value::from(r.as_str()))
                    .collect(),
            ),
        );
        Ok(reply)
    }
}
