//! The HTTP side of the sandbox: the shared app state and the path every call takes through
//! it (the common checks, rate limits, faults, counting), then dispatch to the endpoint's
//! handler. The UserSig checks, the routes and each call family's effect on the state live in
//! the files beside this one.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, RwLock};
use std::time::Duration;

use axum::http::Uri;
use rand::RngExt;
use serde_json::{Map, Value, json};

use crate::im::Endpoint;
use crate::im::usersig::UserSigDoc;

use super::config::{SandboxConfig, Transient};
use super::state::{Injected, State};
use super::validate::Refusal;

mod account;
mod auth;
mod c2c;
mod official;
mod robot;
mod routes;

pub(crate) use routes::router;

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

/// What an endpoint handler answers: the reply's fields on an OK envelope, or a refusal.
type Handled = Result<Map<String, Value>, Refusal>;

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

/// The reply to a send: `MsgTime` and `MsgKey` on an OK envelope.
fn sent_reply(msg_time: u64, msg_key: String) -> Map<String, Value> {
    let mut reply = ok_reply();
    reply.insert("MsgTime".into(), msg_time.into());
    reply.insert("MsgKey".into(), msg_key.into());
    reply
}

impl App {
    pub(super) fn new(config: SandboxConfig, log: Option<std::fs::File>) -> Self {
        let seed = config.faults.seed;
        App {
            config,
            state: Mutex::new(State::new(seed, log)),
            verified: RwLock::new(HashMap::new()),
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn now_ms(&self) -> u64 {
        self.config.clock.now_millis()
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
}
