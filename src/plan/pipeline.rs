//! Rendering on every core: rows read in chunks, joined to the journal and rendered by a pool
//! of threads, and handed back in row order.
//!
//! The join is a keyed lookup per chunk ([`JournalStore::records_of`]) on each thread's own
//! connection, so it runs beside the rendering and neither the audience nor the journal is
//! held in memory; where the store streams its records in the audience's order, the
//! [`OrderedJoin`] answers most recipients first and only the rest are looked up.

use super::assign::{Assignment, Flavors};
use super::caps::CapCheck;
use super::ordered::{Known, OrderedJoin};
use super::present::Present;
use super::prior::{Prior, prior_of};
use super::*;

/// What rendering one recipient gave.
pub(super) type Outcome = Result<(Option<Box<RenderedMessage>>, ContentFacts, u64), RenderFailure>;

/// One recipient, rendered and joined to its journal record.
pub(super) struct Rendered {
    pub(super) row: RecipientRow,
    /// What the journal says of the recipient, if it has them.
    pub(super) prior: Option<Prior>,
    /// `None` when not rendered: [`Join::settled`] said nothing would be sent whatever the
    /// message is, or the recipient is held out and was never sent to.
    pub(super) outcome: Option<Outcome>,
    /// Their variant, locale and holdout.
    pub(super) assignment: Assignment,
    /// Messages they got lately from other campaigns, when the campaign has a frequency cap.
    pub(super) recent: u32,
}

/// The journal each chunk is joined to.
pub(super) struct Join<'a> {
    pub(super) state: &'a State,
    pub(super) campaign: &'a str,
    /// Whether the journal has records of the campaign to look up.
    pub(super) records: bool,
    /// The campaign's frequency cap, counted for each recipient.
    pub(super) cap: Option<&'a CapCheck>,
    /// For a pass that only wants the sends (apply's): whether a record settles its
    /// recipient whatever the message renders to, so that rendering it can be skipped.
    pub(super) settled: Option<&'a (dyn Fn(&Prior) -> bool + Sync)>,
    /// Render the first recipient of each chunk that `settled` passes over all the same.
    pub(super) render_first_settled: bool,
    /// The recipients the journal may have records of: the others are not looked up.
    pub(super) present: Option<&'a Present>,
}

impl Join<'_> {
    /// Looks the chunk's recipients up (opening this thread's connection the first time) and
    /// renders those that need it.
    fn chunk(
        &self,
        journal: &mut Option<Box<dyn JournalStore>>,
        rows: Vec<RecipientRow>,
        known: Option<Vec<Known>>,
        render_one: &(dyn Fn(RecipientRow, Option<Prior>) -> Rendered + Sync),
    ) -> Result<Vec<Rendered>, PlanError> {
        if journal.is_none() {
            *journal = self.state.open_existing()?;
        }
        let mut priors: Vec<Option<Prior>> = Vec::new();
        priors.resize_with(rows.len(), || None);
        // The rows the ordered join could not tell about, by index.
        let mut unknown: Vec<usize> = (0..rows.len()).collect();
        if let Some(known) = known {
            unknown.clear();
            for (i, (slot, known)) in priors.iter_mut().zip(known).enumerate() {
                match known {
                    Some(prior) => *slot = prior,
                    None => unknown.push(i),
                }
            }
        }
        if let Some(present) = self.present {
            unknown.retain(|&i| rows.get(i).is_some_and(|r| present.may_contain(r.print)));
        }
        let mut recent = vec![0; rows.len()];
        if let Some(journal) = journal {
            let ids: Vec<&str> = rows.iter().map(|r| r.user_id.as_str()).collect();
            if self.records && !unknown.is_empty() {
                let asked: Vec<&str> = unknown.iter().map(|&i| ids[i]).collect();
                journal.plan_records_of(self.campaign, &asked, &mut |i, record| {
                    if let Some(slot) = unknown.get(i).and_then(|&row| priors.get_mut(row)) {
                        *slot = Some(prior_of(record.plan_view()));
                    }
                })?;
            }
            if let Some(cap) = self.cap {
                recent = cap.counts(journal.as_ref(), &ids)?;
            }
        }
        let mut sample = self.render_first_settled;
        Ok(rows
            .into_iter()
            .zip(priors)
            .zip(recent)
            .map(|((row, prior), recent)| match (self.settled, &prior) {
                (Some(settled), Some(p)) if settled(p) && !std::mem::take(&mut sample) => {
                    Rendered {
                        row,
                        prior,
                        outcome: None,
                        assignment: Assignment::default(),
                        recent,
                    }
                }
                _ => Rendered {
                    recent,
                    ..render_one(row, prior)
                },
            })
            .collect())
    }
}

/// A pool of rendering threads fed chunks of rows; results come back in row order, joined to
/// the journal when there is one.
///
/// The threads live for the whole plan (spawning per chunk costs more than rendering), and
/// the channels are bounded so that reading never runs far ahead of rendering.
#[allow(clippy::too_many_arguments)]
pub(super) fn render_pipeline(
    flavors: &Flavors,
    hasher: &ContentHasher,
    stream_chunk_chars: Option<u32>,
    threads: usize,
    keep_messages: &std::sync::atomic::AtomicBool,
    join: Option<&Join<'_>>,
    mut ordered: Option<&mut OrderedJoin>,
    mut read: impl FnMut(&mut Vec<RecipientRow>) -> Result<bool, PlanError>,
    mut fold: impl FnMut(Rendered),
) -> Result<(), PlanError> {
    use std::sync::atomic::Ordering;
    use std::sync::mpsc;
    let render_one = |row: RecipientRow, prior: Option<Prior>| {
        let fields: Vec<&str> = row.record.iter().collect();
        let assignment = flavors.assign(&row.user_id, &fields);
        // A held-out recipient nobody sent to needs no message.
        if assignment.held_out && super::holds_out(prior.as_ref().map(|p| p.state)) {
            drop(fields);
            return Rendered {
                row,
                prior,
                outcome: None,
                assignment,
                recent: 0,
            };
        }
        let renderer = flavors.renderer(assignment.flavor);
        let outcome = renderer.render(&fields).map(|message| {
            let facts = hasher.facts(&message);
            let chunks = stream_chunk_chars.map_or(1, |size| {
                request::stream_chunk_count(&request::stream_text(&message), size)
            });
            let message = if keep_messages.load(Ordering::Relaxed) {
                Some(Box::new(message))
            } else {
                None
            };
            (message, facts, chunks)
        });
        drop(fields);
        Rendered {
            row,
            prior,
            outcome: Some(outcome),
            assignment,
            recent: 0,
        }
    };
    type Done = (usize, Result<Vec<Rendered>, PlanError>);
    type Work = (usize, Vec<RecipientRow>, Option<Vec<Known>>);
    let (work_tx, work_rx) = mpsc::sync_channel::<Work>(threads * 2);
    let work_rx = std::sync::Mutex::new(work_rx);
    let (done_tx, done_rx) = mpsc::sync_channel::<Done>(threads * 2);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let done_tx = done_tx.clone();
            let work_rx = &work_rx;
            let render_one = &render_one;
            scope.spawn(move || {
                let mut journal = None;
                loop {
                    let next = match work_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok((index, rows, known)) = next else {
                        return;
                    };
                    let rendered = match join {
                        Some(join) => join.chunk(&mut journal, rows, known, render_one),
                        None => Ok(rows.into_iter().map(|r| render_one(r, None)).collect()),
                    };
                    if done_tx.send((index, rendered)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        let mut pending: BTreeMap<usize, Vec<Rendered>> = BTreeMap::new();
        let (mut sent, mut next_to_fold) = (0usize, 0usize);
        let mut more = true;
        let mut result = Ok(());
        while more || next_to_fold < sent {
            // Keep every thread busy, but never more than a few chunks in flight.
            while more && sent - next_to_fold < threads * 2 {
                let mut chunk = Vec::new();
                match read(&mut chunk) {
                    Ok(has_more) => more = has_more,
                    Err(e) => {
                        result = Err(e);
                        more = false;
                    }
                }
                if chunk.is_empty() {
                    continue;
                }
                // In row order, here: the stream is merged with the audience as it is read.
                let known = match ordered.as_mut().map(|o| {
                    chunk
                        .iter()
                        .map(|row| o.find(&row.user_id))
                        .collect::<Result<Vec<Known>, _>>()
                }) {
                    Some(Err(e)) => {
                        result = Err(e.into());
                        more = false;
                        continue;
                    }
                    Some(Ok(known)) => Some(known),
                    None => None,
                };
                if work_tx.send((sent, chunk, known)).is_err() {
                    more = false;
                    break;
                }
                sent += 1;
            }
            if next_to_fold == sent {
                break;
            }
            match done_rx.recv() {
                // After a failed lookup the chunks in flight are still drained, so that no
                // thread is left blocked on a full channel, but no longer folded.
                Ok((index, Err(e))) => {
                    if result.is_ok() {
                        result = Err(e);
                    }
                    more = false;
                    pending.insert(index, Vec::new());
                }
                Ok((index, Ok(rendered))) => {
                    pending.insert(index, rendered);
                }
                Err(_) => break,
            }
            while let Some(rendered) = pending.remove(&next_to_fold) {
                if result.is_ok() {
                    rendered.into_iter().for_each(&mut fold);
                }
                next_to_fold += 1;
            }
        }
        drop(work_tx);
        result
    })
}
