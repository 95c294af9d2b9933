//! Rendering on every core: rows read in chunks, rendered by a pool of threads, and handed
//! back in row order.

use super::*;

/// The result of rendering one recipient.
pub(super) struct Rendered {
    pub(super) row: RecipientRow,
    pub(super) outcome: Result<(Option<Box<RenderedMessage>>, ContentFacts, u64), RenderFailure>,
}

/// A pool of rendering threads fed chunks of rows; results come back in row order.
///
/// The threads live for the whole plan (spawning per chunk costs more than rendering), and
/// the channels are bounded so that reading never runs far ahead of rendering.
pub(super) fn render_pipeline(
    renderer: &CampaignRenderer,
    hasher: &ContentHasher,
    stream_chunk_chars: Option<u32>,
    threads: usize,
    keep_messages: &std::sync::atomic::AtomicBool,
    mut read: impl FnMut(&mut Vec<RecipientRow>) -> Result<bool, PlanError>,
    mut fold: impl FnMut(Rendered),
) -> Result<(), PlanError> {
    use std::sync::atomic::Ordering;
    use std::sync::mpsc;
    let render_one = |row: RecipientRow| {
        let fields: Vec<&str> = row.record.iter().collect();
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
        Rendered { row, outcome }
    };
    let (work_tx, work_rx) = mpsc::sync_channel::<(usize, Vec<RecipientRow>)>(threads * 2);
    let work_rx = std::sync::Mutex::new(work_rx);
    let (done_tx, done_rx) = mpsc::sync_channel::<(usize, Vec<Rendered>)>(threads * 2);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let done_tx = done_tx.clone();
            let work_rx = &work_rx;
            let render_one = &render_one;
            scope.spawn(move || {
                loop {
                    let next = match work_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok((index, rows)) = next else { return };
                    let rendered: Vec<Rendered> = rows.into_iter().map(render_one).collect();
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
                let mut chunk = Vec::with_capacity(CHUNK_ROWS);
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
                if work_tx.send((sent, chunk)).is_err() {
                    more = false;
                    break;
                }
                sent += 1;
            }
            if next_to_fold == sent {
                break;
            }
            match done_rx.recv() {
                Ok((index, rendered)) => {
                    pending.insert(index, rendered);
                }
                Err(_) => break,
            }
            while let Some(rendered) = pending.remove(&next_to_fold) {
                rendered.into_iter().for_each(&mut fold);
                next_to_fold += 1;
            }
        }
        drop(work_tx);
        result
    })
}
