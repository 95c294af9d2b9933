//! One PostgreSQL connection on a thread of its own.
//!
//! The synchronous client runs its own small runtime and may not be called from a tokio
//! worker (it would panic), while the journal is called from both sync and async code. So the
//! client lives on a plain thread and each call is a job sent to it; dropping the
//! [`Connection`] ends the thread and closes the connection (which releases its advisory
//! locks, as a process killed with -9 does).

use std::sync::mpsc;
use std::thread::JoinHandle;

use super::super::JournalError;
use super::target::PgTarget;

type Job = Box<dyn FnOnce(&mut postgres::Client) + Send>;

/// A connection and the thread it lives on.
pub(crate) struct Connection {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    location: String,
}

impl Connection {
    /// Connects to `target`, on a new thread.
    pub(crate) fn open(target: &PgTarget) -> Result<Connection, JournalError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (ready, connected) = mpsc::sync_channel(1);
        let for_thread = target.clone();
        let thread = std::thread::Builder::new()
            .name("timcast-postgres".into())
            .spawn(move || match for_thread.connect() {
                Ok(mut client) => {
                    let _ = ready.send(Ok(()));
                    for job in queue {
                        job(&mut client);
                    }
                }
                Err(e) => {
                    let _ = ready.send(Err(e));
                }
            })
            .map_err(|e| JournalError::PgGone {
                location: target.redacted(),
                message: format!("cannot start its thread: {e}"),
            })?;
        let gone = || JournalError::PgGone {
            location: target.redacted(),
            message: "the connection thread ended".into(),
        };
        connected.recv().map_err(|_| gone())??;
        Ok(Connection {
            jobs: Some(jobs),
            thread: Some(thread),
            location: target.redacted(),
        })
    }

    fn gone(&self) -> JournalError {
        JournalError::PgGone {
            location: self.location.clone(),
            message: "the connection thread ended".into(),
        }
    }

    /// Runs `job` on the connection and waits for its result.
    pub(crate) fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut postgres::Client) -> R + Send + 'static,
    ) -> Result<R, JournalError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.submit(move |client| {
            let _ = reply.send(job(client));
        })?;
        answer.recv().map_err(|_| self.gone())
    }

    /// Queues `job` without waiting (it reports through a channel of its own).
    pub(crate) fn submit(
        &self,
        job: impl FnOnce(&mut postgres::Client) + Send + 'static,
    ) -> Result<(), JournalError> {
        self.jobs
            .as_ref()
            .ok_or_else(|| self.gone())?
            .send(Box::new(job))
            .map_err(|_| self.gone())
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Closing the queue ends the thread's loop, which drops (and closes) the client.
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Connection({})", self.location)
    }
}
