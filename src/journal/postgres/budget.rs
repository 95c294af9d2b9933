//! One app's rate budget, shared by the runners applying its campaigns at the same time.
//!
//! Each runner registers in `runners` and keeps a heartbeat; every runner whose heartbeat is
//! fresh counts, and each takes an equal share of its configured per-API limits. A share goes
//! down at once and up only after a window (the runner that left may still have calls in the
//! server's last second); a runner that joins others waits until they have made room; one that
//! dies stops counting when its heartbeat expires.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::super::{JournalError, RateShare};
use super::schema;
use super::target::PgTarget;

/// How often a runner refreshes its heartbeat and re-counts the others.
pub(crate) const HEARTBEAT: Duration = Duration::from_millis(250);
/// A heartbeat older than this is a runner that died.
const EXPIRY_SECONDS: f64 = 3.0;
/// The API's window: calls of the last second still count at the server.
const WINDOW: Duration = Duration::from_secs(1);

/// Registers this runner for `sdkappid` and keeps its share current until the share is dropped.
/// The caller holds `campaign`'s lock.
pub(crate) fn join(
    target: &PgTarget,
    sdkappid: u64,
    campaign: &str,
) -> Result<RateShare, JournalError> {
    let location = target.redacted();
    let sql = {
        let location = location.clone();
        move |source| JournalError::Postgres {
            location: location.clone(),
            error: source,
        }
    };
    // The journal that joins is open, so its schema exists and is current.
    let search_path = format!("SET search_path TO {}", schema::quoted(target)?);
    let app = i64::try_from(sdkappid).unwrap_or(i64::MAX);
    let share = Arc::new(AtomicU64::new(1.0f64.to_bits()));
    let (stop, stopped) = mpsc::channel::<()>();
    let (ready, registered) = mpsc::sync_channel::<Result<u64, JournalError>>(1);
    let (cell, for_thread, campaign) = (share.clone(), target.clone(), campaign.to_owned());
    // The synchronous client may not run on a tokio worker: it lives on this thread.
    let thread = std::thread::Builder::new()
        .name("timcast-rate-budget".into())
        .spawn(move || {
            let runner = format!(
                "{}-{}-{:016x}",
                host_name(),
                std::process::id(),
                rand::random::<u64>()
            );
            let registered = for_thread.connect().and_then(|mut client| {
                client
                    .batch_execute(&search_path)
                    .and_then(|()| {
                        // Joined under the campaign's lock: a runner of this campaign still
                        // registered died (it would hold the lock), so it takes no share.
                        client.execute(
                            "DELETE FROM runners WHERE sdkappid = $1 AND campaign = $2",
                            &[&app, &campaign],
                        )
                    })
                    .and_then(|_| {
                        client.execute(
                            "INSERT INTO runners (runner_id, sdkappid, campaign, host)
                             VALUES ($1, $2, $3, $4)",
                            &[&runner, &app, &campaign, &host_name()],
                        )
                    })
                    .and_then(|_| count(&mut client, app))
                    .map(|n| (client, n))
                    .map_err(&sql)
            });
            match registered {
                Ok((client, n)) => {
                    cell.store((1.0 / n as f64).to_bits(), Ordering::Relaxed);
                    let _ = ready.send(Ok(n));
                    keep(client, runner, app, cell, stopped);
                }
                Err(e) => {
                    let _ = ready.send(Err(e));
                }
            }
        })
        .map_err(|e| JournalError::PgGone {
            location: location.clone(),
            message: format!("cannot start the rate budget's thread: {e}"),
        })?;
    let keeper = Keeper {
        stop: Some(stop),
        thread: Some(thread),
    };
    let runners = registered.recv().map_err(|_| JournalError::PgGone {
        location,
        message: "the rate budget's thread ended".into(),
    })??;
    // Others were sending at a larger share: wait until they saw this runner (a heartbeat)
    // and their calls at the old pace left the server's window.
    let start_after = if runners > 1 {
        HEARTBEAT * 2 + WINDOW
    } else {
        Duration::ZERO
    };
    Ok(RateShare::new(share, runners, start_after, keeper))
}

/// Fresh runners of `app`, this one included.
fn count(client: &mut postgres::Client, app: i64) -> Result<u64, postgres::Error> {
    let n: i64 = client
        .query_one(
            "SELECT count(*) FROM runners
             WHERE sdkappid = $1 AND heartbeat_at > now() - make_interval(secs => $2)",
            &[&app, &EXPIRY_SECONDS],
        )?
        .try_get(0)?;
    Ok(u64::try_from(n).unwrap_or(1).max(1))
}

/// The heartbeat loop: refresh, count, adjust the share; on stop, leave the table.
fn keep(
    mut client: postgres::Client,
    runner: String,
    app: i64,
    share: Arc<AtomicU64>,
    stopped: mpsc::Receiver<()>,
) {
    let mut higher_since: Option<Instant> = None;
    // A stop message, or the share dropped (the sender with it), ends the loop.
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(HEARTBEAT) {
        let beat = client
            .execute(
                "UPDATE runners SET heartbeat_at = now() WHERE runner_id = $1",
                &[&runner],
            )
            .and_then(|_| {
                // Whoever notices first clears the runners that died.
                client.execute(
                    "DELETE FROM runners WHERE heartbeat_at < now() - make_interval(secs => $1)",
                    &[&(EXPIRY_SECONDS * 10.0)],
                )
            })
            .and_then(|_| count(&mut client, app));
        let runners = match beat {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "rate budget heartbeat failed; keeping the current share");
                continue;
            }
        };
        let now_share = f64::from_bits(share.load(Ordering::Relaxed));
        let fair = 1.0 / runners as f64;
        if fair < now_share {
            share.store(fair.to_bits(), Ordering::Relaxed);
            higher_since = None;
        } else if fair > now_share {
            let since = *higher_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= WINDOW {
                share.store(fair.to_bits(), Ordering::Relaxed);
                higher_since = None;
            }
        } else {
            higher_since = None;
        }
    }
    let _ = client.execute("DELETE FROM runners WHERE runner_id = $1", &[&runner]);
}

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Stops the heartbeat (and leaves the table) when the share is dropped.
struct Keeper {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Keeper {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for Keeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keeper")
    }
}
