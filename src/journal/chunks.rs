//! Records streamed from a store's own thread to its reader, a chunk at a time and a few
//! chunks ahead: how a store hands over a campaign's records without holding them. The
//! streaming side stops as soon as the reader drops its end.

use std::sync::mpsc;

use super::{JournalError, PlanRecords, SendRecord};

/// Records per chunk.
pub(crate) const CHUNK: usize = 1024;

/// What a stream's chunks hold: whole records, or a plan's packed ones.
pub(crate) trait Chunk: Default + Send {
    fn records(&self) -> usize;
}

impl Chunk for Vec<SendRecord> {
    fn records(&self) -> usize {
        self.len()
    }
}

impl Chunk for PlanRecords {
    fn records(&self) -> usize {
        self.len()
    }
}

/// The reader's end of a stream: chunks of records, or the error that ended it.
pub(crate) type Chunks<C = Vec<SendRecord>> = mpsc::Receiver<Result<C, JournalError>>;

/// The streaming thread's end of [`Chunks`].
pub(crate) struct ChunkSender<C = Vec<SendRecord>> {
    chunks: mpsc::SyncSender<Result<C, JournalError>>,
    chunk: C,
}

impl<C: Chunk> ChunkSender<C> {
    pub(crate) fn channel() -> (ChunkSender<C>, Chunks<C>) {
        let (chunks, received) = mpsc::sync_channel(4);
        let sender = ChunkSender {
            chunks,
            chunk: C::default(),
        };
        (sender, received)
    }

    /// Adds a record to the chunk with `add`; false once the reader stopped reading (it
    /// dropped its end): stop streaming then.
    pub(crate) fn push(&mut self, add: impl FnOnce(&mut C)) -> bool {
        add(&mut self.chunk);
        self.chunk.records() < CHUNK
            || self
                .chunks
                .send(Ok(std::mem::take(&mut self.chunk)))
                .is_ok()
    }

    /// Sends what is left, or the error that ended the stream.
    pub(crate) fn finish(self, streamed: Result<(), JournalError>) {
        let last = match streamed {
            Ok(()) if self.chunk.records() == 0 => return,
            Ok(()) => Ok(self.chunk),
            Err(e) => Err(e),
        };
        let _ = self.chunks.send(last);
    }
}

/// [`Chunks`] as an iterator, keeping `owner` (what the stream reads from) open until the
/// stream is dropped.
pub(crate) struct ChunkStream<C, T> {
    // Dropped first: the streaming side sees the receiver gone and ends, then the owner goes.
    received: Chunks<C>,
    _owner: T,
}

impl<C, T> ChunkStream<C, T> {
    pub(crate) fn new(received: Chunks<C>, owner: T) -> ChunkStream<C, T> {
        ChunkStream {
            received,
            _owner: owner,
        }
    }
}

impl<C, T> Iterator for ChunkStream<C, T> {
    type Item = Result<C, JournalError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.received.recv().ok()
    }
}
