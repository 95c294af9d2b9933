//! The pace of one API's calls against a server whose accounting cannot be seen: a pure state
//! machine over a caller-supplied clock (time since the run began), so it is tested on a
//! virtual clock against a simulated strict server.
//!
//! A server that counts calls in a sliding one-second window refuses the 201st call that
//! *arrives* within any second. Calls sent evenly at exactly the limit arrive unevenly (the
//! network's delay varies), so some second always holds 201. The pace therefore stays below
//! the limit by a margin as wide as the spread of round trips seen (a call's one-way delay
//! varies by at most its round trip's spread), steps down a little when the server still says
//! "too fast", pauses only for the rest of the window, and climbs back gradually.

use std::collections::VecDeque;
use std::time::Duration;

/// The window the API's limits are counted in (Tencent: calls per second).
pub(crate) const WINDOW: Duration = Duration::from_secs(1);
/// Margin below the limit before enough round trips were seen to measure their spread.
const START_MARGIN: f64 = 0.02;
/// The narrowest and widest margin the measured spread may set.
const MIN_MARGIN: f64 = 0.005;
const MAX_MARGIN: f64 = 0.05;
/// Round trips kept to measure the spread, and how many are needed to trust it.
const RTT_SAMPLES: usize = 256;
const RTT_TRUSTED: usize = 32;
/// Each step down on a rate code multiplies the pace by this.
const STEP_DOWN: f64 = 0.95;
/// The pace never drops below this share of the limit: slower, never a collapse.
const FLOOR: f64 = 0.5;
/// After a quiet window, the pace climbs back by this share of the limit per second.
const CLIMB_PER_SECOND: f64 = 0.02;

/// The pace of one API: when its next call may start.
#[derive(Debug, Clone)]
pub(crate) struct AdaptivePace {
    limit: f64,
    /// The pace set by rate codes (calls/s), before the margin's ceiling.
    rate: f64,
    next_start: Duration,
    paused_until: Duration,
    last_step_down: Option<Duration>,
    last_climb: Duration,
    rtts: VecDeque<Duration>,
    /// Start times of the last `limit` calls: the window as this client sent it.
    starts: VecDeque<Duration>,
    step_downs: u64,
    /// This runner's share of the app's budget (runners of one app split it).
    share: f64,
}

impl AdaptivePace {
    /// A pace for `limit` calls per [`WINDOW`].
    pub(crate) fn new(limit: f64) -> AdaptivePace {
        let limit = if limit.is_finite() && limit > 0.0 {
            limit
        } else {
            1.0
        };
        AdaptivePace {
            limit,
            rate: limit,
            next_start: Duration::ZERO,
            paused_until: Duration::ZERO,
            last_step_down: None,
            last_climb: Duration::ZERO,
            rtts: VecDeque::with_capacity(RTT_SAMPLES),
            starts: VecDeque::new(),
            step_downs: 0,
            share: 1.0,
        }
    }

    /// The margin below the limit: the spread of recent round trips over the window.
    pub(crate) fn margin(&self) -> f64 {
        if self.rtts.len() < RTT_TRUSTED {
            return START_MARGIN;
        }
        let (min, max) = self
            .rtts
            .iter()
            .fold((Duration::MAX, Duration::ZERO), |(lo, hi), &r| {
                (lo.min(r), hi.max(r))
            });
        (max.saturating_sub(min).as_secs_f64() / WINDOW.as_secs_f64()).clamp(MIN_MARGIN, MAX_MARGIN)
    }

    /// The calls per second this pace allows now.
    pub(crate) fn rate(&self) -> f64 {
        self.whole_rate() * self.share
    }

    /// The pace before this runner's share is taken.
    fn whole_rate(&self) -> f64 {
        self.rate.min(self.limit * (1.0 - self.shared_margin()))
    }

    /// The margin when runners share the budget: each runner's arrivals stray from its pace
    /// on their own, so the errors add up. Each may put one call more than its pace into a
    /// window, and the spread is taken at least at its starting value.
    fn shared_margin(&self) -> f64 {
        if self.share >= 1.0 {
            return self.margin();
        }
        let runners = (1.0 / self.share).round();
        (self.margin().max(START_MARGIN) + runners / self.limit).min(MAX_MARGIN * 2.0)
    }

    /// Takes `share` (in (0, 1]) of the budget from now on.
    pub(crate) fn set_share(&mut self, share: f64) {
        if share.is_finite() && share > 0.0 {
            self.share = share.min(1.0);
        }
    }

    /// How many times rate codes stepped the pace down.
    #[cfg(test)]
    pub(crate) fn step_downs(&self) -> u64 {
        self.step_downs
    }

    /// Takes the next start time at or after `now`; the caller waits until then and calls.
    pub(crate) fn reserve(&mut self, now: Duration) -> Duration {
        self.climb(now);
        // No catching up after an idle moment: a burst is what a strict server refuses.
        let start = now.max(self.next_start).max(self.paused_until);
        self.next_start = start + Duration::from_secs_f64(1.0 / self.rate());
        self.starts.push_back(start);
        while self.starts.len() > self.window_calls() {
            self.starts.pop_front();
        }
        start
    }

    /// True while rate codes hold the next start back.
    pub(crate) fn paused(&self, now: Duration) -> bool {
        self.paused_until > now
    }

    /// A call answered after `rtt` (any answer but a lost reply: the spread is the network's).
    pub(crate) fn answered(&mut self, rtt: Duration) {
        if self.rtts.len() == RTT_SAMPLES {
            self.rtts.pop_front();
        }
        self.rtts.push_back(rtt);
    }

    /// The server refused a call with a rate-limit code at `now`.
    pub(crate) fn rate_limited(&mut self, now: Duration) {
        // The server's window is full of this client's calls of the last second: pause until
        // the oldest of them leaves it (the rest of the window), never a whole window.
        let since = now.saturating_sub(WINDOW);
        if let Some(&oldest) = self.starts.iter().find(|&&start| start >= since) {
            let rest = (oldest + WINDOW).min(now + WINDOW);
            self.paused_until = self.paused_until.max(rest);
        }
        // Codes for calls sent before the last step down answer the old pace: one step each
        // round trip, however many calls were in flight.
        let round_trip = self.rtts.iter().max().copied().unwrap_or(WINDOW / 10);
        if self
            .last_step_down
            .is_some_and(|at| now.saturating_sub(at) < round_trip)
        {
            return;
        }
        self.rate = (self.whole_rate() * STEP_DOWN).max(self.limit * FLOOR);
        self.last_step_down = Some(now);
        self.last_climb = now;
        self.step_downs += 1;
    }

    fn window_calls(&self) -> usize {
        // Truncation is intended: a limit of 200.5 calls/s allows 200 calls per window.
        ((self.limit * self.share).floor() as usize).max(1)
    }

    fn climb(&mut self, now: Duration) {
        let quiet_since = self.last_step_down.map_or(Duration::ZERO, |at| at + WINDOW);
        let from = self.last_climb.max(quiet_since);
        if now > from && self.rate < self.limit {
            let gained = self.limit * CLIMB_PER_SECOND * (now - from).as_secs_f64();
            self.rate = (self.rate + gained).min(self.limit);
        }
        self.last_climb = self.last_climb.max(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    /// A server counting arrivals in a sliding window: refuses an arrival that would be the
    /// `limit + 1`st accepted within any window.
    struct SlidingServer {
        limit: usize,
        accepted: VecDeque<Duration>,
        refused: u64,
    }

    impl SlidingServer {
        fn new(limit: usize) -> Self {
            SlidingServer {
                limit,
                accepted: VecDeque::new(),
                refused: 0,
            }
        }

        /// Arrivals must come in time order.
        fn arrive(&mut self, at: Duration) -> bool {
            while self.accepted.front().is_some_and(|&t| t + WINDOW <= at) {
                self.accepted.pop_front();
            }
            if self.accepted.len() >= self.limit {
                self.refused += 1;
                return false;
            }
            self.accepted.push_back(at);
            true
        }
    }

    const MS: Duration = Duration::from_millis(1);

    /// Sends `calls` through `pace` (resending refused ones) to a sliding server taking
    /// `server_limit` a window, whose one-way delay is `latency` ± `jitter` (uniform); answers
    /// come back after `latency`. Returns the calls refused and the accepted rate over the
    /// span of arrivals.
    fn simulate(
        pace: &mut AdaptivePace,
        calls: usize,
        server_limit: usize,
        latency: Duration,
        jitter: Duration,
    ) -> (u64, f64) {
        let mut rng = StdRng::seed_from_u64(7);
        let mut server = SlidingServer::new(server_limit);
        // (arrival, start) of calls not yet arrived, and answers not yet seen by the pace.
        let mut in_flight: Vec<(Duration, Duration)> = Vec::new();
        let mut answers: Vec<(Duration, Duration, bool)> = Vec::new();
        let mut arrivals = Vec::new();
        let mut now = Duration::ZERO;
        let mut sent = 0usize;
        let mut accepted = 0usize;
        while accepted < calls {
            // Deliver every answer due by `now` to the pace first, as the client would.
            answers.sort_by_key(|a| a.0);
            while answers.first().is_some_and(|a| a.0 <= now) {
                let (at, start, ok) = answers.remove(0);
                pace.answered(at - start);
                if !ok {
                    pace.rate_limited(at);
                }
            }
            let start = if sent < calls + server.refused as usize {
                pace.reserve(now)
            } else {
                now + MS
            };
            // Arrivals before this start happen first.
            in_flight.sort_by_key(|c| c.0);
            while in_flight.first().is_some_and(|c| c.0 <= start) {
                let (arrival, started) = in_flight.remove(0);
                let ok = server.arrive(arrival);
                if ok {
                    accepted += 1;
                    arrivals.push(arrival);
                }
                let back = arrival + latency;
                answers.push((back, started, ok));
            }
            if sent < calls + server.refused as usize {
                let spread = jitter.as_secs_f64() * rng.random_range(-1.0..=1.0);
                let arrival = start + Duration::from_secs_f64(latency.as_secs_f64() + spread);
                in_flight.push((arrival, start));
                sent += 1;
            }
            now = start;
        }
        let span = arrivals.last().copied().unwrap_or_default() - arrivals[0];
        (
            server.refused,
            (arrivals.len() - 1) as f64 / span.as_secs_f64(),
        )
    }

    #[test]
    fn runners_sharing_one_budget_stay_under_it_together() {
        let mut rng = StdRng::seed_from_u64(11);
        let mut server = SlidingServer::new(200);
        let mut arrivals = Vec::new();
        for offset in [Duration::ZERO, 3 * MS] {
            let mut pace = AdaptivePace::new(200.0);
            // Round trips measured within 2 ms of each other: the smallest single-runner margin.
            for i in 0..RTT_SAMPLES {
                pace.answered(Duration::from_millis(20 + (i % 3) as u64));
            }
            pace.set_share(0.5);
            let mut now = offset;
            for _ in 0..1_000 {
                let start = pace.reserve(now);
                let jitter = 2.0 * rng.random_range(-1.0..=1.0) / 1000.0;
                arrivals.push(start + Duration::from_secs_f64(0.02 + jitter));
                now = start;
            }
        }
        arrivals.sort();
        for &at in &arrivals {
            server.arrive(at);
        }
        assert_eq!(server.refused, 0);
        let span = arrivals[arrivals.len() - 1] - arrivals[0];
        let rate = (arrivals.len() - 1) as f64 / span.as_secs_f64();
        assert!(rate >= 0.95 * 200.0, "{rate}");
    }

    #[test]
    fn calls_are_spaced_below_the_limit_by_the_start_margin() {
        let mut pace = AdaptivePace::new(200.0);
        let a = pace.reserve(Duration::ZERO);
        let b = pace.reserve(Duration::ZERO);
        assert_eq!(a, Duration::ZERO);
        let spacing = (b - a).as_secs_f64();
        assert!((spacing - 1.0 / 196.0).abs() < 1e-9, "{spacing}");
    }

    #[test]
    fn an_idle_moment_is_not_caught_up_in_a_burst() {
        let mut pace = AdaptivePace::new(200.0);
        pace.reserve(Duration::ZERO);
        let later = Duration::from_secs(5);
        let a = pace.reserve(later);
        let b = pace.reserve(later);
        assert_eq!(a, later);
        assert!(b - a >= Duration::from_secs_f64(1.0 / 200.0));
    }

    #[test]
    fn the_margin_follows_the_spread_of_round_trips() {
        let mut pace = AdaptivePace::new(200.0);
        for i in 0..100u64 {
            pace.answered(Duration::from_millis(20 + i % 21));
        }
        assert!((pace.margin() - 0.020).abs() < 1e-9, "{}", pace.margin());
        assert!((pace.rate() - 196.0).abs() < 1e-6);
        let mut steady = AdaptivePace::new(200.0);
        for _ in 0..100 {
            steady.answered(Duration::from_millis(30));
        }
        assert!((steady.margin() - MIN_MARGIN).abs() < 1e-12);
        let mut wild = AdaptivePace::new(200.0);
        for i in 0..100u64 {
            wild.answered(Duration::from_millis(30 + i * 10));
        }
        assert!((wild.margin() - MAX_MARGIN).abs() < 1e-12);
    }

    #[test]
    fn repeated_rate_codes_step_down_once_per_round_trip_and_never_collapse() {
        let mut pace = AdaptivePace::new(200.0);
        for _ in 0..50 {
            pace.answered(Duration::from_millis(30));
        }
        let t = Duration::from_secs(1);
        // Six calls in flight refused together: one step.
        for i in 0..6 {
            pace.rate_limited(t + i * MS);
        }
        assert_eq!(pace.step_downs(), 1);
        assert!(
            (pace.rate() - 199.0 * STEP_DOWN).abs() < 1e-6,
            "{}",
            pace.rate()
        );
        for i in 0..200u32 {
            pace.rate_limited(t + i * 40 * MS);
        }
        assert!(pace.step_downs() > 100);
        assert!(
            (pace.rate() - 100.0).abs() < 1e-6,
            "floor at half the limit: {}",
            pace.rate()
        );
    }

    #[test]
    fn the_pace_climbs_back_gradually_after_a_quiet_window() {
        let mut pace = AdaptivePace::new(200.0);
        for _ in 0..50 {
            pace.answered(Duration::from_millis(30));
        }
        pace.rate_limited(Duration::from_secs(1));
        let low = pace.rate();
        // Inside the window after the step: no climb yet.
        pace.reserve(Duration::from_millis(1900));
        assert!((pace.rate() - low).abs() < 1e-9);
        // One second later: 2 % of the limit (4 calls/s) higher.
        pace.reserve(Duration::from_millis(3000));
        assert!(
            (pace.rate() - (low + 4.0)).abs() < 1e-6,
            "{} {}",
            low,
            pace.rate()
        );
        // In the end back to the ceiling, and no higher.
        pace.reserve(Duration::from_secs(60));
        assert!((pace.rate() - 199.0).abs() < 1e-6);
    }

    #[test]
    fn a_rate_code_pauses_only_for_the_rest_of_the_window() {
        let mut pace = AdaptivePace::new(200.0);
        // 200 calls in the first 0.8 s (as if the spacing were tighter), then a rate code.
        for i in 0..200u32 {
            pace.next_start = Duration::ZERO;
            pace.reserve(i * 4 * MS);
        }
        let now = Duration::from_millis(810);
        pace.rate_limited(now);
        assert!(pace.paused(now));
        assert_eq!(
            pace.reserve(now),
            Duration::from_secs(1),
            "the oldest call leaves the window at 1 s"
        );
        // A pace refused at its ceiling (arrivals bunched by the network) pauses a moment: the
        // oldest call of the last second leaves the window 5 ms later.
        let mut paced = AdaptivePace::new(200.0);
        for i in 0..200u32 {
            paced.reserve(i * 10 * MS);
        }
        let now = Duration::from_millis(1995);
        paced.rate_limited(now);
        assert_eq!(paced.reserve(now), Duration::from_millis(2000));
    }

    #[test]
    fn a_strict_server_with_jittered_arrivals_refuses_nothing_at_the_margin_it_allows() {
        // ± 10 ms one-way: round trips spread by 20 ms, so the pace keeps 2 % below 200/s, the
        // most any client can send without 201 arrivals falling in some second.
        let mut pace = AdaptivePace::new(200.0);
        let (refused, rate) = simulate(&mut pace, 2000, 200, 15 * MS, 10 * MS);
        assert_eq!(refused, 0, "rate {rate}");
        assert!(rate >= 0.975 * 200.0, "{rate}");
        // Steady arrivals: the pace keeps the narrowest margin and holds 99 % and more.
        let mut steady = AdaptivePace::new(200.0);
        let (refused, rate) = simulate(&mut steady, 2000, 200, 15 * MS, Duration::ZERO);
        assert_eq!(refused, 0);
        assert!(rate >= 0.99 * 200.0, "{rate}");
    }

    #[test]
    fn a_server_stricter_than_configured_gets_a_stepped_down_pace_not_a_collapse() {
        // Configured for 200/s, the server takes 150: the pace steps down to it and holds it.
        let mut pace = AdaptivePace::new(200.0);
        let (refused, rate) = simulate(&mut pace, 3000, 150, 15 * MS, 2 * MS);
        assert!(pace.step_downs() >= 1);
        assert!(rate >= 0.9 * 150.0, "{rate}");
        assert!(refused < 3000 / 20, "{refused} refused");
    }
}
