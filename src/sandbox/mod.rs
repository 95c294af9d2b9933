//! The sandbox: an emulator of the IM REST API on loopback, for tests, for `timcast sandbox`
//! and for `timcast apply --sandbox`.
//!
//! It checks what the documents say — query string, UserSig, body fields, limits, duplicate
//! rules — independently of the client, and records everything that took effect, so tests
//! assert what recipients actually received. Faults (latency, transient errors, lost replies,
//! hostile replies) are injected from a seeded generator or queued explicitly with
//! [`SandboxHandle::inject`].

pub mod clock;
pub mod config;
mod server;
pub mod state;
mod validate;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Directory, Faults, History, LimitModel, Limits, SandboxConfig, Transient};
pub use state::{Delivery, EndpointStats, Injected, Stats};

use crate::im::Endpoint;
use server::App;

/// Why the sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "refusing to listen on {0}: the sandbox accepts the demo key and has no TLS, so it only \
         binds loopback (127.0.0.1, ::1) unless --allow-non-loopback is given"
    )]
    NotLoopback(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot open the delivery log {path}: {source}")]
    DeliveryLog {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the answer log {path}: {source}")]
    AnswerLog {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// Starts sandboxes.
#[derive(Debug)]
pub struct Sandbox;

impl Sandbox {
    /// Binds and starts serving on the current tokio runtime.
    pub async fn start(config: SandboxConfig) -> Result<SandboxHandle, SandboxError> {
        if !config.allow_non_loopback && !crate::im::settings::is_loopback(config.listen.ip()) {
            return Err(SandboxError::NotLoopback(config.listen));
        }
        let log = match &config.delivery_log {
            None => None,
            Some(path) => Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| SandboxError::DeliveryLog {
                        path: path.clone(),
                        source,
                    })?,
            ),
        };
        let answer_log = match &config.answer_log {
            None => None,
            Some(path) => Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| SandboxError::AnswerLog {
                        path: path.clone(),
                        source,
                    })?,
            ),
        };
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| SandboxError::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
            addr: config.listen,
            source,
        })?;
        let app = Arc::new(App::new(config, log, answer_log));
        let router = server::router(app.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(SandboxHandle {
            addr,
            app,
            shutdown: Some(tx),
            task: Some(task),
        })
    }
}

/// A running sandbox. Dropping it stops the server.
pub struct SandboxHandle {
    addr: SocketAddr,
    app: Arc<App>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SandboxHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl SandboxHandle {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL for `TIM_ENDPOINT`, e.g. `http://127.0.0.1:41234`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Takes `deliveries` as delivered earlier, so that they can be recalled: `recall
    /// --sandbox` withdraws from a fresh emulator what an earlier `apply --sandbox` sent.
    pub fn preload(&self, deliveries: impl IntoIterator<Item = Delivery>) {
        let mut app = self.app.lock();
        for delivery in deliveries {
            app.deliver(delivery);
        }
    }

    /// Everything delivered so far, in order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.app.lock().deliveries.clone()
    }

    /// What `recipient` received, in order.
    pub fn deliveries_to(&self, recipient: &str) -> Vec<Delivery> {
        self.app
            .lock()
            .deliveries
            .iter()
            .filter(|d| d.recipient == recipient)
            .cloned()
            .collect()
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.app.lock().stats.clone()
    }

    /// Queues a fault for the next `times` calls to `endpoint` (any endpoint when `None`).
    pub fn inject(&self, endpoint: Option<Endpoint>, what: Injected, times: u32) {
        if times == 0 {
            return;
        }
        self.app.lock().injections.push(state::Injection {
            endpoint,
            what,
            remaining: times,
        });
    }

    /// Stops the server and waits (up to 5 s) for open connections to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            // Keep-alive connections would hold a graceful shutdown open; a dropped handle
            // stops at once.
            task.abort();
        }
    }
}
