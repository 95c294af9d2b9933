//! Records streamed from a store's own thread to its reader, a chunk at a time and a few
//! chunks ahead: how a store hands over a campaign's records without holding them. The
//! streaming side stops as soon as the reader drops its end.

use std::sync::mpsc;

use super::{JournalError, SendRecord};

/// Records per chunk.
pub(crate) const CHUNK: usize = 1024;

/// The reader's end of a stream: chunks of records, or the error that ended it.
pub(crate) type Chunks = mpsc::Receiver<Result<Vec<SendRecord>, JournalError>>;

/// The streaming thread's end of [`Chunks`].
pub(crate) struct ChunkSender {
    chunks: mpsc::SyncSender<Result<Vec<SendRecord>, JournalError>>,
    chunk: Vec<SendRecord>,
}

impl ChunkSender {
    pub(crate) fn channel() -> (ChunkSender, Chunks) {
        let (chunks, received) = mpsc::sync_channel(4);
        let sender = ChunkSender {
            chunks,
            chunk: Vec::with_capacity(CHUNK),
        };
        (sender, received)
    }

    /// False once the reader stopped reading (it dropped its end): stop streaming then.
    pub(crate) fn push(&mut self, record: SendRecord) -> bool {
        self.chunk.push(record);
        self.chunk.len() < CHUNK
            || self
                .chunks
                .send(Ok(std::mem::take(&mut self.chunk)))
                .is_ok()
    }

    /// Sends what is left, or the error that ended the stream.
    pub(crate) fn finish(self, streamed: Result<(), JournalError>) {
        let last = match streamed {
            Ok(()) if self.chunk.is_empty() => return,
            Ok(()) => Ok(self.chunk),
            Err(e) => Err(e),
        };
        let _ = self.chunks.send(last);
    }
}

/// [`Chunks`] record by record, keeping `owner` (what the stream reads from) open until the
/// stream is dropped.
pub(crate) struct ChunkStream<T> {
    // Dropped first: the streaming side sees the receiver gone and ends, then the owner goes.
    received: Chunks,
    chunk: std::vec::IntoIter<SendRecord>,
    _owner: T,
}

impl<T> ChunkStream<T> {
    pub(crate) fn new(received: Chunks, owner: T) -> ChunkStream<T> {
        ChunkStream {
            received,
            chunk: Vec::new().into_iter(),
            _owner: owner,
        }
    }
}

impl<T> Iterator for ChunkStream<T> {
    type Item = Result<SendRecord, JournalError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(record) = self.chunk.next() {
                return Some(Ok(record));
            }
            match self.received.recv() {
                Ok(Ok(chunk)) => self.chunk = chunk.into_iter(),
                Ok(Err(e)) => return Some(Err(e)),
                Err(_) => return None,
            }
        }
    }
}
