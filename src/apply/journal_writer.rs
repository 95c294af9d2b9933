//! The journal writer: one thread owns the SQLite connection and commits whatever records
//! have queued up in one transaction, so a run at thousands of sends a second makes a few
//! hundred commits, not thousands.
//!
//! Intents are written with [`JournalWriter::write_durable`], whose future resolves once the
//! transaction holding them has committed; outcomes are queued with [`JournalWriter::write`]
//! and committed on the next round, and [`JournalWriter::close`] commits the rest.

use tokio::sync::{mpsc, oneshot};

use crate::journal::{JournalStore, SendRecord};

/// Most records committed in one transaction.
const MAX_RECORDS_PER_COMMIT: usize = 4096;

type Ack = oneshot::Sender<Result<(), String>>;

enum Message {
    Records(Vec<SendRecord>, Option<Ack>),
    /// The checkpoint's new row, written after the records queued before it.
    Checkpoint(Advance),
    Close(Ack),
}

/// Moves a campaign's checkpoint ([`crate::journal::JournalStore::advance_checkpoint`]).
#[derive(Debug, Clone)]
pub(super) struct Advance {
    pub(super) campaign: String,
    pub(super) digest: String,
    pub(super) row: u64,
}

/// A handle on the writer thread; clones share it.
#[derive(Debug, Clone)]
pub(super) struct JournalWriter {
    tx: mpsc::UnboundedSender<Message>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Message::Records(r, _) => write!(f, "Records({})", r.len()),
            Message::Checkpoint(a) => write!(f, "Checkpoint({})", a.row),
            Message::Close(_) => f.write_str("Close"),
        }
    }
}

impl JournalWriter {
    /// Starts the writer thread, which owns `journal` from now on.
    pub(super) fn start(journal: Box<dyn JournalStore>) -> JournalWriter {
        let (tx, rx) = mpsc::unbounded_channel();
        std::thread::spawn(move || writer_loop(journal, rx));
        JournalWriter { tx }
    }

    /// Queues records; they are committed with the next transaction.
    pub(super) fn write(&self, records: Vec<SendRecord>) {
        let _ = self.tx.send(Message::Records(records, None));
    }

    /// Queues records and resolves once they are committed.
    pub(super) fn write_durable(
        &self,
        records: Vec<SendRecord>,
    ) -> impl std::future::Future<Output = Result<(), String>> + Send + 'static {
        let (ack, done) = oneshot::channel();
        let sent = self.tx.send(Message::Records(records, Some(ack)));
        async move {
            if sent.is_err() {
                return Err("the journal writer has stopped".to_owned());
            }
            done.await
                .unwrap_or_else(|_| Err("the journal writer has stopped".to_owned()))
        }
    }

    /// Moves the checkpoint once the records queued so far are committed.
    pub(super) fn advance(&self, advance: Advance) {
        let _ = self.tx.send(Message::Checkpoint(advance));
    }

    /// Commits everything queued so far and stops the writer; the first error, if any.
    pub(super) async fn close(self) -> Result<(), String> {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Message::Close(ack)).is_err() {
            return Err("the journal writer has stopped".to_owned());
        }
        done.await
            .unwrap_or_else(|_| Err("the journal writer has stopped".to_owned()))
    }
}

fn writer_loop(mut journal: Box<dyn JournalStore>, mut rx: mpsc::UnboundedReceiver<Message>) {
    let mut first_error: Option<String> = None;
    while let Some(message) = rx.blocking_recv() {
        let mut records = Vec::new();
        let mut acks = Vec::new();
        let mut close = None;
        // Only the latest matters; it follows every record taken before it.
        let mut advance = None;
        let mut take =
            |message: Message, records: &mut Vec<SendRecord>, acks: &mut Vec<Ack>| match message {
                Message::Records(r, ack) => {
                    records.extend(r);
                    acks.extend(ack);
                    None
                }
                Message::Checkpoint(a) => {
                    advance = Some(a);
                    None
                }
                Message::Close(ack) => Some(ack),
            };
        close = close.or(take(message, &mut records, &mut acks));
        while close.is_none() && records.len() < MAX_RECORDS_PER_COMMIT {
            match rx.try_recv() {
                Ok(message) => close = take(message, &mut records, &mut acks),
                Err(_) => break,
            }
        }
        let result = if records.is_empty() {
            Ok(())
        } else {
            journal.upsert(&records).map_err(|e| e.to_string())
        };
        let advanced = match (&result, advance) {
            (Ok(()), Some(a)) => journal
                .advance_checkpoint(&a.campaign, &a.digest, a.row)
                .map_err(|e| e.to_string()),
            _ => Ok(()),
        };
        if let Err(e) = &result
            && first_error.is_none()
        {
            first_error = Some(e.clone());
        }
        for ack in acks {
            let _ = ack.send(result.clone());
        }
        // The records are committed either way; the run's result says the checkpoint failed.
        if let Err(e) = advanced {
            first_error.get_or_insert(e);
        }
        if let Some(ack) = close {
            let _ = ack.send(first_error.clone().map_or(Ok(()), Err));
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::SendState;
    use crate::journal::test_record as record;

    #[tokio::test]
    async fn durable_writes_are_committed_before_they_resolve_and_close_flushes_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let state = crate::journal::State::sqlite(&path);
        let writer = JournalWriter::start(state.open().unwrap());
        writer
            .write_durable(vec![record("u1", SendState::Intent)])
            .await
            .unwrap();
        // Committed: another connection sees it.
        let reader = state.open_existing().unwrap().unwrap();
        assert_eq!(reader.records("c").unwrap().len(), 1);
        writer.write(vec![
            record("u1", SendState::Sent),
            record("u2", SendState::Intent),
        ]);
        writer.close().await.unwrap();
        let states: Vec<SendState> = reader
            .records("c")
            .unwrap()
            .into_iter()
            .map(|r| r.state)
            .collect();
        assert_eq!(states, [SendState::Sent, SendState::Intent]);
    }
}
