//! The sandbox's memory: what was delivered, dedup windows, streams, rate-limit buckets,
//! counters and pending injected faults. One mutex guards it; every critical section is short
//! and does no I/O except the optional delivery log line.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::Hash;
use std::io::Write;
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::config::LimitModel;
use crate::im::Endpoint;

/// The window in which `sendmsg` drops a repeat (same sender, MsgSeq, MsgRandom and content).
pub const SENDMSG_DEDUP_MS: u64 = 120_000;
/// The window in which an official account drops a repeat (same content and Random).
pub const OFFICIAL_DEDUP_MS: u64 = 300_000;

/// One message that reached a recipient (or, for official accounts, all its subscribers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Order of delivery, from 1.
    pub seq: u64,
    pub endpoint: Endpoint,
    /// `From_Account`, the admin when it was absent, or the official account.
    pub sender: String,
    /// The user, or the official account for a broadcast.
    pub recipient: String,
    pub msg_key: String,
    /// Server time of the send, unix seconds (the reply's `MsgTime`).
    pub msg_time: u64,
    /// Sandbox clock at delivery, unix milliseconds.
    pub time_ms: u64,
    /// `MsgBody` as sent; for a stream chunk `{"Chunk": …, "Finish": …}`.
    pub body: Value,
    /// Subscribers reached by an official account broadcast.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribers: Option<u64>,
    /// Withdrawn since.
    #[serde(default)]
    pub recalled: bool,
    /// The `Reason` an official account's recall gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recall_reason: Option<String>,
    /// The sender's `MsgSeq` (one-to-one sends that gave one), as the history reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_seq: Option<u32>,
    /// The sender's `MsgRandom` (one-to-one sends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_random: Option<u32>,
    /// `SyncOtherMachine` as sent: 2 keeps the message out of the sender's history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_other_machine: Option<u32>,
}

impl Delivery {
    /// A delivery at sandbox time `now_ms`, not yet numbered (see [`State::deliver`]).
    pub fn new(
        endpoint: Endpoint,
        sender: String,
        recipient: String,
        msg_key: String,
        now_ms: u64,
        body: Value,
    ) -> Self {
        Delivery {
            seq: 0,
            endpoint,
            sender,
            recipient,
            msg_key,
            msg_time: now_ms / 1000,
            time_ms: now_ms,
            body,
            subscribers: None,
            recalled: false,
            recall_reason: None,
            msg_seq: None,
            msg_random: None,
            sync_other_machine: None,
        }
    }

    /// Whether this is a one-to-one message, kept in the conversation's history.
    pub fn in_history(&self) -> bool {
        matches!(self.endpoint, Endpoint::SendMsg | Endpoint::BatchSendMsg)
    }
}

/// Counters per endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointStats {
    pub calls: u64,
    pub ok: u64,
    pub failed: u64,
}

/// Everything the sandbox counted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub endpoints: BTreeMap<Endpoint, EndpointStats>,
    /// Replies per non-zero error code.
    pub error_codes: BTreeMap<i64, u64>,
    pub deliveries: u64,
    /// Repeats answered OK without delivering again.
    pub duplicates_dropped: u64,
    pub rate_limited: u64,
    /// Transient failures injected (no effect).
    pub faults_injected: u64,
    /// Calls that took effect but whose reply was replaced by HTTP 502.
    pub lost_replies: u64,
    pub recalls: u64,
    /// Calls answered with a broken reply (`Faults::hostile_rate`), whether or not they took
    /// effect.
    #[serde(default)]
    pub hostile: u64,
}

/// A fault queued for the next matching call(s), for tests that provoke one specific answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Injected {
    /// Refuse with this API error code, without effect.
    Code(i64),
    /// Answer with this HTTP status and no API body, without effect.
    HttpStatus(u16),
    /// Take effect, then answer HTTP 502.
    LostReply,
}

#[derive(Debug, Clone)]
pub(crate) struct Injection {
    pub endpoint: Option<Endpoint>,
    pub what: Injected,
    pub remaining: u32,
}

/// A token bucket on the sandbox clock.
#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    capacity: f64,
    per_ms: f64,
    tokens: f64,
    last_ms: u64,
}

impl Bucket {
    pub(crate) fn new(capacity: u32, per: Duration, now_ms: u64) -> Self {
        let capacity = f64::from(capacity.max(1));
        let per_ms = capacity / (per.as_millis().max(1) as f64);
        Bucket {
            capacity,
            per_ms,
            tokens: capacity,
            last_ms: now_ms,
        }
    }

    pub(crate) fn take(&mut self, n: f64, now_ms: u64) -> bool {
        let elapsed = now_ms.saturating_sub(self.last_ms) as f64;
        self.tokens = (self.tokens + elapsed * self.per_ms).min(self.capacity);
        self.last_ms = self.last_ms.max(now_ms);
        if self.tokens >= n {
            self.tokens -= n;
            true
        } else {
            false
        }
    }
}

/// One endpoint's calls-per-second limit, counted the way [`LimitModel`] says.
#[derive(Debug, Clone)]
pub(crate) enum CallLimit {
    /// The times of the last `limit` accepted calls, oldest first: a call is accepted when
    /// fewer than `limit` are remembered or the oldest is at least `window_ms` old. Memory is
    /// bounded by the limit.
    Sliding {
        limit: usize,
        window_ms: u64,
        times: VecDeque<u64>,
    },
    /// Calls counted per window of `window_ms` aligned to the clock.
    Fixed {
        limit: u32,
        window_ms: u64,
        window: u64,
        count: u32,
    },
    Gcra(Bucket),
}

impl CallLimit {
    pub(crate) fn new(model: LimitModel, limit: u32, window: Duration, now_ms: u64) -> Self {
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
        match model {
            LimitModel::Sliding => CallLimit::Sliding {
                limit: usize::try_from(limit.max(1)).unwrap_or(usize::MAX),
                window_ms,
                times: VecDeque::new(),
            },
            LimitModel::Fixed => CallLimit::Fixed {
                limit: limit.max(1),
                window_ms,
                window: now_ms / window_ms,
                count: 0,
            },
            LimitModel::Gcra => CallLimit::Gcra(Bucket::new(limit, window, now_ms)),
        }
    }

    /// Counts a call at `now_ms`; false when it is over the limit (and then not counted).
    pub(crate) fn take(&mut self, now_ms: u64) -> bool {
        match self {
            CallLimit::Sliding {
                limit,
                window_ms,
                times,
            } => {
                // Calls read the clock before they queue for the lock: never step back.
                let now = times.back().map_or(now_ms, |last| now_ms.max(*last));
                if times.len() >= *limit {
                    match times.front() {
                        Some(oldest) if now.saturating_sub(*oldest) < *window_ms => return false,
                        _ => {}
                    }
                    times.pop_front();
                }
                times.push_back(now);
                true
            }
            CallLimit::Fixed {
                limit,
                window_ms,
                window,
                count,
            } => {
                let this = now_ms / *window_ms;
                if this > *window {
                    *window = this;
                    *count = 0;
                }
                if *count >= *limit {
                    return false;
                }
                *count += 1;
                true
            }
            CallLimit::Gcra(bucket) => bucket.take(1.0, now_ms),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct SendDedupKey {
    pub from: String,
    pub msg_seq: Option<u32>,
    pub msg_random: u32,
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct OfficialDedupKey {
    pub account: String,
    pub random: u32,
    pub content: String,
}

#[derive(Debug, Clone)]
pub(crate) struct FirstSend {
    pub at_ms: u64,
    pub msg_key: String,
    pub msg_time: u64,
}

/// The first sends of one duplicate rule, remembered for `window_ms`, oldest first.
pub(crate) struct DedupWindow<K> {
    window_ms: u64,
    seen: HashMap<K, FirstSend>,
    order: VecDeque<(u64, K)>,
}

impl<K: Clone + Eq + Hash> DedupWindow<K> {
    pub(crate) fn new(window_ms: u64) -> Self {
        DedupWindow {
            window_ms,
            seen: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// The first send with this key, if it is still remembered.
    pub(crate) fn get(&self, key: &K) -> Option<&FirstSend> {
        self.seen.get(key)
    }

    /// Remembers `delivery` as the first send with this key.
    pub(crate) fn remember(&mut self, key: K, delivery: &Delivery) {
        let first = FirstSend {
            at_ms: delivery.time_ms,
            msg_key: delivery.msg_key.clone(),
            msg_time: delivery.msg_time,
        };
        self.seen.insert(key.clone(), first);
        self.order.push_back((delivery.time_ms, key));
    }

    /// Forgets the first sends older than the window.
    fn expire(&mut self, now_ms: u64) {
        while let Some((at, _)) = self.order.front() {
            if now_ms.saturating_sub(*at) <= self.window_ms {
                break;
            }
            if let Some((at, key)) = self.order.pop_front()
                && self.seen.get(&key).is_some_and(|f| f.at_ms == at)
            {
                self.seen.remove(&key);
            }
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Stream {
    pub from: String,
    pub to: String,
    pub finished: bool,
}

/// The two parties of a one-to-one conversation, in either order.
pub(crate) fn conversation(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_owned(), b.to_owned())
    } else {
        (b.to_owned(), a.to_owned())
    }
}

pub(crate) struct State {
    pub next_seq: u64,
    pub deliveries: Vec<Delivery>,
    /// One-to-one conversation → indexes in `deliveries`, in delivery order: the history
    /// `admin_getroammsg` reads.
    pub conversations: HashMap<(String, String), Vec<usize>>,
    /// (sender, recipient, MsgKey) → index in `deliveries`, for recall.
    pub by_key: HashMap<(String, String, String), usize>,
    pub sendmsg_seen: DedupWindow<SendDedupKey>,
    pub official_seen: DedupWindow<OfficialDedupKey>,
    pub streams: HashMap<String, Stream>,
    pub call_limits: HashMap<Endpoint, CallLimit>,
    pub batch_recipients: Option<Bucket>,
    pub official_second: HashMap<String, Bucket>,
    pub official_hour: HashMap<String, VecDeque<u64>>,
    pub stats: Stats,
    pub injections: Vec<Injection>,
    pub rng: StdRng,
    pub log: Option<std::fs::File>,
}

impl State {
    pub(crate) fn new(seed: u64, log: Option<std::fs::File>) -> Self {
        State {
            next_seq: 0,
            deliveries: Vec::new(),
            conversations: HashMap::new(),
            by_key: HashMap::new(),
            sendmsg_seen: DedupWindow::new(SENDMSG_DEDUP_MS),
            official_seen: DedupWindow::new(OFFICIAL_DEDUP_MS),
            streams: HashMap::new(),
            call_limits: HashMap::new(),
            batch_recipients: None,
            official_second: HashMap::new(),
            official_hour: HashMap::new(),
            stats: Stats::default(),
            injections: Vec::new(),
            rng: StdRng::seed_from_u64(seed),
            log,
        }
    }

    /// A fresh message sequence number.
    pub(crate) fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// Takes the next queued fault for `endpoint`, if any.
    pub(crate) fn take_injection(&mut self, endpoint: Endpoint) -> Option<Injected> {
        let i = self
            .injections
            .iter()
            .position(|inj| inj.endpoint.is_none_or(|e| e == endpoint))?;
        let what = self.injections[i].what.clone();
        self.injections[i].remaining = self.injections[i].remaining.saturating_sub(1);
        if self.injections[i].remaining == 0 {
            self.injections.remove(i);
        }
        Some(what)
    }

    /// Forgets dedup entries older than their windows.
    pub(crate) fn expire_dedup(&mut self, now_ms: u64) {
        self.sendmsg_seen.expire(now_ms);
        self.official_seen.expire(now_ms);
    }

    /// A fresh `MsgKey` for a send at `now_ms`, with its `MsgTime` (unix seconds).
    pub(crate) fn mint_msg_key(&mut self, random: u32, now_ms: u64) -> (String, u64) {
        let seq = self.next_seq();
        let msg_time = now_ms / 1000;
        (format!("{seq}_{random}_{msg_time}"), msg_time)
    }

    /// Records a delivery, indexes it for recall and appends it to the log.
    pub(crate) fn deliver(&mut self, mut delivery: Delivery) {
        delivery.seq = self.deliveries.len() as u64 + 1;
        self.by_key.insert(
            (
                delivery.sender.clone(),
                delivery.recipient.clone(),
                delivery.msg_key.clone(),
            ),
            self.deliveries.len(),
        );
        if let Some(file) = self.log.as_mut()
            && let Ok(mut line) = serde_json::to_vec(&delivery)
        {
            line.push(b'\n');
            // The log is an aid for the user; a full disk must not stop the emulator.
            let _ = file.write_all(&line);
        }
        self.stats.deliveries += 1;
        if delivery.in_history() {
            self.conversations
                .entry(conversation(&delivery.sender, &delivery.recipient))
                .or_default()
                .push(self.deliveries.len());
        }
        self.deliveries.push(delivery);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refills_with_the_clock() {
        let mut b = Bucket::new(2, Duration::from_secs(1), 0);
        assert!(b.take(1.0, 0));
        assert!(b.take(1.0, 0));
        assert!(!b.take(1.0, 0));
        assert!(!b.take(1.0, 499));
        assert!(b.take(1.0, 500));
    }

    const SECOND: Duration = Duration::from_secs(1);

    /// Accepts `n` calls at `at`, one by one; how many passed.
    fn burst(limit: &mut CallLimit, at: u64, n: u32) -> u32 {
        (0..n).filter(|_| limit.take(at)).count() as u32
    }

    #[test]
    fn sliding_refuses_the_201st_call_within_any_second() {
        let mut sliding = CallLimit::new(LimitModel::Sliding, 200, SECOND, 0);
        // 200 calls spread over the first second (one every 5 ms) all pass...
        for i in 0..200 {
            assert!(sliding.take(10_000 + i * 5), "call {i}");
        }
        // ...and the 201st within a second of the first is refused, even 994 ms after it.
        assert!(!sliding.take(10_994));
        assert!(!sliding.take(10_999));
        // A full second after the first, one slot is free again; the next is 5 ms later.
        assert!(sliding.take(11_000));
        assert!(!sliding.take(11_004));
        assert!(sliding.take(11_005));
        // Refused calls are not counted: the window keeps exactly the last 200 accepted.
        let CallLimit::Sliding { times, .. } = &sliding else {
            unreachable!()
        };
        assert_eq!(times.len(), 200);
    }

    #[test]
    fn fixed_accepts_a_burst_straddling_a_second_boundary_that_sliding_refuses() {
        // 200 calls at 10.900 s and 200 at 11.100 s: 400 within 200 ms.
        let mut fixed = CallLimit::new(LimitModel::Fixed, 200, SECOND, 0);
        assert_eq!(burst(&mut fixed, 10_900, 200), 200);
        assert_eq!(burst(&mut fixed, 11_100, 200), 200);
        assert_eq!(burst(&mut fixed, 11_200, 1), 0, "the second is full");
        assert_eq!(burst(&mut fixed, 12_000, 1), 1, "a new second");

        let mut sliding = CallLimit::new(LimitModel::Sliding, 200, SECOND, 0);
        assert_eq!(burst(&mut sliding, 10_900, 200), 200);
        assert_eq!(burst(&mut sliding, 11_100, 200), 0);
        assert_eq!(burst(&mut sliding, 11_899, 1), 0);
        assert_eq!(burst(&mut sliding, 11_900, 200), 200);
    }

    #[test]
    fn gcra_passes_a_full_bucket_then_refills_at_the_rate() {
        let mut gcra = CallLimit::new(LimitModel::Gcra, 200, SECOND, 0);
        assert_eq!(burst(&mut gcra, 0, 201), 200);
        // 5 ms buys one call at 200 a second.
        assert_eq!(burst(&mut gcra, 5, 2), 1);
        assert_eq!(burst(&mut gcra, 500, 200), 99);
    }

    #[test]
    fn a_stale_clock_reading_never_moves_the_sliding_window_back() {
        let mut sliding = CallLimit::new(LimitModel::Sliding, 2, SECOND, 0);
        assert!(sliding.take(5_000));
        // Read before the first took the lock: counted at 5_000, not 4_999.
        assert!(sliding.take(4_999));
        assert!(!sliding.take(5_999));
        assert!(sliding.take(6_000));
    }
}
