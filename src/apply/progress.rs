//! Progress of a run: counters the executor bumps, and a display that reads them — an
//! indicatif bar on a terminal, one log line every few seconds otherwise (CI logs, JSON).
//!
//! The bar belongs to a tracing span shown by tracing-indicatif, the same layer whose writer
//! every log line goes through: lines are written above the bar, never across it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::ProgressStyle;
use tracing_indicatif::span_ext::IndicatifSpanExt;

use super::limiter::Limits;
use super::timing::{ScheduleWait, countdown};

/// What a run has done so far.
#[derive(Debug, Default)]
pub struct Counters {
    pub sent: AtomicU64,
    pub failed: AtomicU64,
    pub uncertain: AtomicU64,
    /// Sends this run will make.
    pub total: AtomicU64,
    /// Recipients per error code timcast does not know, for the summary.
    pub unknown_codes: Mutex<std::collections::BTreeMap<i64, u64>>,
    /// The run's limits, to show when they hold it.
    pub limits: Mutex<Option<Arc<Limits>>>,
    /// What the schedule holds the run for (`schedule.at`, a closed window), with a countdown.
    pub schedule: Arc<Mutex<Option<ScheduleWait>>>,
    /// The word for what `sent` counts, when it is not sends (`recalled`).
    pub done_word: std::sync::OnceLock<&'static str>,
}

impl Counters {
    pub fn new() -> Arc<Counters> {
        Arc::new(Counters::default())
    }

    /// `n` of the sends counted in `total` will not be made after all (a frequency cap).
    pub(crate) fn not_sending(&self, n: u64) {
        let _ = self
            .total
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                Some(t.saturating_sub(n))
            });
    }

    fn waiting(&self) -> Option<String> {
        // The schedule first: while it holds the run, no limiter is in play.
        if let Ok(slot) = self.schedule.lock()
            && let Some(wait) = slot.as_ref()
        {
            return Some(wait.text());
        }
        let limits = self.limits.lock().ok()?;
        limits
            .as_ref()
            .and_then(|l| l.waiting().label())
            .map(str::to_owned)
    }
}

/// Sends per second over the last few seconds.
struct RateWindow {
    samples: VecDeque<(Instant, u64)>,
}

impl RateWindow {
    fn rate(&mut self, done: u64) -> f64 {
        let now = Instant::now();
        self.samples.push_back((now, done));
        while self.samples.len() > 2
            && self
                .samples
                .front()
                .is_some_and(|(t, _)| now.duration_since(*t) > Duration::from_secs(5))
        {
            self.samples.pop_front();
        }
        match self.samples.front() {
            Some((t, d)) if now.duration_since(*t) > Duration::from_millis(200) => {
                (done - d) as f64 / now.duration_since(*t).as_secs_f64()
            }
            _ => 0.0,
        }
    }
}

fn eta(remaining: u64, rate: f64) -> String {
    if remaining == 0 {
        return "0s".into();
    }
    if rate <= 0.0 {
        return "?".into();
    }
    countdown((remaining as f64 / rate).ceil() as u64)
}

/// A running display; [`Display::finish`] stops it.
pub struct Display {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Display {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Display")
    }
}

impl Display {
    /// Starts drawing `counters` on stderr: a bar when `terminal`, else a line every `every`.
    pub fn start(counters: Arc<Counters>, terminal: bool, every: Duration) -> Display {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            if terminal {
                draw_bar(&counters, &flag);
            } else {
                draw_lines(&counters, &flag, every);
            }
        });
        Display {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops drawing (the bar is cleared; the final summary is printed by the caller).
    pub fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn status(counters: &Counters, window: &mut RateWindow) -> (u64, u64, String) {
    let (done, total, text, _) = snapshot(counters, window);
    (done, total, text)
}

/// The counts at one instant, their line, and the counts apart (fields of a log line).
fn snapshot(counters: &Counters, window: &mut RateWindow) -> (u64, u64, String, [u64; 4]) {
    // One snapshot, so the bar and its text agree.
    let sent = counters.sent.load(Ordering::Relaxed);
    let failed = counters.failed.load(Ordering::Relaxed);
    let uncertain = counters.uncertain.load(Ordering::Relaxed);
    let done = sent + failed + uncertain;
    let total = counters.total.load(Ordering::Relaxed).max(done);
    let rate = window.rate(done);
    let remaining = total - done;
    let word = counters.done_word.get().copied().unwrap_or("sent");
    let mut text = format!(
        "{word} {sent} · failed {failed} · uncertain {uncertain} · remaining {} · {:.0}/s · ETA {}",
        remaining,
        rate,
        eta(remaining, rate)
    );
    if let Some(waiting) = counters.waiting() {
        text.push_str(" · ");
        text.push_str(&waiting);
    }
    (done, total, text, [sent, failed, uncertain, remaining])
}

fn draw_bar(counters: &Counters, stop: &std::sync::atomic::AtomicBool) {
    let bar = tracing::info_span!("progress", indicatif.pb_show = true);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} [{elapsed}] {bar:30} {pos}/{len} {msg}")
    {
        bar.pb_set_style(&style);
    }
    bar.pb_set_length(counters.total.load(Ordering::Relaxed));
    // The bar shows while its span is entered, and is cleared when the span closes.
    let entered = bar.enter();
    let mut window = RateWindow {
        samples: VecDeque::new(),
    };
    while !stop.load(Ordering::Relaxed) {
        let (done, total, text) = status(counters, &mut window);
        bar.pb_set_length(total);
        bar.pb_set_position(done);
        bar.pb_set_message(&text);
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(entered);
}

fn draw_lines(counters: &Counters, stop: &std::sync::atomic::AtomicBool, every: Duration) {
    let mut window = RateWindow {
        samples: VecDeque::new(),
    };
    let mut last = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        // Keep the rate window fed even between lines.
        let (_, _, text, [sent, failed, uncertain, remaining]) = snapshot(counters, &mut window);
        if last.elapsed() >= every {
            last = Instant::now();
            tracing::info!(sent, failed, uncertain, remaining, "progress: {text}");
        }
    }
}
