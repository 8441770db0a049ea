//! One Bolt connection as a state machine over a non-blocking socket, driven by the worker
//! pool ([`crate::pool`]): a worker that gets the connection's readiness calls
//! [`Connection::on_ready`], which reads at most one buffer of input, handles the complete
//! requests, writes the answers as far as the socket takes them, and says what to wait for
//! next. It never blocks on the socket, so a fixed number of workers serves any number of
//! connections, and a client that stops reading only stops its own connection.
//!
//! Input is bounded per connection: the socket is read only when every request read earlier
//! has been handled, at most one buffer (64 KiB) per turn, and a message under construction is
//! capped at `max_message_bytes`. Output is flushed as soon as one turn's requests produce
//! 1 MiB of it; the rest of the requests wait until the client has taken it.
//!
//! RESET jumps the queue: every batch of decoded messages is scanned for RESET first (the
//! session then IGNOREs what precedes it); and while a query runs, its guard calls the probe
//! built here, which reads whatever the client has sent meanwhile without blocking and
//! reports a RESET, so a long query stops.

use std::collections::VecDeque;
use std::io;
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

use crate::auth::UserStore;
use crate::backend::DbBackend;
use crate::epoll::{READABLE, WRITABLE};
use crate::tls::Io;

/// Settings shared by all connections.
#[derive(Clone)]
pub struct ConnectionSettings {
    pub server_agent: String,
    pub max_message_bytes: usize,
    pub handshake_timeout: Duration,
    /// The users logins are checked against.
    pub users: Arc<UserStore>,
    /// TLS for every connection, when `--bolt-cert-file` and `--bolt-key-file` are set.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

/// Output above this is sent before more requests are handled.
const FLUSH_BYTES: usize = 1 << 20;
/// An idle connection keeps at most this much output buffer capacity.
const KEEP_OUT_CAPACITY: usize = 256 * 1024;

/// Decoded input not yet handled, shared between the connection and the interrupt probe
/// (both run on the worker serving the connection; the mutex is never contended).
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

/// What the connection waits for next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Re-arm with this epoll interest.
    Wait(u32),
    /// Done: deregister and drop the connection.
    Close,
}

enum Phase {
    Handshake {
        bytes: [u8; HANDSHAKE_LEN],
        got: usize,
    },
    Bolt(Box<Bolt>),
}

struct Bolt {
    session: Session,
    backend: DbBackend,
    input: Arc<Mutex<Input>>,
    /// Messages taken from `input` (already scanned for RESET) and not yet handled.
    batch: VecDeque<Vec<u8>>,
}

pub struct Connection {
    id: u64,
    /// The socket, or TLS over it.
    io: Io,
    engine: Arc<Engine>,
    settings: Arc<ConnectionSettings>,
    phase: Phase,
    out: Vec<u8>,
    /// Bytes at the front of `out` already sent.
    sent: usize,
    /// Close once `out` is sent.
    closing: bool,
}

impl Connection {
    /// A freshly accepted connection (already non-blocking), waiting for its handshake.
    pub fn new(
        stream: TcpStream,
        engine: Arc<Engine>,
        settings: Arc<ConnectionSettings>,
        id: u64,
    ) -> io::Result<Connection> {
        stream.set_nonblocking(true)?;
        stream.set_nodelay(true)?;
        let io = match &settings.tls {
            Some(config) => Io::tls(stream, config.clone())?,
            None => Io::plain(stream),
        };
        Ok(Connection {
            id,
            io,
            engine,
            settings,
            phase: Phase::Handshake {
                bytes: [0; HANDSHAKE_LEN],
                got: 0,
            },
            out: Vec::new(),
            sent: 0,
            closing: false,
        })
    }

    pub fn stream(&self) -> &TcpStream {
        self.io.socket()
    }

    /// Whether the handshake is complete (the handshake timeout no longer applies).
    pub fn handshaken(&self) -> bool {
        matches!(self.phase, Phase::Bolt(_))
    }

    /// Does one turn of work after the socket reported readiness; `buf` is the worker's read
    /// buffer.
    pub fn on_ready(&mut self, buf: &mut [u8]) -> Next {
        match self.turn(buf) {
            // TLS output the socket did not take (handshake records sent while reading) must
            // not wait for the client, which waits for it.
            Ok(Next::Wait(interest)) if self.io.wants_write() => Next::Wait(interest | WRITABLE),
            Ok(next) => next,
            Err(e) => {
                debug!(connection = self.id, "connection ended: {e}");
                Next::Close
            }
        }
    }

    /// Rolls back and releases everything (the connection is being dropped).
    pub fn close(&mut self) {
        if let Phase::Bolt(b) = &mut self.phase {
            b.session.handle_eof(&mut b.backend);
        }
        self.io.shutdown();
    }

    fn turn(&mut self, buf: &mut [u8]) -> io::Result<Next> {
        if !self.flush()? {
            return Ok(Next::Wait(WRITABLE));
        }
        if self.closing {
            return Ok(Next::Close);
        }
        if let Phase::Handshake { bytes, got } = &mut self.phase {
            match self.io.read(&mut bytes[*got..]) {
                Ok(0) => {
                    debug!(
                        connection = self.id,
                        "connection ended during the handshake"
                    );
                    return Ok(Next::Close);
                }
                Ok(n) => *got += n,
                Err(e) if would_block(&e) => return Ok(Next::Wait(READABLE)),
                Err(e) => return Err(e),
            }
            if *got < HANDSHAKE_LEN {
                return Ok(Next::Wait(READABLE));
            }
            let hs = *bytes;
            self.handshake(&hs);
            // Requests pipelined behind the handshake are still in the socket: READABLE
            // reports them at once (level-triggered); TLS may hold some decrypted already.
            let more = self.io.buffered_input();
            return self.finish_turn(more);
        }
        let Phase::Bolt(b) = &mut self.phase else {
            unreachable!("handled above")
        };
        let id = self.id;
        let mut error = None;
        let mut eof = false;
        if b.batch.is_empty() {
            let mut inp = b.input.lock();
            if inp.queue.is_empty() && inp.error.is_none() && !inp.eof {
                match self.io.read(buf) {
                    Ok(0) => inp.eof = true,
                    Ok(n) => {
                        inp.feed(&buf[..n]);
                        trace!(connection = id, bytes = n, queued = inp.queue.len(), "read");
                    }
                    Err(e) if would_block(&e) => {}
                    Err(e) => {
                        drop(inp);
                        b.session.handle_eof(&mut b.backend);
                        return Err(e);
                    }
                }
            }
            b.batch.extend(inp.queue.drain(..));
            inp.queued_bytes = 0;
            error = inp.error.take();
            eof = inp.eof;
            // RESET jumps the queue: whatever precedes it in this batch is IGNORED.
            for _ in b.batch.iter().filter(|m| is_reset(m)) {
                b.session.interrupt();
            }
        }
        while let Some(msg) = b.batch.pop_front() {
            let before = self.out.len();
            let action = b
                .session
                .handle_message(&msg, &mut b.backend, &mut self.out);
            trace!(
                connection = id,
                signature = msg.get(1).copied().unwrap_or(0),
                request_bytes = msg.len(),
                response_bytes = self.out.len() - before,
                "handled a request"
            );
            if action == SessionAction::Close {
                self.closing = true;
                b.batch.clear();
                return self.finish_turn(false);
            }
            if action == SessionAction::Again {
                // A PULL of a large result paused: send what it wrote, then go on with it
                // once the client has taken that (backpressure instead of buffering it all).
                b.batch.push_front(msg);
                if let Some(e) = error {
                    b.input.lock().error = Some(e);
                }
                return self.finish_turn(true);
            }
            if self.out.len() >= FLUSH_BYTES && !b.batch.is_empty() {
                // Send what is there before handling more: wait for the client to take it.
                if let Some(e) = error {
                    // Keep the framing error for after the rest of the batch.
                    b.input.lock().error = Some(e);
                }
                return self.finish_turn(true);
            }
        }
        if let Some(e) = error {
            warn!(connection = id, "closing connection: {e}");
            let _ = b
                .session
                .handle_input_error(&e, &mut b.backend, &mut self.out);
            b.session.handle_eof(&mut b.backend);
            self.closing = true;
            return self.finish_turn(false);
        }
        if eof && b.input.lock().queue.is_empty() {
            self.closing = true;
            b.session.handle_eof(&mut b.backend);
            return self.finish_turn(false);
        }
        // Input the probe read during a query, or a framing error put back above, or
        // decrypted input TLS holds.
        let more = {
            let inp = b.input.lock();
            !inp.queue.is_empty() || inp.error.is_some() || inp.eof
        } || self.io.buffered_input();
        self.finish_turn(more)
    }

    /// Sends what the turn produced; `more`: requests are waiting to be handled already.
    fn finish_turn(&mut self, more: bool) -> io::Result<Next> {
        if !self.flush()? {
            return Ok(Next::Wait(WRITABLE));
        }
        if self.closing {
            return Ok(Next::Close);
        }
        // Writable is reported at once: the connection comes back after the ones already ready.
        Ok(Next::Wait(if more { WRITABLE } else { READABLE }))
    }

    fn handshake(&mut self, hs: &[u8; HANDSHAKE_LEN]) {
        let config = SessionConfig {
            server_agent: self.settings.server_agent.clone(),
            connection_id: format!("bolt-{}", self.id),
            ..SessionConfig::default()
        };
        match Session::handle_handshake(hs, config, &mut self.out) {
            Ok(session) => {
                debug!(connection = self.id, version = %session.version(), "handshake done");
                let input = Arc::new(Mutex::new(Input {
                    decoder: ChunkDecoder::with_max_message_bytes(self.settings.max_message_bytes),
                    queue: VecDeque::new(),
                    queued_bytes: 0,
                    error: None,
                    eof: false,
                }));
                let local = self.io.socket().local_addr().ok().map(|a| a.to_string());
                let mut backend = DbBackend::new(&self.engine, local, self.settings.users.clone());
                match self.io.try_clone() {
                    Ok(s) => backend.set_interrupt_probe(probe(s, input.clone())),
                    Err(e) => warn!(connection = self.id, "no interrupt probe: {e}"),
                }
                self.phase = Phase::Bolt(Box::new(Bolt {
                    session,
                    backend,
                    input,
                    batch: VecDeque::new(),
                }));
            }
            Err(e) => {
                info!(connection = self.id, "handshake refused: {e}");
                self.closing = true;
            }
        }
    }

    /// Writes as much of `out` as the socket takes; `Ok(true)` when all of it is sent.
    fn flush(&mut self) -> io::Result<bool> {
        if self.out.is_empty() {
            return self.io.flush_pending();
        }
        while self.sent < self.out.len() {
            match self.io.write(&self.out[self.sent..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => {
                    if let Phase::Bolt(b) = &mut self.phase {
                        b.session.handle_eof(&mut b.backend);
                    }
                    return Err(e);
                }
            }
        }
        trace!(
            connection = self.id,
            bytes = self.out.len(),
            "sent responses"
        );
        self.out.clear();
        self.sent = 0;
        if self.out.capacity() > KEEP_OUT_CAPACITY {
            self.out.shrink_to(KEEP_OUT_CAPACITY);
        }
        // With TLS, what rustls still holds must reach the socket too.
        self.io.flush_pending()
    }
}

fn would_block(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

/// How much pipelined input the interrupt probe buffers at most.
const PROBE_READ_AHEAD_BYTES: usize = 1 << 20;

/// The interrupt probe: reads what the client sent while a query runs, without blocking (the
/// socket is non-blocking).
fn probe(stream: Io, input: Arc<Mutex<Input>>) -> query::ops::InterruptProbe {
    let stream = Mutex::new(stream);
    Arc::new(move || {
        let stream = stream.lock();
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
        interrupted
    })
}
