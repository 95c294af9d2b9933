//! Client-side rate limits: one [`AdaptivePace`] per API at `delivery.rate` (calls spaced
//! evenly, a margin below the limit, stepping down on rate codes), the batch endpoint's
//! per-recipient quota, and the official account's 1 message/s.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::Stop;
use crate::im::types::{Endpoint, MAX_BATCH_RECIPIENTS};

mod pace;

pub(crate) use pace::AdaptivePace;

/// Why the run is waiting, shown by the progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Waiting {
    Nothing = 0,
    /// The server answered with a rate-limit code; this API pauses for the rest of the window.
    ServerAskedToSlowDown = 1,
    /// `recipients_per_minute` of the batch endpoint is used up.
    RecipientsPerMinute = 2,
    /// An official account takes one message a second.
    OfficialAccount = 3,
}

impl Waiting {
    fn from_u8(v: u8) -> Waiting {
        match v {
            1 => Waiting::ServerAskedToSlowDown,
            2 => Waiting::RecipientsPerMinute,
            3 => Waiting::OfficialAccount,
            _ => Waiting::Nothing,
        }
    }

    /// What the progress line says.
    pub fn label(self) -> Option<&'static str> {
        match self {
            Waiting::Nothing => None,
            Waiting::ServerAskedToSlowDown => Some("waiting: the server asked to slow down"),
            Waiting::RecipientsPerMinute => Some("waiting: batch recipients-per-minute limit"),
            Waiting::OfficialAccount => Some("waiting: official account limit (1 message/s)"),
        }
    }
}

/// The limits of one run, shared by the dispatcher and every send task.
#[derive(Debug)]
pub struct Limits {
    calls: HashMap<Endpoint, Mutex<AdaptivePace>>,
    /// The paces' clock: they count time since the run began.
    began: Instant,
    batch_recipients: DefaultDirectRateLimiter,
    official: DefaultDirectRateLimiter,
    waiting: AtomicU8,
    /// This runner's share of the app's budget, when runners share one (f64 bits).
    share: std::sync::OnceLock<Arc<std::sync::atomic::AtomicU64>>,
}

fn per_second(rate: f64) -> Quota {
    let rate = if rate.is_finite() && rate > 0.0 {
        rate
    } else {
        1.0
    };
    let period = Duration::from_secs_f64(1.0 / rate).max(Duration::from_nanos(1));
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::MIN)
}

impl Limits {
    /// Limits at `rate` calls/s per API and `recipients_per_minute` batch recipients.
    pub fn new(rate: f64, recipients_per_minute: u32) -> Arc<Limits> {
        let calls = [
            Endpoint::SendMsg,
            Endpoint::BatchSendMsg,
            Endpoint::SendOfficialAccountMsg,
            Endpoint::SendStreamMsg,
            Endpoint::AdminMsgWithdraw,
            Endpoint::OfficialAccountMsgRecall,
        ]
        .into_iter()
        .map(|e| (e, Mutex::new(AdaptivePace::new(rate))))
        .collect();
        let per_minute = NonZeroU32::new(recipients_per_minute).unwrap_or(NonZeroU32::MIN);
        // One full batch must fit in the bucket, or a 500-recipient call could never start.
        let burst = NonZeroU32::new(
            u32::try_from(MAX_BATCH_RECIPIENTS)
                .unwrap_or(500)
                .min(per_minute.get()),
        )
        .unwrap_or(NonZeroU32::MIN);
        Arc::new(Limits {
            calls,
            began: Instant::now(),
            batch_recipients: RateLimiter::direct(Quota::per_minute(per_minute).allow_burst(burst)),
            official: RateLimiter::direct(per_second(1.0)),
            waiting: AtomicU8::new(0),
            share: std::sync::OnceLock::new(),
        })
    }

    /// From now on every API's pace takes the share in `cell` (kept current by the journal's
    /// rate budget) of its limit.
    pub fn share_with(&self, cell: Arc<std::sync::atomic::AtomicU64>) {
        let _ = self.share.set(cell);
    }

    /// What the run is waiting for now.
    pub fn waiting(&self) -> Waiting {
        Waiting::from_u8(self.waiting.load(Ordering::Relaxed))
    }

    fn set_waiting(&self, w: Waiting) {
        self.waiting.store(w as u8, Ordering::Relaxed);
    }

    fn pace<R>(
        &self,
        endpoint: Endpoint,
        f: impl FnOnce(&mut AdaptivePace, Duration) -> R,
    ) -> Option<R> {
        let now = self.began.elapsed();
        let pace = self.calls.get(&endpoint)?;
        // A poisoned pace is still a valid pace: its state is updated in single steps.
        let mut pace = pace
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(share) = self.share.get() {
            pace.set_share(f64::from_bits(share.load(Ordering::Relaxed)));
        }
        Some(f(&mut pace, now))
    }

    /// A call to `endpoint` was answered after `rtt` (a lost reply is not an answer).
    pub fn answered(&self, endpoint: Endpoint, rtt: Duration) {
        self.pace(endpoint, |pace, _| pace.answered(rtt));
    }

    /// The server refused a call to `endpoint` with a rate-limit code.
    pub fn rate_limited(&self, endpoint: Endpoint) {
        self.pace(endpoint, |pace, now| pace.rate_limited(now));
    }

    /// Waits until a call to `endpoint` carrying `recipients` may start. False when the run
    /// was stopped meanwhile.
    pub async fn acquire(&self, endpoint: Endpoint, recipients: u32, stop: &Stop) -> bool {
        match self.reserve(endpoint, recipients, stop).await {
            Some(slot) => {
                slot.wait().await;
                true
            }
            None => false,
        }
    }

    /// Waits until a call to `endpoint` carrying `recipients` is about to be due, and gives its
    /// [`Slot`]; `None` when the run was stopped meanwhile. Only the slot's last moments remain.
    pub async fn reserve(&self, endpoint: Endpoint, recipients: u32, stop: &Stop) -> Option<Slot> {
        if endpoint == Endpoint::BatchSendMsg {
            let n = NonZeroU32::new(recipients.max(1)).unwrap_or(NonZeroU32::MIN);
            if !matches!(self.batch_recipients.check_n(n), Ok(Ok(()))) {
                self.set_waiting(Waiting::RecipientsPerMinute);
                tokio::select! {
                    r = self.batch_recipients.until_n_ready(n) => { let _ = r; }
                    _ = stop.stopped() => return None,
                }
            }
        }
        if endpoint == Endpoint::SendOfficialAccountMsg && self.official.check().is_err() {
            self.set_waiting(Waiting::OfficialAccount);
            tokio::select! {
                _ = self.official.until_ready() => {}
                _ = stop.stopped() => return None,
            }
        }
        let Some((start, paused)) =
            self.pace(endpoint, |pace, now| (pace.reserve(now), pace.paused(now)))
        else {
            self.set_waiting(Waiting::Nothing);
            return Some(Slot {
                deadline: Instant::now(),
            });
        };
        self.set_waiting(if paused {
            Waiting::ServerAskedToSlowDown
        } else {
            Waiting::Nothing
        });
        let deadline = self.began + start;
        let coarse = deadline
            .saturating_duration_since(Instant::now())
            .saturating_sub(COARSE_SLEEP_ABOVE / 2);
        if coarse > COARSE_SLEEP_ABOVE / 2 && !stop.sleep(coarse).await {
            return None;
        }
        self.set_waiting(Waiting::Nothing);
        Some(Slot { deadline })
    }
}

/// A call's start time, at most a few milliseconds away.
#[must_use = "a slot is waited for before the call"]
pub struct Slot {
    deadline: Instant,
}

impl Slot {
    /// Waits for the slot precisely, on a blocking thread: every late start is rate lost for
    /// good, and the async timer wakes up a millisecond or more late.
    pub async fn wait(self) {
        let deadline = self.deadline;
        if deadline > Instant::now() {
            let _ = tokio::task::spawn_blocking(move || precise_wait(deadline)).await;
        }
    }
}

/// Waits longer than this sleep on the async timer first (it wakes up to a few ms late).
const COARSE_SLEEP_ABOVE: Duration = Duration::from_millis(20);

/// Sleeps until shortly before `deadline`, then spins the last stretch.
fn precise_wait(deadline: Instant) {
    loop {
        let wait = deadline.saturating_duration_since(Instant::now());
        if wait.is_zero() {
            return;
        }
        if wait > Duration::from_micros(300) {
            std::thread::sleep(wait - Duration::from_micros(200));
        } else {
            std::thread::yield_now();
        }
    }
}
