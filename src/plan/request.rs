//! API requests built from a rendered message and the campaign's settings, and the identity of
//! each send: its content hash and the `MsgRandom` / `MsgSeq` derived from it.
//!
//! A retry of the same content for the same recipient is byte-identical, so the server's
//! duplicate rules (sendmsg: sender, MsgSeq, MsgRandom and content within 120 s; official
//! accounts: content and Random within 5 minutes) recognise it.

use std::io::Write;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::campaign::model::{Callback, Campaign};
use crate::im::types as api;
use crate::render::RenderedMessage;

/// A content hash: SHA-256 of the request minus recipient and volatile fields, first 16 bytes.
pub type ContentHash = [u8; 16];

/// Hex form of a content hash, as the journal stores it.
pub fn hex(hash: &ContentHash) -> String {
    let mut out = String::with_capacity(hash.len() * 2);
    for &b in hash {
        out.push(char::from(HEX_DIGITS[usize::from(b >> 4)]));
        out.push(char::from(HEX_DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// Whether `text` is the [`hex`] of `hash`, without making the string: the planner compares
/// every journaled recipient's content hash with it.
pub fn is_hex_of(text: &str, hash: &ContentHash) -> bool {
    text.len() == hash.len() * 2
        && text.as_bytes().chunks_exact(2).zip(hash).all(|(pair, &b)| {
            pair[0] == HEX_DIGITS[usize::from(b >> 4)]
                && pair[1] == HEX_DIGITS[usize::from(b & 0xf)]
        })
}

/// The hash `text` is the [`hex`] of, if it is one (lower-case, as [`is_hex_of`] compares).
pub fn parse_hex(text: &str) -> Option<ContentHash> {
    let digit = |c: u8| {
        HEX_DIGITS
            .iter()
            .position(|&d| d == c)
            .and_then(|v| u8::try_from(v).ok())
    };
    let bytes = text.as_bytes();
    if bytes.len() != 32 {
        return None;
    }
    let mut hash = ContentHash::default();
    for (slot, pair) in hash.iter_mut().zip(bytes.chunks_exact(2)) {
        let &[high, low] = pair else {
            return None;
        };
        *slot = (digit(high)? << 4) | digit(low)?;
    }
    Some(hash)
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// The campaign-wide part of every request: sender and controls.
#[derive(Debug, Clone, Serialize)]
pub struct RequestSettings {
    pub sender: Option<String>,
    pub sync_other_machine: u32,
    pub msg_life_time: u32,
    pub send_msg_control: Vec<api::SendMsgControl>,
    pub forbid_callback_control: Vec<api::ForbidCallback>,
    pub online_only: bool,
}

impl RequestSettings {
    pub fn from_campaign(campaign: &Campaign) -> Self {
        let controls = &campaign.controls;
        let mut send_msg_control = Vec::new();
        if controls.no_unread {
            send_msg_control.push(api::SendMsgControl::NoUnread);
        }
        if controls.no_last_msg {
            send_msg_control.push(api::SendMsgControl::NoLastMsg);
        }
        if controls.with_mute_notifications {
            send_msg_control.push(api::SendMsgControl::WithMuteNotifications);
        }
        let forbid_callback_control = controls
            .skip_callbacks
            .iter()
            .map(|c| match c {
                Callback::BeforeSend => api::ForbidCallback::ForbidBeforeSendMsgCallback,
                Callback::AfterSend => api::ForbidCallback::ForbidAfterSendMsgCallback,
            })
            .collect();
        RequestSettings {
            sender: campaign.sender.clone(),
            sync_other_machine: if controls.sync_to_sender { 1 } else { 2 },
            msg_life_time: u32::try_from(controls.lifetime.as_secs()).unwrap_or(u32::MAX),
            send_msg_control,
            forbid_callback_control,
            online_only: controls.online_only,
        }
    }

    fn controls(&self) -> Option<Vec<api::SendMsgControl>> {
        Some(self.send_msg_control.clone()).filter(|c| !c.is_empty())
    }

    fn forbid(&self) -> Option<Vec<api::ForbidCallback>> {
        Some(self.forbid_callback_control.clone()).filter(|c| !c.is_empty())
    }

    /// `sendmsg` to one recipient.
    pub fn send_msg(
        &self,
        message: &RenderedMessage,
        to: &str,
        identity: Identity,
    ) -> api::SendMsgRequest {
        api::SendMsgRequest {
            sync_other_machine: Some(self.sync_other_machine),
            from_account: self.sender.clone(),
            to_account: to.to_owned(),
            msg_life_time: Some(self.msg_life_time),
            msg_seq: Some(identity.seq),
            msg_random: identity.random,
            msg_time_stamp: None,
            forbid_callback_control: self.forbid(),
            send_msg_control: self.controls(),
            msg_body: message.body.clone(),
            cloud_custom_data: message.cloud_custom_data.clone(),
            offline_push_info: message.push.clone(),
            support_message_extension: None,
            is_need_read_receipt: None,
            online_only_flag: self.online_only.then_some(1),
        }
    }

    /// `batchsendmsg` to up to 500 recipients with the same content.
    pub fn batch_send_msg(
        &self,
        message: &RenderedMessage,
        to: Vec<String>,
        identity: Identity,
    ) -> api::BatchSendMsgRequest {
        api::BatchSendMsgRequest {
            sync_other_machine: Some(self.sync_other_machine),
            from_account: self.sender.clone(),
            to_account: to,
            msg_life_time: Some(self.msg_life_time),
            msg_seq: Some(identity.seq),
            msg_random: identity.random,
            send_msg_control: self.controls(),
            msg_body: message.body.clone(),
            cloud_custom_data: message.cloud_custom_data.clone(),
            offline_push_info: message.push.clone(),
            is_need_read_receipt: None,
            online_only_flag: self.online_only.then_some(1),
        }
    }

    /// `send_official_account_msg` to every subscriber.
    pub fn official_account(
        &self,
        message: &RenderedMessage,
        account: &str,
        identity: Identity,
    ) -> api::SendOfficialAccountMsgRequest {
        api::SendOfficialAccountMsgRequest {
            official_account: account.to_owned(),
            random: identity.random,
            msg_body: message.body.clone(),
            offline_push_info: message.push.clone(),
            forbid_callback_control: self.forbid(),
            online_only_flag: self.online_only.then_some(1),
            send_msg_control: self
                .controls()
                .map(|c| {
                    c.into_iter()
                        .filter(|c| *c == api::SendMsgControl::NoLastMsg)
                        .collect::<Vec<_>>()
                })
                .filter(|c| !c.is_empty()),
            cloud_custom_data: message.cloud_custom_data.clone(),
        }
    }
}

/// The text a chatbot streams: the text elements joined, in order.
pub fn stream_text(message: &RenderedMessage) -> String {
    message
        .body
        .iter()
        .filter_map(|e| match e {
            api::MsgElement::Text(t) => Some(t.text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The text split into chunks of at most `chunk_chars` characters (at least one chunk).
pub fn stream_chunks(text: &str, chunk_chars: u32) -> Vec<String> {
    let size = usize::try_from(chunk_chars.max(1)).unwrap_or(usize::MAX);
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

/// Number of chunks [`stream_chunks`] makes, without making them.
pub fn stream_chunk_count(text: &str, chunk_chars: u32) -> u64 {
    let size = u64::from(chunk_chars.max(1));
    (text.chars().count() as u64).div_ceil(size).max(1)
}

/// `MsgRandom` (or `Random`) and `MsgSeq` of one call, derived from its identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Identity {
    pub random: u32,
    pub seq: u32,
}

impl Identity {
    /// Derived from (campaign, call key, content): the same send always gets the same values.
    pub fn derive(campaign: &str, call_key: &str, content: &ContentHash) -> Identity {
        let mut hasher = Sha256::new();
        hasher.update(campaign.as_bytes());
        hasher.update([0]);
        hasher.update(call_key.as_bytes());
        hasher.update([0]);
        hasher.update(content);
        let digest = hasher.finalize();
        let word =
            |i: usize| u32::from_be_bytes([digest[i], digest[i + 1], digest[i + 2], digest[i + 3]]);
        Identity {
            random: word(0),
            seq: word(4),
        }
    }
}

/// Hashes rendered messages together with the campaign's settings.
#[derive(Debug, Clone)]
pub struct ContentHasher {
    prefix: Sha256,
}

/// What one rendered message measures and hashes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentFacts {
    pub hash: ContentHash,
    /// Bytes of the message's JSON (body, custom data and push).
    pub message_bytes: usize,
    /// Bytes of the push `Desc` plus `Ext`.
    pub push_text_bytes: usize,
}

impl ContentHasher {
    pub fn new(settings: &RequestSettings) -> Self {
        let mut prefix = Sha256::new();
        let _ = serde_json::to_writer(HashWriter(&mut prefix, 0), settings);
        ContentHasher { prefix }
    }

    pub fn facts(&self, message: &RenderedMessage) -> ContentFacts {
        thread_local! {
            static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let mut hasher = self.prefix.clone();
        // One hash update over a reused buffer beats many small updates from the serializer.
        let message_bytes = BUFFER.with_borrow_mut(|buffer| {
            buffer.clear();
            let _ = serde_json::to_writer(
                &mut *buffer,
                &(&message.body, &message.cloud_custom_data, &message.push),
            );
            hasher.update(buffer.as_slice());
            buffer.len()
        });
        let digest = hasher.finalize();
        let mut hash = [0u8; 16];
        hash.copy_from_slice(&digest[..16]);
        let push_text_bytes = message.push.as_ref().map_or(0, |p| {
            p.desc.as_ref().map_or(0, String::len) + p.ext.as_ref().map_or(0, String::len)
        });
        ContentFacts {
            hash,
            message_bytes,
            push_text_bytes,
        }
    }
}

/// Feeds serialized bytes straight into the hash, counting them.
struct HashWriter<'a>(&'a mut Sha256, usize);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        self.1 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_is_hex_of_agree() {
        let hash: ContentHash = [
            0x00, 0x0f, 0xa5, 0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0xf0,
        ];
        let text = hex(&hash);
        assert_eq!(text, "000fa5ff0102030405060708090a0bf0");
        assert!(is_hex_of(&text, &hash));
        assert_eq!(parse_hex(&text), Some(hash));
        assert_eq!(parse_hex(&text.to_uppercase()), None);
        assert_eq!(parse_hex(&text[..30]), None);
        assert_eq!(parse_hex("h"), None);
        assert!(!is_hex_of(&text.to_uppercase(), &hash));
        assert!(!is_hex_of(&text[..30], &hash));
        let mut other = hash;
        other[15] = 0xf1;
        assert!(!is_hex_of(&text, &other));
    }

    #[test]
    fn identity_is_deterministic_and_distinct() {
        let h = [1u8; 16];
        assert_eq!(
            Identity::derive("c", "u1", &h),
            Identity::derive("c", "u1", &h)
        );
        assert_ne!(
            Identity::derive("c", "u1", &h),
            Identity::derive("c", "u2", &h)
        );
        assert_ne!(
            Identity::derive("c", "u1", &h),
            Identity::derive("c", "u1", &[2u8; 16])
        );
    }

    #[test]
    fn chunks_split_on_characters() {
        assert_eq!(stream_chunks("héllo wörld", 4), ["héll", "o wö", "rld"]);
        assert_eq!(stream_chunk_count("héllo wörld", 4), 3);
        assert_eq!(stream_chunks("", 4), [""]);
    }
}
