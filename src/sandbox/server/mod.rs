//! The HTTP side of the sandbox: the shared app state and the path every call takes through
//! it (the common checks, rate limits, faults, counting), then dispatch to the endpoint's
//! handler. The UserSig checks, the routes and each call family's effect on the state live in
//! the files beside this one.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, RwLock};
use std::time::Duration;

use axum::http::Uri;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Map, Value, json};

use crate::im::Endpoint;
use crate::im::usersig::UserSigDoc;

use super::config::{SandboxConfig, Transient};
use super::state::{Injected, State};
use super::validate::Refusal;

mod account;
mod answer_log;
mod auth;
mod c2c;
mod history;
mod hostile;
mod official;
mod robot;
mod routes;
mod streamed;

use answer_log::{AnswerLog, Label};
use hostile::Hostile;

pub(crate) use routes::router;

/// The shared server state.
pub(crate) struct App {
    pub config: SandboxConfig,
    pub state: Mutex<State>,
    /// UserSigs already verified, so the hot path does not inflate and HMAC on every call.
    verified: RwLock<HashMap<String, UserSigDoc>>,
    answer_log: Option<AnswerLog>,
    /// Draws each call's latency jitter; apart from the fault generator, so that turning
    /// jitter on does not change which calls get which faults.
    jitter: Mutex<StdRng>,
}

/// What a call is answered with.
enum Answer {
    Json(Value),
    Status(u16),
    /// A 200 with a body that need not be (valid) JSON.
    Bytes {
        content_type: &'static str,
        body: Vec<u8>,
    },
    /// A 302 to this location.
    Redirect(String),
    /// These bytes, then the connection breaks.
    Cut(Vec<u8>),
    /// These bytes, a few at a time.
    Drip(Vec<u8>),
}

/// An answer with what the counters and the answer log need to know about it.
struct Outcome {
    answer: Answer,
    took_effect: bool,
    label: Label,
}

impl Outcome {
    fn normal(answer: Answer) -> Self {
        Outcome {
            answer,
            took_effect: false,
            label: Label::Normal,
        }
    }
}

/// A hostile answer decided under the lock, built after the (optional) dispatch.
#[derive(Clone, Copy)]
struct HostileDraw {
    kind: Hostile,
    take_effect: bool,
    variant: u64,
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
    pub(super) fn new(
        config: SandboxConfig,
        log: Option<std::fs::File>,
        answer_log: Option<std::fs::File>,
    ) -> Self {
        let seed = config.faults.seed;
        App {
            config,
            state: Mutex::new(State::new(seed, log)),
            verified: RwLock::new(HashMap::new()),
            answer_log: answer_log.map(AnswerLog::new),
            jitter: Mutex::new(StdRng::seed_from_u64(seed ^ 0x6a69_7474_6572)),
        }
    }

    /// How long this call waits before it is handled: the latency, moved by the jitter.
    pub(super) fn latency(&self) -> Duration {
        let faults = &self.config.faults;
        if faults.latency_jitter.is_zero() {
            return faults.latency;
        }
        let draw = match self.jitter.lock() {
            Ok(mut rng) => rng.random_range(-1.0..=1.0),
            Err(poisoned) => poisoned.into_inner().random_range(-1.0..=1.0),
        };
        faults.latency_with(draw)
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
            .call_limits
            .entry(endpoint)
            .or_insert_with(|| {
                super::state::CallLimit::new(limits.model, per_second, Duration::from_secs(1), now)
            })
            .take(now)
    }

    /// Handles one API call. Returns the answer; effects happen on the state.
    fn handle(&self, endpoint: Endpoint, uri: &Uri, body: &[u8]) -> Answer {
        let outcome = self.answer(endpoint, uri, body);
        if let Some(log) = &self.answer_log {
            log.record(
                endpoint,
                body,
                &outcome.answer,
                outcome.label,
                outcome.took_effect,
            );
        }
        self.finish(endpoint, outcome.answer, outcome.took_effect)
    }

    fn answer(&self, endpoint: Endpoint, uri: &Uri, body: &[u8]) -> Outcome {
        let caller = match self.authenticate(uri) {
            Ok(caller) => caller,
            Err((code, info)) => return Outcome::normal(Answer::Json(fail(code, info))),
        };
        let now = self.now_ms();
        let mut lost = false;
        let mut injected_loss = false;
        {
            let mut state = self.lock();
            match state.take_injection(endpoint) {
                Some(Injected::Code(code)) => {
                    state.stats.faults_injected += 1;
                    return Outcome::normal(Answer::Json(fail(code, "injected fault")));
                }
                Some(Injected::HttpStatus(status)) => {
                    state.stats.faults_injected += 1;
                    return Outcome::normal(Answer::Status(status));
                }
                Some(Injected::LostReply) => {
                    lost = true;
                    injected_loss = true;
                }
                None => {}
            }
            if !self.rate_limit(&mut state, endpoint, now) {
                state.stats.rate_limited += 1;
                return Outcome::normal(Answer::Json(fail(
                    60007,
                    "REST API call rate over the limit",
                )));
            }
            let faults = &self.config.faults;
            // Drawn only when enabled, so the seeds of runs without it keep their faults; an
            // explicitly queued lost reply is what the test asked for, so it wins.
            if !injected_loss
                && faults.hostile_rate > 0.0
                && hostile::applies_to(endpoint)
                && state.rng.random_bool(faults.hostile_rate.min(1.0))
            {
                state.stats.hostile += 1;
                let kind = Hostile::pick(endpoint, state.rng.random::<u64>());
                let take_effect = kind.may_take_effect() && state.rng.random_bool(0.5);
                let variant = state.rng.random::<u64>();
                drop(state);
                let draw = HostileDraw {
                    kind,
                    take_effect,
                    variant,
                };
                return self.hostile(endpoint, body, now, &caller, draw);
            }
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
                return Outcome::normal(match pick {
                    Transient::Http502 => Answer::Status(502),
                    Transient::Code(code) => {
                        Answer::Json(fail(code, "internal error, please retry (injected)"))
                    }
                });
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
            return Outcome {
                answer: Answer::Status(502),
                took_effect: true,
                label: Label::LostReply,
            };
        }
        Outcome::normal(Answer::Json(reply))
    }

    /// A broken answer, after the real dispatch when the draw says the call takes effect.
    fn hostile(
        &self,
        endpoint: Endpoint,
        body: &[u8],
        now: u64,
        caller: &str,
        draw: HostileDraw,
    ) -> Outcome {
        let real = draw
            .take_effect
            .then(|| self.dispatch(endpoint, body, now, caller));
        let success = match real {
            Some(Value::Object(map)) if map.get("ErrorCode").and_then(Value::as_i64) == Some(0) => {
                Some(map)
            }
            _ => None,
        };
        let took_effect = success.is_some();
        let success =
            success.unwrap_or_else(|| hostile::fabricated_success(endpoint, now, draw.variant));
        let call = serde_json::from_slice::<Value>(body).unwrap_or(Value::Null);
        Outcome {
            answer: hostile::reply(draw.kind, endpoint, success, &call, draw.variant),
            took_effect,
            label: Label::Hostile(draw.kind),
        }
    }

    /// Counts the answer.
    fn finish(&self, endpoint: Endpoint, answer: Answer, took_effect: bool) -> Answer {
        let mut state = self.lock();
        let counters = state.stats.endpoints.entry(endpoint).or_default();
        counters.calls += 1;
        let code = match &answer {
            Answer::Json(v) => v.get("ErrorCode").and_then(Value::as_i64).unwrap_or(0),
            // Nothing a client can trust: it counts as OK only if it took effect.
            _ => -1,
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
            Endpoint::AdminGetRoamMsg => self.roam_history(body, now),
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
