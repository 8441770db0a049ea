//! One Bolt connection: a blocking socket driven by one OS thread.
//!
//! Why a thread per connection rather than async tasks: a sequential request/response client
//! (the common driver pattern) then costs one `read` and one `write` on one thread per round
//! trip, with no hand-off between a reactor and an executor thread; and query execution, which
//! is CPU work, never runs on the async reactor (tokio only accepts connections and handles
//! signals). Pipelined requests are handled in arrival order and answered in one write.
//!
//! RESET jumps the queue: every batch of decoded messages is scanned for RESET first (the
//! session then IGNOREs what precedes it); and while a query runs, its guard calls the probe
//! built here, which reads whatever the client has sent meanwhile without blocking and
//! reports a RESET, so a long query stops.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use bolt::chunk::ChunkDecoder;
use bolt::handshake::HANDSHAKE_LEN;
use bolt::message::is_reset;
use bolt::session::{Session, SessionAction, SessionConfig};
use parking_lot::Mutex;
use query::Engine;
use tracing::{debug, info, trace, warn};

use crate::backend::DbBackend;

/// Settings shared by all connections.
#[derive(Clone, Debug)]
pub struct ConnectionSettings {
    pub server_agent: String,
    pub max_message_bytes: usize,
    pub handshake_timeout: Duration,
}

/// Decoded input not yet handled, shared between the connection loop and the interrupt probe
/// (both run on the connection's thread; the mutex is never contended).
struct Input {
    decoder: ChunkDecoder,
    queue: VecDeque<Vec<u8>>,
    /// Bytes of the messages in `queue`.
    queued_bytes: usize,
    /// A framing error (oversized message): reported after the queued messages.
    error: Option<bolt::Error>,
    /// The client closed its side.
    eof: bool,
}

impl Input {
    /// Feeds bytes and moves complete messages to the queue; returns whether a RESET arrived.
    fn feed(&mut self, bytes: &[u8]) -> bool {
        self.decoder.feed(bytes);
        let mut reset = false;
        while self.error.is_none() {
            match self.decoder.poll_message() {
                Ok(Some(msg)) => {
                    reset |= is_reset(&msg);
                    self.queued_bytes += msg.len();
                    self.queue.push_back(msg);
                }
                Ok(None) => break,
                Err(e) => self.error = Some(e),
            }
        }
        reset
    }
}

/// Serves one accepted connection until it closes.
pub fn serve(
    mut stream: TcpStream,
    engine: Arc<Engine>,
    settings: Arc<ConnectionSettings>,
    id: u64,
) {
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| "?".into());
    if let Err(e) = serve_inner(&mut stream, &engine, &settings, id) {
        debug!(connection = id, %peer, "connection ended: {e}");
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

fn serve_inner(
    stream: &mut TcpStream,
    engine: &Arc<Engine>,
    settings: &ConnectionSettings,
    id: u64,
) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(settings.handshake_timeout))?;
    let mut hs = [0u8; HANDSHAKE_LEN];
    stream.read_exact(&mut hs)?;
    stream.set_read_timeout(None)?;
    let config = SessionConfig {
        server_agent: settings.server_agent.clone(),
        connection_id: format!("bolt-{id}"),
        ..SessionConfig::default()
    };
    let mut out = Vec::with_capacity(64 * 1024);
    let mut session = match Session::handle_handshake(&hs, config, &mut out) {
        Ok(s) => s,
        Err(e) => {
            stream.write_all(&out)?;
            info!(connection = id, "handshake refused: {e}");
            return Ok(());
        }
    };
    stream.write_all(&out)?;
    out.clear();
    debug!(connection = id, version = %session.version(), "handshake done");

    let input = Arc::new(Mutex::new(Input {
        decoder: ChunkDecoder::with_max_message_bytes(settings.max_message_bytes),
        queue: VecDeque::new(),
        queued_bytes: 0,
        error: None,
        eof: false,
    }));
    let mut backend = DbBackend::new(engine);
    backend.set_interrupt_probe(probe(stream.try_clone()?, input.clone()));

    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let (batch, error, eof) = {
            let mut inp = input.lock();
            let batch: Vec<Vec<u8>> = inp.queue.drain(..).collect();
            inp.queued_bytes = 0;
            (batch, inp.error.take(), inp.eof)
        };
        if batch.is_empty() && error.is_none() {
            if eof {
                session.handle_eof(&mut backend);
                return Ok(());
            }
            if !out.is_empty() {
                stream.write_all(&out)?;
                trace!(connection = id, bytes = out.len(), "sent responses");
                out.clear();
            }
            let n = match stream.read(&mut buf) {
                Ok(0) => 0,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    session.handle_eof(&mut backend);
                    return Err(e);
                }
            };
            let mut inp = input.lock();
            if n == 0 {
                inp.eof = true;
            } else {
                inp.feed(&buf[..n]);
            }
            trace!(connection = id, bytes = n, queued = inp.queue.len(), "read");
            continue;
        }
        // RESET jumps the queue: whatever precedes it in this batch is IGNORED.
        for _ in batch.iter().filter(|m| is_reset(m)) {
            session.interrupt();
        }
        for msg in &batch {
            let before = out.len();
            let action = session.handle_message(msg, &mut backend, &mut out);
            trace!(
                connection = id,
                signature = msg.get(1).copied().unwrap_or(0),
                request_bytes = msg.len(),
                response_bytes = out.len() - before,
                "handled a request"
            );
            if out.len() >= 1 << 20 {
                stream.write_all(&out)?;
                out.clear();
            }
            if action == SessionAction::Close {
                stream.write_all(&out)?;
                return Ok(());
            }
        }
        if let Some(e) = error {
            warn!(connection = id, "closing connection: {e}");
            let _ = session.handle_input_error(&e, &mut backend, &mut out);
            stream.write_all(&out)?;
            session.handle_eof(&mut backend);
            return Ok(());
        }
    }
}

/// How much pipelined input the interrupt probe buffers at most.
const PROBE_READ_AHEAD_BYTES: usize = 1 << 20;

/// The interrupt probe: reads what the client sent while a query runs, without blocking.
fn probe(stream: TcpStream, input: Arc<Mutex<Input>>) -> query::ops::InterruptProbe {
    let stream = Mutex::new(stream);
    Arc::new(move || {
        let mut stream = stream.lock();
        if stream.set_nonblocking(true).is_err() {
            return false;
        }
        let mut buf = [0u8; 16 * 1024];
        let mut interrupted = false;
        // Read ahead only so far: a client pipelining a long stream of large requests must not
        // make the server buffer all of it while one query runs (the kernel's socket buffers
        // then push back). A RESET further behind is seen once the queue drains.
        while input.lock().queued_bytes < PROBE_READ_AHEAD_BYTES {
            match stream.read(&mut buf) {
                Ok(0) => {
                    // The client went away: stop working for it.
                    input.lock().eof = true;
                    interrupted = true;
                    break;
                }
                Ok(n) => {
                    let mut inp = input.lock();
                    interrupted |= inp.feed(&buf[..n]);
                    trace!(bytes = n, queued = inp.queue.len(), "probe read");
                }
                Err(_) => break,
            }
        }
        let _ = stream.set_nonblocking(false);
        interrupted
    })
}
