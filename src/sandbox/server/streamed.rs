//! Response bodies that arrive slowly or break off, for the hostile replies `drip` and
//! `closed_connection`: a client's timeouts and its handling of a half-read reply can only be
//! tested against a server that really stalls or really drops the connection.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, Bytes};
use tokio::io::{AsyncRead, ReadBuf};
use tokio_util::io::ReaderStream;

/// A drip sends this many bytes...
pub(super) const DRIP_BYTES: usize = 4;
/// ...then waits this long: slow enough to trip an idle timeout, short enough that a
/// ~100-byte reply still ends within a 10 s request timeout.
pub(super) const DRIP_PAUSE: Duration = Duration::from_millis(300);

/// Sends `chunks`, waiting `pause` between them, then ends or (with `fail`) errors, which makes
/// hyper abort the connection mid-reply.
struct Scripted {
    chunks: VecDeque<Bytes>,
    pause: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    fail: bool,
}

impl AsyncRead for Scripted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(sleep) = this.sleep.as_mut() {
            ready!(sleep.as_mut().poll(cx));
            this.sleep = None;
        }
        let Some(chunk) = this.chunks.pop_front() else {
            if this.fail {
                this.fail = false;
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "hostile sandbox: connection closed mid-reply",
                )));
            }
            return Poll::Ready(Ok(()));
        };
        let n = chunk.len().min(buf.remaining());
        buf.put_slice(chunk.get(..n).unwrap_or_default());
        if n < chunk.len() {
            this.chunks.push_front(chunk.slice(n..));
        }
        if !this.pause.is_zero() && !this.chunks.is_empty() {
            this.sleep = Some(Box::pin(tokio::time::sleep(this.pause)));
        }
        Poll::Ready(Ok(()))
    }
}

fn drip_reader(bytes: Vec<u8>) -> Scripted {
    let bytes = Bytes::from(bytes);
    let chunks = (0..bytes.len())
        .step_by(DRIP_BYTES)
        .map(|i| bytes.slice(i..(i + DRIP_BYTES).min(bytes.len())))
        .collect();
    Scripted {
        chunks,
        pause: DRIP_PAUSE,
        sleep: None,
        fail: false,
    }
}

fn cut_reader(bytes: Vec<u8>) -> Scripted {
    Scripted {
        chunks: VecDeque::from([Bytes::from(bytes)]),
        pause: Duration::ZERO,
        sleep: None,
        fail: true,
    }
}

/// `bytes`, `DRIP_BYTES` every `DRIP_PAUSE`.
pub(super) fn drip(bytes: Vec<u8>) -> Body {
    Body::from_stream(ReaderStream::new(drip_reader(bytes)))
}

/// `bytes`, then an error instead of the end of the body.
pub(super) fn cut(bytes: Vec<u8>) -> Body {
    Body::from_stream(ReaderStream::new(cut_reader(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn a_cut_body_sends_its_bytes_then_errors() {
        let mut reader = cut_reader(b"{\"Action".to_vec());
        let mut got = vec![0; 4096];
        let n = reader.read(&mut got).await.unwrap();
        assert_eq!(got.get(..n).unwrap(), b"{\"Action");
        assert!(reader.read(&mut got).await.is_err());
        assert!(
            axum::body::to_bytes(cut(b"{\"Action".to_vec()), 1 << 20)
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn a_drip_sends_four_bytes_every_300_ms() {
        let mut reader = drip_reader(b"0123456789ab".to_vec());
        let started = std::time::Instant::now();
        let mut chunks = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            let n = reader.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            chunks.push(buf.get(..n).unwrap().to_vec());
        }
        assert_eq!(
            chunks,
            [b"0123".to_vec(), b"4567".to_vec(), b"89ab".to_vec()]
        );
        assert!(started.elapsed() >= DRIP_PAUSE * 2);
        let all = axum::body::to_bytes(drip(b"abcdef".to_vec()), 1 << 20)
            .await
            .unwrap();
        assert_eq!(all.as_ref(), b"abcdef");
    }
}
