//! Runs as a timeline: the journal's intents, read in time order, cut into runs wherever
//! nothing was sent for [`RUN_GAP_MS`], each with a send-rate series of bounded length.
//!
//! The journal does not record runs, so a run here is a burst of sends; a run that paused for
//! longer than the gap (a schedule window, a long back-off) shows as two. Memory is bounded
//! whatever the audience: at most [`MAX_RUNS`] runs of at most [`MAX_BUCKETS`] buckets each
//! (a bucket doubles its width instead of the series growing).

use serde::Serialize;

/// Silence that separates two runs.
pub(crate) const RUN_GAP_MS: i64 = 120_000;
/// Buckets a run keeps; a longer run gets wider buckets.
pub(crate) const MAX_BUCKETS: usize = 240;
/// Runs kept; beyond this the two closest are merged (their gap then shows as zero sends).
pub(crate) const MAX_RUNS: usize = 24;
/// The documented default rate of every send API, in recipients a second: `sendmsg` 200
/// calls/s of one recipient, `batchsendmsg` 12,000 recipients/min (API.md §2).
pub(crate) const API_LIMIT_PER_SECOND: u64 = 200;

/// One run: sends from `start_ms` to `end_ms`, counted per bucket of `width_s` seconds from
/// `start_s`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Run {
    pub start_ms: i64,
    pub end_ms: i64,
    pub sends: u64,
    #[serde(skip)]
    start_s: i64,
    #[serde(skip)]
    width_s: i64,
    #[serde(skip)]
    buckets: Vec<u64>,
}

impl Run {
    fn new(at_ms: i64) -> Run {
        Run {
            start_ms: at_ms,
            end_ms: at_ms,
            sends: 0,
            start_s: at_ms.div_euclid(1000),
            width_s: 1,
            buckets: Vec::new(),
        }
    }

    fn add_at_second(&mut self, second: i64, count: u64) {
        let mut index = usize::try_from((second - self.start_s).max(0) / self.width_s).unwrap_or(0);
        while index >= MAX_BUCKETS {
            self.coarsen();
            index = usize::try_from((second - self.start_s).max(0) / self.width_s).unwrap_or(0);
        }
        if self.buckets.len() <= index {
            self.buckets.resize(index + 1, 0);
        }
        if let Some(slot) = self.buckets.get_mut(index) {
            *slot += count;
        }
    }

    /// Doubles the bucket width, folding pairs.
    fn coarsen(&mut self) {
        self.width_s = self.width_s.saturating_mul(2);
        self.buckets = self
            .buckets
            .chunks(2)
            .map(|pair| pair.iter().sum())
            .collect();
    }

    fn add(&mut self, at_ms: i64) {
        self.end_ms = self.end_ms.max(at_ms);
        self.sends += 1;
        self.add_at_second(at_ms.div_euclid(1000), 1);
    }

    /// `other` (later) folded into this run.
    fn absorb(&mut self, other: &Run) {
        for (i, count) in other.buckets.iter().enumerate() {
            if *count > 0 {
                let offset = i64::try_from(i).unwrap_or(0).saturating_mul(other.width_s);
                self.add_at_second(other.start_s.saturating_add(offset), *count);
            }
        }
        self.end_ms = self.end_ms.max(other.end_ms);
        self.sends += other.sends;
    }

    /// Seconds from the first send to the last, at least one.
    pub(crate) fn seconds(&self) -> f64 {
        ((self.end_ms - self.start_ms) as f64 / 1000.0).max(1.0)
    }

    /// Sends a second, one value per bucket.
    pub(crate) fn rates(&self) -> impl Iterator<Item = f64> + '_ {
        let width = self.width_s as f64;
        self.buckets.iter().map(move |n| *n as f64 / width)
    }

    /// The highest rate of any bucket.
    pub(crate) fn peak(&self) -> f64 {
        self.rates().fold(0.0, f64::max)
    }

    pub(crate) fn bucket_seconds(&self) -> i64 {
        self.width_s
    }
}

/// Every run, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Timeline {
    pub runs: Vec<Run>,
    /// Runs merged into a neighbour to stay within [`MAX_RUNS`].
    pub merged_runs: u64,
}

impl Timeline {
    /// A send whose intent was committed at `at_ms`; calls come in time order (the journal
    /// reads them so), an earlier one is counted in the run it falls into.
    pub(crate) fn add(&mut self, at_ms: i64) {
        match self.runs.last_mut() {
            Some(run) if at_ms - run.end_ms <= RUN_GAP_MS => run.add(at_ms),
            _ => {
                let mut run = Run::new(at_ms);
                run.add(at_ms);
                self.runs.push(run);
                if self.runs.len() > MAX_RUNS {
                    self.merge_closest();
                }
            }
        }
    }

    fn merge_closest(&mut self) {
        let closest = self
            .runs
            .windows(2)
            .enumerate()
            .min_by_key(|(_, pair)| match pair {
                [a, b] => b.start_ms - a.end_ms,
                _ => i64::MAX,
            })
            .map(|(i, _)| i);
        if let Some(i) = closest
            && i + 1 < self.runs.len()
        {
            let later = self.runs.remove(i + 1);
            if let Some(run) = self.runs.get_mut(i) {
                run.absorb(&later);
            }
            self.merged_runs += 1;
        }
    }

    /// The highest rate of any run.
    pub(crate) fn peak(&self) -> f64 {
        self.runs.iter().map(Run::peak).fold(0.0, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_795_000_000_000;

    #[test]
    fn a_gap_longer_than_the_threshold_starts_a_run() {
        let mut timeline = Timeline::default();
        for at in [
            T0,
            T0 + 500,
            T0 + 1_200,
            T0 + RUN_GAP_MS + 1_300,
            T0 + 3_600_000,
        ] {
            timeline.add(at);
        }
        let sends: Vec<u64> = timeline.runs.iter().map(|r| r.sends).collect();
        assert_eq!(sends, vec![3, 1, 1]);
        let first: Vec<f64> = timeline.runs[0].rates().collect();
        assert_eq!(first, vec![2.0, 1.0]);
    }

    #[test]
    fn a_long_run_keeps_a_bounded_series_and_its_total() {
        let mut timeline = Timeline::default();
        // 10 sends a second for 10,000 s: one run, buckets widened.
        for i in 0..100_000 {
            timeline.add(T0 + i * 100);
        }
        let run = &timeline.runs[0];
        assert_eq!(timeline.runs.len(), 1);
        assert!(run.buckets.len() <= MAX_BUCKETS, "{}", run.buckets.len());
        assert_eq!(run.buckets.iter().sum::<u64>(), 100_000);
        assert!((run.peak() - 10.0).abs() < 1e-9, "{}", run.peak());
    }

    #[test]
    fn many_runs_are_merged_down_to_the_cap_without_losing_sends() {
        let mut timeline = Timeline::default();
        for i in 0..100 {
            // Gaps grow, so the earliest runs are the closest and merge first.
            timeline.add(T0 + i * (RUN_GAP_MS + 1_000) + i * i * 1_000);
        }
        assert_eq!(timeline.runs.len(), MAX_RUNS);
        assert_eq!(timeline.runs.iter().map(|r| r.sends).sum::<u64>(), 100);
        assert_eq!(timeline.merged_runs, 100 - MAX_RUNS as u64);
    }
}
