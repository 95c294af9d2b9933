//! The row before which a run has settled every recipient, kept in the journal's checkpoint
//! as the run goes: a run killed with -9 and resumed over the same inputs starts sending there
//! without reading the rows before it.
//!
//! A row is open from the moment the sending pass hands it over until its outcome settles it
//! (sent, or failed for good) and has been queued to the journal writer; a row that will not
//! settle in this run (uncertain, retryable, deferred, capped, past a `--limit`) stays open, and
//! so do all after it. Rows the pass never hands over have nothing to send.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::send::Outcome;

/// Most open rows tracked; beyond them the watermark stops where they end.
const MAX_OPEN: usize = 1 << 16;

/// The run's watermark: shared by the executor, its call tasks and the planner thread.
#[derive(Debug)]
pub(crate) struct Watermark {
    inner: Mutex<Open>,
}

#[derive(Debug)]
struct Open {
    /// Rows handed over and not settled yet (a row appears once per recipient sent).
    rows: BTreeMap<u64, u32>,
    /// The first row that stays open for the rest of the run: nothing after it matters.
    stuck: Option<u64>,
    /// Every row before this one was handed over or had nothing to send.
    next: u64,
}

impl Watermark {
    /// A run whose sending pass starts at `from_row`.
    pub(crate) fn new(from_row: u64) -> Watermark {
        Watermark {
            inner: Mutex::new(Open {
                rows: BTreeMap::new(),
                stuck: None,
                next: from_row,
            }),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Open) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The sending pass handed over `row`: open until [`Watermark::settled`].
    pub(crate) fn handed(&self, row: u64) {
        self.with(|open| {
            open.next = open.next.max(row + 1);
            if open.stuck.is_none_or(|stuck| row < stuck) {
                *open.rows.entry(row).or_default() += 1;
            }
            // Rows a run will not send (past a --limit, say) would pile up: the last one stays
            // open for the run, and nothing after it is kept.
            if open.rows.len() > MAX_OPEN
                && let Some(last) = open.rows.keys().next_back().copied()
            {
                open.stuck = Some(open.stuck.map_or(last, |s| s.min(last)));
                open.rows.remove(&last);
            }
        });
    }

    /// `row` stays open for the rest of the run (the cap held it back, say).
    pub(crate) fn stuck(&self, row: u64) {
        self.with(|open| {
            open.next = open.next.max(row + 1);
            open.stuck = Some(open.stuck.map_or(row, |s| s.min(row)));
            open.rows.retain(|r, _| *r < row);
        });
    }

    /// The outcomes of `rows` are queued to the journal writer: those they settle are closed.
    pub(crate) fn settled(&self, rows: &[u64], outcomes: &[Outcome]) {
        self.with(|open| {
            for (row, outcome) in rows.iter().zip(outcomes) {
                if !settles(outcome) {
                    continue;
                }
                if let Some(n) = open.rows.get_mut(row) {
                    *n -= 1;
                    if *n == 0 {
                        open.rows.remove(row);
                    }
                }
            }
        });
    }

    /// The first row not known to be settled.
    pub(crate) fn row(&self) -> u64 {
        self.with(|open| {
            let first_open = open.rows.keys().next().copied();
            [first_open, open.stuck, Some(open.next)]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(open.next)
        })
    }
}

/// Whether an outcome settles its recipient for every later run: sent, or failed for good
/// (an unknown code is retried with `--retry-unknown`, so it does not).
fn settles(outcome: &Outcome) -> bool {
    match outcome {
        Outcome::Sent { .. } => true,
        Outcome::Failed { class, .. } => {
            !class.is_retryable() && *class != crate::im::ErrorClass::Unknown
        }
        Outcome::Uncertain { .. } => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::im::ErrorClass;

    fn sent() -> Outcome {
        Outcome::sent(None, None)
    }

    fn failed(class: ErrorClass) -> Outcome {
        Outcome::Failed {
            code: Some(1),
            text: "x".to_owned(),
            class,
        }
    }

    #[test]
    fn the_watermark_stops_at_the_first_row_not_settled() {
        let mark = Watermark::new(2);
        assert_eq!(mark.row(), 2);
        for row in [2, 3, 5] {
            mark.handed(row);
        }
        // Row 4 had nothing to send; 2 is in flight.
        assert_eq!(mark.row(), 2);
        mark.settled(&[3], &[sent()]);
        assert_eq!(mark.row(), 2);
        mark.settled(&[2], &[sent()]);
        assert_eq!(mark.row(), 5);
        mark.settled(&[5], &[sent()]);
        assert_eq!(mark.row(), 6);
    }

    #[test]
    fn rows_that_do_not_settle_hold_the_watermark_for_the_rest_of_the_run() {
        let mark = Watermark::new(2);
        for row in [2, 3, 4] {
            mark.handed(row);
        }
        mark.settled(&[2, 3, 4], &[sent(), failed(ErrorClass::Retry), sent()]);
        assert_eq!(mark.row(), 3);
        mark.handed(5);
        mark.settled(&[5], &[failed(ErrorClass::PermanentRecipient)]);
        assert_eq!(mark.row(), 3);
        // A capped row, a row left open: both hold it where they are.
        let mark = Watermark::new(2);
        mark.stuck(7);
        mark.handed(8);
        mark.settled(&[8], &[sent()]);
        assert_eq!(mark.row(), 7);
        mark.handed(3);
        assert_eq!(mark.row(), 3);
        mark.settled(&[3], &[failed(ErrorClass::Unknown)]);
        assert_eq!(mark.row(), 3);
    }

    #[test]
    fn rows_never_sent_do_not_pile_up() {
        let mark = Watermark::new(2);
        let last = 2 + MAX_OPEN as u64 + 10;
        for row in 2..last {
            mark.handed(row);
        }
        assert!(mark.with(|open| open.rows.len()) <= MAX_OPEN);
        // Settling every row it still tracks leaves it at the first one it let go.
        let tracked: Vec<u64> = mark.with(|open| open.rows.keys().copied().collect());
        let outcomes: Vec<Outcome> = tracked.iter().map(|_| sent()).collect();
        mark.settled(&tracked, &outcomes);
        let stuck = 2 + MAX_OPEN as u64;
        assert_eq!(mark.row(), stuck);
    }
}
