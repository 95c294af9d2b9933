//! The HTTP side of the sandbox: routing, the common query-string and UserSig checks, rate
//! limits, faults, and each endpoint's effect on the state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::RngExt;
use serde_json::{Map, Value, json};

use crate::im::Endpoint;
use crate::im::usersig::{self, UserSigDoc, VerifyError};

use super::config::{SandboxConfig, Transient};
use super::state::{
    Delivery, FirstSend, Injected, OfficialDedupKey, SENDMSG_DEDUP_MS, SendDedupKey, State, Stream,
};
use super::validate::{self, Refusal};

/// The shared server state.
pub(crate) struct App {
    pub config: SandboxConfig,
    pub state: Mutex<State>,
    /// UserSigs already verified, so the hot path does not inflate and HMAC on every call.
    verified: RwLock<HashMap<String, UserSigDoc>>,
}

/// What a call is answered with.
enum Answer {
    Json(Value),
    Status(u16),
}

fn ok_reply() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("ActionStatus".into(), "OK".into());
    m.insert("ErrorCode".into(), 0.into());
    m.insert("ErrorInfo".into(), "".into());
    m
}

fn fail(code: i64, info: impl Into<String>) -> Value {
    json!({"ActionStatus": "FAIL", "ErrorCode": code, "ErrorInfo": info.into()})
}

impl App {
    pub fn new(config: SandboxConfig, log: Option<std::fs::File>) -> Self {
        let seed = config.faults.seed;
        App {
            config,
            state: Mutex::new(State::new(seed, log)),
            verified: RwLock::new(HashMap::new()),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn now_ms(&self) -> u64 {
        self.config.clock.now_millis()
    }

    /// The query-string and UserSig checks every call goes through.
    /// Returns the calling admin.
    fn authenticate(&self, uri: &Uri) -> Result<String, Refusal> {
        let Ok(Query(q)) = Query::<HashMap<String, String>>::try_from_uri(uri) else {
            return Err((60002, "cannot parse the query string".into()));
        };
        let sdkappid = match q.get("sdkappid") {
            None => return Err((60012, "sdkappid is missing".into())),
            Some(s) => match s.parse::<u64>() {
                Ok(n) if n == self.config.sdkappid => n,
                _ => return Err((60006, format!("SDKAppID {s:?} is invalid"))),
            },
        };
        let identifier = match q.get("identifier") {
            Some(s) if !s.is_empty() => s.as_str(),
            _ => return Err((60004, "identifier is missing".into())),
        };
        let sig = match q.get("usersig") {
            Some(s) if !s.is_empty() => s.as_str(),
            _ => return Err((70002, "usersig is missing or empty".into())),
        };
        if q.get("random").is_none_or(|r| r.parse::<u32>().is_err()) {
            return Err((60002, "random must be a 32-bit unsigned integer".into()));
        }
        if q.get("contenttype").map(String::as_str) != Some("json") {
            return Err((60002, "contenttype must be json".into()));
        }
        self.check_usersig(sig, sdkappid, identifier)?;
        if !self.config.admins.contains(identifier) {
            return Err((
                60010,
                format!("identifier {identifier:?} is not an App admin"),
            ));
        }
        Ok(identifier.to_owned())
    }

    fn check_usersig(&self, sig: &str, sdkappid: u64, identifier: &str) -> Result<(), Refusal> {
        let now = self.config.clock.now_secs();
        let cached = match self.verified.read() {
            Ok(map) => map.get(sig).cloned(),
            Err(poisoned) => poisoned.into_inner().get(sig).cloned(),
        };
        let doc = match cached {
            Some(doc) => doc,
            None => {
                let doc = usersig::decode(sig).map_err(|e| (70003, e.to_string()))?;
                if doc.version != "2.0" {
                    return Err((70005, format!("TLS.ver {:?} is not 2.0", doc.version)));
                }
                usersig::check_signature(&doc, &self.config.secret)
                    .map_err(|e| (70009, e.to_string()))?;
                let mut map = match self.verified.write() {
                    Ok(m) => m,
                    Err(poisoned) => poisoned.into_inner(),
                };
                if map.len() > 10_000 {
                    map.clear();
                }
                map.insert(sig.to_owned(), doc.clone());
                doc
            }
        };
        if doc.identifier != identifier {
            let e = VerifyError::IdentifierMismatch {
                expected: identifier.to_owned(),
                found: doc.identifier,
            };
            return Err((70013, e.to_string()));
        }
        if doc.sdkappid != sdkappid {
            let e = VerifyError::SdkAppIdMismatch {
                expected: sdkappid,
                found: doc.sdkappid,
            };
            return Err((70014, e.to_string()));
        }
        if now > doc.expires_at() {
            let e = VerifyError::Expired {
                expired_at: doc.expires_at(),
                now,
            };
            return Err((70001, e.to_string()));
        }
        Ok(())
    }

    fn rate_limit(&self, state: &mut State, endpoint: Endpoint, now: u64) -> bool {
        let limits = &self.config.limits;
        if !limits.enabled {
            return true;
        }
        let per_second = match endpoint {
            Endpoint::AccountCheck => limits.account_check_per_second,
            _ => limits.calls_per_second,
        };
        state
            .call_buckets
            .entry(endpoint)
            .or_insert_with(|| super::state::Bucket::new(per_second, Duration::from_secs(1), now))
            .take(1.0, now)
    }

    /// Handles one API call. Returns the answer; effects happen on the state.
    fn handle(&self, endpoint: Endpoint, uri: &Uri, body: &[u8]) -> Answer {
        let caller = match self.authenticate(uri) {
            Ok(caller) => caller,
            Err((code, info)) => {
                return self.finish(endpoint, Answer::Json(fail(code, info)), false);
            }
        };
        let now = self.now_ms();
        let mut lost = false;
        {
            let mut state = self.lock();
            match state.take_injection(endpoint) {
                Some(Injected::Code(code)) => {
                    state.stats.faults_injected += 1;
                    drop(state);
                    return self.finish(
                        endpoint,
                        Answer::Json(fail(code, "injected fault")),
                        false,
                    );
                }
                Some(Injected::HttpStatus(status)) => {
                    state.stats.faults_injected += 1;
                    drop(state);
                    return self.finish(endpoint, Answer::Status(status), false);
                }
                Some(Injected::LostReply) => lost = true,
                None => {}
            }
            if !self.rate_limit(&mut state, endpoint, now) {
                state.stats.rate_limited += 1;
                drop(state);
                return self.finish(
                    endpoint,
                    Answer::Json(fail(60007, "REST API call rate over the limit")),
                    false,
                );
            }
            let faults = &self.config.faults;
            if faults.fault_rate > 0.0 && state.rng.random_bool(faults.fault_rate.min(1.0)) {
                state.stats.faults_injected += 1;
                let pick = if faults.transients.is_empty() {
                    Transient::Http502
                } else {
                    let i = state.rng.random_range(0..faults.transients.len());
                    faults
                        .transients
                        .get(i)
                        .copied()
                        .unwrap_or(Transient::Http502)
                };
                drop(state);
                let answer = match pick {
                    Transient::Http502 => Answer::Status(502),
                    Transient::Code(code) => {
                        Answer::Json(fail(code, "internal error, please retry (injected)"))
                    }
                };
                return self.finish(endpoint, answer, false);
            }
            if faults.lost_reply_rate > 0.0
                && state.rng.random_bool(faults.lost_reply_rate.min(1.0))
            {
                lost = true;
            }
        }
        let reply = self.dispatch(endpoint, body, now, &caller);
        let succeeded = reply.get("ErrorCode").and_then(Value::as_i64) == Some(0);
        if lost && succeeded {
            self.lock().stats.lost_replies += 1;
            return self.finish(endpoint, Answer::Status(502), true);
        }
        self.finish(endpoint, Answer::Json(reply), false)
    }

    /// Counts the answer.
    fn finish(&self, endpoint: Endpoint, answer: Answer, took_effect: bool) -> Answer {
        let mut state = self.lock();
        let counters = state.stats.endpoints.entry(endpoint).or_default();
        counters.calls += 1;
        let code = match &answer {
            Answer::Json(v) => v.get("ErrorCode").and_then(Value::as_i64).unwrap_or(0),
            Answer::Status(_) => -1,
        };
        if code == 0 || took_effect {
            counters.ok += 1;
        } else {
            counters.failed += 1;
        }
        if code > 0 {
            *state.stats.error_codes.entry(code).or_default() += 1;
        }
        answer
    }

    fn dispatch(&self, endpoint: Endpoint, body: &[u8], now: u64, caller: &str) -> Value {
        let result = match endpoint {
            Endpoint::SendMsg => self.sendmsg(body, now, caller),
            Endpoint::BatchSendMsg => self.batchsendmsg(body, now, caller),
            Endpoint::SendOfficialAccountMsg => self.official(body, now),
            Endpoint::OfficialAccountMsgRecall => self.official_recall(body),
            Endpoint::GetOfficialAccountInfo => self.official_info(body),
            Endpoint::SendStreamMsg => self.stream(body, now),
            Endpoint::GetAllRobots => self.robots(body),
            Endpoint::AdminMsgWithdraw => self.withdraw(body),
            Endpoint::AccountCheck => self.account_check(body),
        };
        match result {
            Ok(map) => Value::Object(map),
            Err((code, info)) => fail(code, info),
        }
    }

    fn size_check(&self, body: &[u8], code: i64) -> Result<(), Refusal> {
        if body.len() > self.config.max_body_bytes {
            return Err((
                code,
                format!(
                    "the JSON packet is too long: {} bytes, at most {}",
                    body.len(),
                    self.config.max_body_bytes
                ),
            ));
        }
        Ok(())
    }

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

    fn admin(&self) -> Option<&str> {
        self.config.admins.iter().next().map(String::as_str)
    }

    fn sendmsg(&self, body: &[u8], now: u64, caller: &str) -> Result<Map<String, Value>, Refusal> {
        self.size_check(body, 93000)?;
        let obj = validate::object(body, 90001)?;
        let send = validate::sendmsg(&obj)?;
        let from = self.sender_of(send.from.as_ref(), caller)?;
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
            let mut reply = ok_reply();
            reply.insert("MsgTime".into(), msg_time.into());
            reply.insert("MsgKey".into(), msg_key.into());
            return Ok(reply);
        }
        let seq = state.next_seq();
        let msg_time = now / 1000;
        let msg_key = format!("{seq}_{}_{msg_time}", send.msg_random);
        state.deliver(Delivery {
            seq: 0,
            endpoint: Endpoint::SendMsg,
            sender: from,
            recipient: to,
            msg_key: msg_key.clone(),
            msg_time,
            time_ms: now,
            body: send.body,
            subscribers: None,
            recalled: false,
        });
        state.sendmsg_seen.insert(
            key.clone(),
            FirstSend {
                at_ms: now,
                msg_key: msg_key.clone(),
                msg_time,
            },
        );
        state.sendmsg_order.push_back((now, key));
        let mut reply = ok_reply();
        reply.insert("MsgTime".into(), msg_time.into());
        reply.insert("MsgKey".into(), msg_key.into());
        Ok(reply)
    }

    fn batchsendmsg(
        &self,
        body: &[u8],
        now: u64,
        caller: &str,
    ) -> Result<Map<String, Value>, Refusal> {
        self.size_check(body, 93000)?;
        let obj = validate::object(body, 90001)?;
        let send = validate::batchsendmsg(&obj)?;
        let from = self.sender_of(send.from.as_ref(), caller)?;
        let mut state = self.lock();
        let limits = &self.config.limits;
        if limits.enabled {
            let bucket = state.batch_recipients.get_or_insert_with(|| {
                super::state::Bucket::new(
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
        let seq = state.next_seq();
        let msg_time = now / 1000;
        let msg_key = format!("{seq}_{}_{msg_time}", send.msg_random);
        for to in delivered {
            state.deliver(Delivery {
                seq: 0,
                endpoint: Endpoint::BatchSendMsg,
                sender: from.clone(),
                recipient: to,
                msg_key: msg_key.clone(),
                msg_time,
                time_ms: now,
                body: send.body.clone(),
                subscribers: None,
                recalled: false,
            });
        }
        let mut reply = ok_reply();
        reply.insert("MsgKey".into(), msg_key.into());
        if !errors.is_empty() {
            reply.insert("ErrorList".into(), Value::Array(errors));
        }
        Ok(reply)
    }

    fn official(&self, body: &[u8], now: u64) -> Result<Map<String, Value>, Refusal> {
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
            let mut reply = ok_reply();
            reply.insert("MsgTime".into(), msg_time.into());
            reply.insert("MsgKey".into(), msg_key.into());
            return Ok(reply);
        }
        let limits = &self.config.limits;
        if limits.enabled {
            let per_second = state
                .official_second
                .entry(send.account.clone())
                .or_insert_with(|| {
                    super::state::Bucket::new(
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
        let seq = state.next_seq();
        let msg_time = now / 1000;
        let msg_key = format!("{seq}_1_{msg_time}");
        state.deliver(Delivery {
            seq: 0,
            endpoint: Endpoint::SendOfficialAccountMsg,
            sender: send.account.clone(),
            recipient: send.account.clone(),
            msg_key: msg_key.clone(),
            msg_time,
            time_ms: now,
            body: send.body,
            subscribers: Some(subscribers),
            recalled: false,
        });
        state.official_seen.insert(
            key.clone(),
            FirstSend {
                at_ms: now,
                msg_key: msg_key.clone(),
                msg_time,
            },
        );
        state.official_order.push_back((now, key));
        let mut reply = ok_reply();
        reply.insert("MsgTime".into(), msg_time.into());
        reply.insert("MsgKey".into(), msg_key.into());
        Ok(reply)
    }

    fn official_recall(&self, body: &[u8]) -> Result<Map<String, Value>, Refusal> {
        let obj = validate::object(body, 10004)?;
        let (account, keys) = validate::official_recall(&obj)?;
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
        let mut indexes = Vec::new();
        for key in &keys {
            let Some(&i) = state
                .by_key
                .get(&(account.clone(), account.clone(), key.clone()))
            else {
                return Err((20022, format!("no message {key:?} of {account}")));
            };
            if state.deliveries.get(i).is_some_and(|d| d.recalled) {
                return Err((20023, format!("message {key:?} was already recalled")));
            }
            indexes.push(i);
        }
        for i in indexes {
            if let Some(d) = state.deliveries.get_mut(i) {
                d.recalled = true;
            }
            state.stats.recalls += 1;
        }
        Ok(ok_reply())
    }

    fn official_info(&self, body: &[u8]) -> Result<Map<String, Value>, Refusal> {
        let obj = validate::object(body, 10004)?;
        let ids = validate::official_ids(&obj)?;
        let mut list = Vec::new();
        for id in ids {
            let Some(&subscribers) = self.config.directory.official_accounts.get(&id) else {
                return Err((10010, format!("official account {id:?} does not exist")));
            };
            list.push(json!({
                "Official_Account": id,
                "Name": id.trim_start_matches("@TOA#"),
                "Owner_Account": self.admin().unwrap_or("administrator"),
                "SubscriberNum": subscribers,
            }));
        }
        let mut reply = ok_reply();
        reply.insert("OfficialAccountInfoList".into(), Value::Array(list));
        Ok(reply)
    }

    fn stream(&self, body: &[u8], now: u64) -> Result<Map<String, Value>, Refusal> {
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
                let seq = state.next_seq();
                let key = format!("{seq}_{}_{}", state.rng.random::<u32>(), now / 1000);
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
        state.deliver(Delivery {
            seq: 0,
            endpoint: Endpoint::SendStreamMsg,
            sender: chunk.from,
            recipient: chunk.to,
            msg_key: msg_key.clone(),
            msg_time: now / 1000,
            time_ms: now,
            body: json!({"Chunk": chunk.chunk, "Finish": u8::from(chunk.finish)}),
            subscribers: None,
            recalled: false,
        });
        let mut reply = ok_reply();
        reply.insert("MsgKey".into(), msg_key.into());
        Ok(reply)
    }

    fn robots(&self, body: &[u8]) -> Result<Map<String, Value>, Refusal> {
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

    fn withdraw(&self, body: &[u8]) -> Result<Map<String, Value>, Refusal> {
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

    fn account_check(&self, body: &[u8]) -> Result<Map<String, Value>, Refusal> {
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

fn into_response(answer: Answer) -> Response {
    match answer {
        Answer::Json(v) => {
            ([(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response()
        }
        Answer::Status(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            (
                status,
                status.canonical_reason().unwrap_or("error").to_owned(),
            )
                .into_response()
        }
    }
}

async fn api(
    AxumState(app): AxumState<Arc<App>>,
    Path((service, command)): Path<(String, String)>,
    uri: Uri,
    body: Bytes,
) -> Response {
    let latency = app.config.faults.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let Some(endpoint) = Endpoint::from_path(&format!("{service}/{command}")) else {
        return into_response(Answer::Json(fail(
            60009,
            format!("unknown resource v4/{service}/{command}"),
        )));
    };
    into_response(app.handle(endpoint, &uri, &body))
}

#[derive(serde::Deserialize)]
struct DeliveryFilter {
    recipient: Option<String>,
}

async fn deliveries(
    AxumState(app): AxumState<Arc<App>>,
    Query(filter): Query<DeliveryFilter>,
) -> Response {
    let state = app.lock();
    let list: Vec<&Delivery> = state
        .deliveries
        .iter()
        .filter(|d| filter.recipient.as_ref().is_none_or(|r| &d.recipient == r))
        .collect();
    let text = serde_json::to_string(&list).unwrap_or_else(|_| "[]".into());
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}

async fn stats(AxumState(app): AxumState<Arc<App>>) -> Response {
    let text = serde_json::to_string(&app.lock().stats).unwrap_or_else(|_| "{}".into());
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}

pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/v4/{service}/{command}", post(api))
        .route("/sandbox/deliveries", get(deliveries))
        .route("/sandbox/stats", get(stats))
        .with_state(app)
}
