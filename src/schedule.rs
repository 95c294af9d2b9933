//! When a campaign may send: `schedule.at` (not before), `schedule.not_after` (never after) and
//! a daily `window` in a time zone — the campaign's, or each recipient's own.
//!
//! Pure functions of a given instant, so that every rule is tested with a fixed clock; the
//! executor asks them what to do now and sleeps until the instant they name.

use jiff::civil::{Date, Weekday as CivilWeekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use crate::campaign::model::{Schedule, Weekday, Window};

/// What the schedule allows at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Sending may go on; `until` is when the window closes or `not_after` comes (if ever).
    Open { until: Option<Timestamp> },
    /// Not yet: wait until this instant.
    Wait {
        until: Timestamp,
        reason: WaitReason,
    },
    /// Never again: `not_after` passed, or no window opens before it.
    Closed { reason: String },
}

/// Why a campaign is waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitReason {
    /// `schedule.at` is still ahead.
    Start,
    /// Outside the daily window.
    Window,
}

impl std::fmt::Display for WaitReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WaitReason::Start => "scheduled start",
            WaitReason::Window => "outside the sending window",
        })
    }
}

/// A future a clock returns from [`Clock::sleep_until`].
pub type Sleep<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>;

/// The time the schedule is judged by, and a way to wait for an instant. The executor takes
/// one so that tests can wait hours for a window in no time: a virtual clock's sleep just
/// moves its time forward.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Timestamp;
    /// Resolves once `now() >= until`.
    fn sleep_until(&self, until: Timestamp) -> Sleep<'_>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

/// Longest single timer sleep: a laptop that sleeps or a clock that jumps (NTP) is noticed
/// within this long instead of after a timer set hours ago.
const MAX_TIMER_SLEEP: std::time::Duration = std::time::Duration::from_secs(30);

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    fn sleep_until(&self, until: Timestamp) -> Sleep<'_> {
        Box::pin(async move {
            loop {
                let left = until.duration_since(Timestamp::now());
                if left.is_negative() || left.is_zero() {
                    return;
                }
                let left = std::time::Duration::try_from(left).unwrap_or(MAX_TIMER_SLEEP);
                tokio::time::sleep(left.min(MAX_TIMER_SLEEP)).await;
            }
        })
    }
}

/// A virtual clock: it says what it is told, and sleeping moves it to the end of the sleep at
/// once. For tests, and for `TIMCAST_NOW` (a hidden testing aid of the CLI).
#[derive(Debug, Clone)]
pub struct FixedClock(pub std::sync::Arc<std::sync::Mutex<Timestamp>>);

impl FixedClock {
    pub fn new(at: Timestamp) -> Self {
        FixedClock(std::sync::Arc::new(std::sync::Mutex::new(at)))
    }
    pub fn set(&self, at: Timestamp) {
        if let Ok(mut now) = self.0.lock() {
            *now = at;
        }
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0.lock().map_or_else(|_| Timestamp::now(), |t| *t)
    }

    fn sleep_until(&self, until: Timestamp) -> Sleep<'_> {
        if let Ok(mut now) = self.0.lock()
            && *now < until
        {
            *now = until;
        }
        // Still a yield point, so a stop or other tasks get their turn.
        Box::pin(tokio::task::yield_now())
    }
}

/// The time zone of a window for one recipient: theirs when the column names a zone.
///
/// `plan` refuses a recipient whose column holds something that is not a zone, so the
/// fallback here is for an empty value only.
pub fn window_zone(window: &Window, recipient_zone: Option<&str>) -> TimeZone {
    recipient_zone
        .map(str::trim)
        .filter(|z| !z.is_empty())
        .and_then(|z| crate::zone::parse(z).ok())
        .or_else(|| crate::zone::parse(&window.timezone).ok())
        .unwrap_or(TimeZone::UTC)
}

/// What the schedule allows at `now`; `zone` is the window's zone for this recipient.
pub fn gate(schedule: Option<&Schedule>, now: Timestamp, zone: Option<&TimeZone>) -> Gate {
    let Some(schedule) = schedule else {
        return Gate::Open { until: None };
    };
    let not_after = schedule.not_after.map(|t| t.0);
    if let Some(end) = not_after
        && now > end
    {
        return Gate::Closed {
            reason: format!("schedule.not_after ({end}) has passed"),
        };
    }
    if let Some(at) = schedule.at.map(|t| t.0)
        && now < at
    {
        // Waiting for the start; the window may hold it further once there.
        return match gate(
            Some(&Schedule {
                at: None,
                ..schedule.clone()
            }),
            at,
            zone,
        ) {
            Gate::Open { .. } => Gate::Wait {
                until: at,
                reason: WaitReason::Start,
            },
            other => other,
        };
    }
    let Some(window) = &schedule.window else {
        return Gate::Open { until: not_after };
    };
    let zone = zone.cloned().unwrap_or_else(|| window_zone(window, None));
    match window_state(window, now, &zone) {
        WindowState::Inside { closes } => Gate::Open {
            until: Some(not_after.map_or(closes, |end| end.min(closes))),
        },
        WindowState::Outside { opens } => match (opens, not_after) {
            (Some(opens), Some(end)) if opens > end => Gate::Closed {
                reason: format!(
                    "the sending window does not open again before schedule.not_after ({end})"
                ),
            },
            (Some(opens), _) => Gate::Wait {
                until: opens,
                reason: WaitReason::Window,
            },
            (None, _) => Gate::Closed {
                reason: "the sending window never opens (no day of the week is allowed)".to_owned(),
            },
        },
    }
}

/// The schedule in one line, for plans: `not before …, not after …, daily 09:00–21:00
/// Asia/Shanghai`. Instants are in UTC, as in the rest of timcast's output.
pub fn describe(schedule: &Schedule) -> String {
    let mut parts = Vec::new();
    if let Some(at) = schedule.at {
        parts.push(format!("not before {}", at.0));
    }
    if let Some(end) = schedule.not_after {
        parts.push(format!("not after {}", end.0));
    }
    if let Some(w) = &schedule.window {
        let mut window = format!("daily {}–{} {}", w.from, w.to, w.timezone);
        if !w.days.is_empty() {
            let days: Vec<String> = w
                .days
                .iter()
                .map(|d| format!("{:?}", civil_weekday(*d)).chars().take(3).collect())
                .collect();
            window.push_str(&format!(" on {}", days.join(", ")));
        }
        if let Some(column) = &w.recipient_timezone_column {
            window.push_str(&format!(
                ", in each recipient's own time zone (column `{column}`)"
            ));
        }
        parts.push(window);
    }
    if parts.is_empty() {
        "none: apply sends at once".to_owned()
    } else {
        parts.join(", ")
    }
}

enum WindowState {
    Inside { closes: Timestamp },
    Outside { opens: Option<Timestamp> },
}

fn civil_weekday(day: Weekday) -> CivilWeekday {
    match day {
        Weekday::Mon => CivilWeekday::Monday,
        Weekday::Tue => CivilWeekday::Tuesday,
        Weekday::Wed => CivilWeekday::Wednesday,
        Weekday::Thu => CivilWeekday::Thursday,
        Weekday::Fri => CivilWeekday::Friday,
        Weekday::Sat => CivilWeekday::Saturday,
        Weekday::Sun => CivilWeekday::Sunday,
    }
}

/// The window's opening and closing instants for the day `date` (local), if that day allows it.
fn window_on(window: &Window, date: Date, zone: &TimeZone) -> Option<(Timestamp, Timestamp)> {
    if !window.days.is_empty()
        && !window
            .days
            .iter()
            .any(|d| civil_weekday(*d) == date.weekday())
    {
        return None;
    }
    let at = |d: Date, minutes: u32| {
        let (h, m) = ((minutes / 60) as i8, (minutes % 60) as i8);
        d.at(h, m, 0, 0)
            .to_zoned_datetime(zone.clone())
            .ok()
            .map(|z| z.timestamp())
    };
    // `24:00` is the midnight at the end of the day, the same instant as `00:00` tomorrow.
    let (from, to) = (window.from.minutes() % 1440, window.to.minutes() % 1440);
    let opens = at(date, from)?;
    // `to` before `from`: the window spans midnight into the next day.
    let closes = if to > from {
        at(date, to)?
    } else {
        at(date.tomorrow().ok()?, to)?
    };
    Some((opens, closes))
}

fn window_state(window: &Window, now: Timestamp, zone: &TimeZone) -> WindowState {
    let today = now.to_zoned_datetime(zone.clone()).date();
    // Yesterday's window may still be open (a window spanning midnight).
    for offset in [-1i64, 0] {
        if let Ok(day) = today.checked_add(offset.days())
            && let Some((opens, closes)) = window_on(window, day, zone)
            && opens <= now
            && now < closes
        {
            return WindowState::Inside { closes };
        }
    }
    for offset in 0..8i64 {
        if let Ok(day) = today.checked_add(offset.days())
            && let Some((opens, _)) = window_on(window, day, zone)
            && opens > now
        {
            return WindowState::Outside { opens: Some(opens) };
        }
    }
    WindowState::Outside { opens: None }
}

/// The schedule as it stands for the whole campaign before any recipient is read: with
/// per-recipient windows, only `at` and `not_after` (each recipient's window is judged as
/// they are sent).
pub fn campaign_wide(
    schedule: &crate::campaign::model::Schedule,
) -> crate::campaign::model::Schedule {
    let mut schedule = schedule.clone();
    if schedule
        .window
        .as_ref()
        .is_some_and(|w| w.recipient_timezone_column.is_some())
    {
        schedule.window = None;
    }
    schedule
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::model::{TimeOfDay, Timestamp as FileTime};

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn wait(until: &str, reason: WaitReason) -> Gate {
        Gate::Wait {
            until: t(until),
            reason,
        }
    }

    fn open_until(until: &str) -> Gate {
        Gate::Open {
            until: Some(t(until)),
        }
    }

    fn window(from: &str, to: &str, tz: &str, days: &[Weekday]) -> Window {
        Window {
            from: TimeOfDay::parse(from).unwrap(),
            to: TimeOfDay::parse(to).unwrap(),
            timezone: tz.to_owned(),
            days: days.to_vec(),
            recipient_timezone_column: None,
        }
    }

    fn schedule(at: Option<&str>, not_after: Option<&str>, window: Option<Window>) -> Schedule {
        Schedule {
            at: at.map(|s| FileTime(t(s))),
            not_after: not_after.map(|s| FileTime(t(s))),
            window,
        }
    }

    #[test]
    fn a_schedule_reads_as_one_line() {
        let mut w = window(
            "09:00",
            "21:00",
            "Asia/Shanghai",
            &[Weekday::Sat, Weekday::Sun],
        );
        w.recipient_timezone_column = Some("tz".into());
        let s = schedule(
            Some("2026-11-27T09:00:00+08:00"),
            Some("2026-11-27T21:00:00+08:00"),
            Some(w),
        );
        assert_eq!(
            describe(&s),
            "not before 2026-11-27T01:00:00Z, not after 2026-11-27T13:00:00Z, daily \
             09:00–21:00 Asia/Shanghai on Sat, Sun, in each recipient's own time zone (column `tz`)"
        );
        assert_eq!(
            describe(&schedule(None, None, None)),
            "none: apply sends at once"
        );
    }

    #[test]
    fn no_schedule_is_always_open() {
        assert_eq!(
            gate(None, t("2026-11-24T00:00:00Z"), None),
            Gate::Open { until: None }
        );
    }

    #[test]
    fn waits_for_the_start_and_refuses_after_not_after() {
        let s = schedule(
            Some("2026-11-27T09:00:00+08:00"),
            Some("2026-11-27T21:00:00+08:00"),
            None,
        );
        assert_eq!(
            gate(Some(&s), t("2026-11-27T00:30:00Z"), None),
            wait("2026-11-27T01:00:00Z", WaitReason::Start)
        );
        assert_eq!(
            gate(Some(&s), t("2026-11-27T05:00:00Z"), None),
            open_until("2026-11-27T13:00:00Z")
        );
        assert!(matches!(
            gate(Some(&s), t("2026-11-27T13:00:01Z"), None),
            Gate::Closed { .. }
        ));
    }

    #[test]
    fn a_window_pauses_outside_its_hours_and_resumes_inside() {
        let s = schedule(
            None,
            None,
            Some(window("09:00", "21:00", "Asia/Shanghai", &[])),
        );
        // 22:00 in Shanghai: closed until 09:00 the next morning.
        assert_eq!(
            gate(Some(&s), t("2026-11-24T14:00:00Z"), None),
            wait("2026-11-25T01:00:00Z", WaitReason::Window)
        );
        // 10:00 in Shanghai: open until 21:00.
        assert_eq!(
            gate(Some(&s), t("2026-11-25T02:00:00Z"), None),
            open_until("2026-11-25T13:00:00Z")
        );
    }

    #[test]
    fn windows_can_span_midnight_and_skip_days() {
        let night = schedule(None, None, Some(window("22:00", "02:00", "UTC", &[])));
        assert_eq!(
            gate(Some(&night), t("2026-11-25T01:00:00Z"), None),
            open_until("2026-11-25T02:00:00Z")
        );
        // Weekdays only: Saturday 2026-11-28 at noon waits for Monday 09:00.
        let weekdays = schedule(
            None,
            None,
            Some(window(
                "09:00",
                "17:00",
                "UTC",
                &[
                    Weekday::Mon,
                    Weekday::Tue,
                    Weekday::Wed,
                    Weekday::Thu,
                    Weekday::Fri,
                ],
            )),
        );
        assert_eq!(
            gate(Some(&weekdays), t("2026-11-28T12:00:00Z"), None),
            wait("2026-11-30T09:00:00Z", WaitReason::Window)
        );
    }

    #[test]
    fn each_recipient_can_have_their_own_time_zone() {
        let w = window("09:00", "21:00", "UTC", &[]);
        let s = schedule(None, None, Some(w.clone()));
        let now = t("2026-11-24T12:00:00Z");
        let tokyo = window_zone(&w, Some("Asia/Tokyo"));
        let new_york = window_zone(&w, Some("America/New_York"));
        // 21:00 in Tokyo: just closed; 07:00 in New York: opens at 09:00 local (14:00 UTC).
        assert_eq!(
            gate(Some(&s), now, Some(&tokyo)),
            wait("2026-11-25T00:00:00Z", WaitReason::Window)
        );
        assert_eq!(
            gate(Some(&s), now, Some(&new_york)),
            wait("2026-11-24T14:00:00Z", WaitReason::Window)
        );
        // An empty zone in the CSV falls back to the window's own.
        let fallback = window_zone(&w, Some(" "));
        assert_eq!(
            gate(Some(&s), now, Some(&fallback)),
            open_until("2026-11-24T21:00:00Z")
        );
        // A fixed offset is as good as a name.
        let plus_nine = window_zone(&w, Some("+09:00"));
        assert_eq!(
            gate(Some(&s), now, Some(&plus_nine)),
            wait("2026-11-25T00:00:00Z", WaitReason::Window)
        );
    }

    #[test]
    fn a_window_that_opens_only_after_not_after_closes_the_campaign() {
        let s = schedule(
            None,
            Some("2026-11-24T23:00:00Z"),
            Some(window("09:00", "17:00", "UTC", &[])),
        );
        assert!(matches!(
            gate(Some(&s), t("2026-11-24T18:00:00Z"), None),
            Gate::Closed { .. }
        ));
    }
}
