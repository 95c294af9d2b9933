//! The schedule inside a run: wait for `schedule.at`, hold sends outside the daily window (the
//! campaign's, or each recipient's own), and stop starting sends past `schedule.not_after`.
//!
//! The rules live in [`crate::schedule`] as pure functions of an instant; this module asks
//! them about the run's [`Clock`] and either sleeps until the instant they name (`apply`) or
//! leaves the rest pending for a later run (`apply --no-wait`, `run --due`), which must not
//! block a cron job for hours.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::Stop;
use crate::campaign::model::Schedule;
use crate::schedule::{Clock, Gate, WaitReason, gate, window_zone};

/// What the run is waiting for, shown by the progress display with a countdown.
#[derive(Debug, Clone)]
pub struct ScheduleWait {
    /// E.g. "outside the sending window until 09:00 (Asia/Shanghai)".
    pub label: String,
    pub until: Timestamp,
    /// The run's clock, so the countdown agrees with the schedule.
    pub clock: Arc<dyn Clock>,
}

impl ScheduleWait {
    /// The label with the time left, e.g. "… (in 1h02m)".
    pub fn text(&self) -> String {
        let left = self.until.duration_since(self.clock.now()).as_secs();
        let left = u64::try_from(left).unwrap_or(0);
        format!("waiting: {} (in {})", self.label, countdown(left))
    }
}

/// Seconds as a short countdown: `45s`, `12m05s`, `3h07m`.
pub fn countdown(secs: u64) -> String {
    if secs >= 3600 {
        format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60)
    } else if secs >= 60 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{secs}s")
    }
}

/// `at` as the local clock time of `zone`, with the zone: `09:00 (Asia/Shanghai)`; the date is
/// added when it is not today there.
pub fn local_time(at: Timestamp, now: Timestamp, zone: &TimeZone) -> String {
    let local = at.to_zoned_datetime(zone.clone());
    let name = crate::zone::name(zone);
    if local.date() == now.to_zoned_datetime(zone.clone()).date() {
        format!("{} ({name})", local.strftime("%H:%M"))
    } else {
        format!("{} ({name})", local.strftime("%Y-%m-%d %H:%M"))
    }
}

/// What the schedule says about one send now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admit {
    /// Send it.
    Go,
    /// Not now: its window opens at this instant.
    Later(Timestamp),
    /// Never in this run: `not_after` passed (or no window opens before it).
    Never(String),
}

/// Per zone name: the last verdict, and the instant it stops holding (never, if `None`).
type Verdicts = HashMap<String, (Admit, Option<Timestamp>)>;

/// The schedule of one run.
#[derive(Debug, Clone)]
pub struct Timing {
    /// `None` when the schedule is not enforced (`--sandbox`) or there is none.
    schedule: Option<Schedule>,
    pub clock: Arc<dyn Clock>,
    /// The window's own zone.
    zone: TimeZone,
    /// Each recipient's window is in their own zone.
    pub per_recipient: bool,
    /// Sleep until the window opens (`apply`), rather than leave the rest pending.
    pub wait: bool,
    shown: Arc<Mutex<Option<ScheduleWait>>>,
    /// The last verdict per zone and until when it holds: the rules take a few time zone
    /// conversions, too many to repeat for each of ten million recipients.
    verdicts: Arc<Mutex<Verdicts>>,
}

impl Timing {
    pub fn new(
        schedule: Option<&Schedule>,
        clock: Arc<dyn Clock>,
        wait: bool,
        shown: Arc<Mutex<Option<ScheduleWait>>>,
    ) -> Timing {
        let window = schedule.and_then(|s| s.window.as_ref());
        Timing {
            schedule: schedule.cloned(),
            clock,
            zone: window.map_or(TimeZone::UTC, |w| window_zone(w, None)),
            per_recipient: window.is_some_and(|w| w.recipient_timezone_column.is_some()),
            wait,
            shown,
            verdicts: Arc::default(),
        }
    }

    /// `schedule.at`, when it is still ahead.
    pub fn start_ahead(&self) -> Option<Timestamp> {
        let at = self.schedule.as_ref()?.at?.0;
        (self.clock.now() < at).then_some(at)
    }

    /// The zone of a recipient's window: their own when the column names a valid zone.
    pub fn zone_of(&self, recipient_zone: Option<&str>) -> TimeZone {
        match self.schedule.as_ref().and_then(|s| s.window.as_ref()) {
            Some(window) if self.per_recipient => window_zone(window, recipient_zone),
            _ => self.zone.clone(),
        }
    }

    /// What the schedule allows now for a send in `zone`.
    pub fn admit(&self, zone: &TimeZone) -> Admit {
        if self.schedule.is_none() {
            return Admit::Go;
        }
        let now = self.clock.now();
        let key = crate::zone::name(zone);
        if let Ok(verdicts) = self.verdicts.lock()
            && let Some((verdict, valid_until)) = verdicts.get(&key)
            && valid_until.is_none_or(|end| now < end)
        {
            return verdict.clone();
        }
        let (verdict, valid_until) = match gate(self.schedule.as_ref(), now, Some(zone)) {
            Gate::Open { until } => (Admit::Go, until),
            Gate::Wait { until, .. } => (Admit::Later(until), Some(until)),
            Gate::Closed { reason } => (Admit::Never(reason), None),
        };
        if let Ok(mut verdicts) = self.verdicts.lock() {
            verdicts.insert(key, (verdict.clone(), valid_until));
        }
        verdict
    }

    /// Sleeps until `until`, showing why; false when the run was stopped first.
    pub async fn sleep_until(&self, until: Timestamp, why: WaitReason, stop: &Stop) -> bool {
        let now = self.clock.now();
        let label = match why {
            WaitReason::Start => format!("scheduled start at {until} (schedule.at)"),
            WaitReason::Window if self.per_recipient => format!(
                "recipients outside their sending window; the next opens at {}",
                local_time(until, now, &TimeZone::UTC)
            ),
            WaitReason::Window => format!(
                "outside the sending window until {}",
                local_time(until, now, &self.zone)
            ),
        };
        self.show(Some(ScheduleWait {
            label,
            until,
            clock: self.clock.clone(),
        }));
        let woke = tokio::select! {
            () = self.clock.sleep_until(until) => !stop.is_stopped(),
            () = stop.stopped() => false,
        };
        self.show(None);
        woke
    }

    fn show(&self, wait: Option<ScheduleWait>) {
        if let Ok(mut slot) = self.shown.lock() {
            *slot = wait;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdowns_and_local_times_read_naturally() {
        assert_eq!(countdown(45), "45s");
        assert_eq!(countdown(725), "12m05s");
        assert_eq!(countdown(3 * 3600 + 7 * 60 + 5), "3h07m");
        let zone = TimeZone::get("Asia/Shanghai").unwrap();
        let now: Timestamp = "2026-11-24T02:00:00Z".parse().unwrap();
        let at: Timestamp = "2026-11-24T13:00:00Z".parse().unwrap();
        assert_eq!(local_time(at, now, &zone), "21:00 (Asia/Shanghai)");
        let tomorrow: Timestamp = "2026-11-25T01:00:00Z".parse().unwrap();
        assert_eq!(
            local_time(tomorrow, now, &zone),
            "2026-11-25 09:00 (Asia/Shanghai)"
        );
    }
}
