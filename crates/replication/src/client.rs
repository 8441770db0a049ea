//! The MAIN's side of one replica: its connection, its status, and the thread that catches it
//! up and streams commits to it.
//!
//! Status (what SHOW REPLICAS prints):
//!
//! ```text
//! register -> hello --ok, behind--> "recovery" --caught up--> "ready" --error--> "invalid"
//!                   --branched----> "diverged" (retried every period; never overwritten)
//! "invalid" --reconnect + hello every check period--> "recovery" / "ready"
//! ```
//!
//! SHOW REPLICAS prints a ready replica that has not yet acknowledged the MAIN's newest commit
//! as `"replicating"` (Memgraph's transient state while a commit is on its way), see
//! [`Status::shown`].
//!
//! Catch-up reads from the backlog when it still holds the commits after the replica's newest,
//! else from the WAL files, else sends a snapshot (full resync) and continues after it.

use std::io::{BufReader, BufWriter};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use durability::ReadBackError;
use parking_lot::{Condvar, Mutex};
use tracing::{debug, info, warn};

use crate::auth;
use crate::proto::{self, Epoch, Request, Response, WireError, PROTOCOL_VERSION};
use crate::state::{compare, Lineage, Mode, ReplicaConfig};
use crate::Replication;

/// Memgraph's reasons in a `SyncReplicationFailure`.
pub const UNREACHABLE_REASON: &str = "replica is not reachable or not in sync with the main";
pub const TIMEOUT_REASON: &str = "RPC timeout while replicating";
pub const DIVERGED_REASON: &str = "replica has diverged from main";
pub const LOCK_REASON: &str = "failed to obtain RPC lock (another transaction is in progress)";
pub const RPC_REASON: &str = "RPC communication error";

/// Bytes of commits sent in one Append at most (one commit larger than this goes alone).
const BATCH_BYTES: usize = 4 << 20;
/// How long a committing thread polls for a SYNC replica's answer before it sleeps.
const ACK_POLL: Duration = Duration::from_micros(300);
/// Bytes per snapshot chunk.
const CHUNK_BYTES: usize = 4 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ready,
    Recovery,
    Invalid,
    Diverged,
}

impl Status {
    /// What SHOW REPLICAS prints for a replica in this state whose newest acknowledged commit
    /// is `ts` while the MAIN's is `main_ts`: a ready replica with commits still on their way
    /// (sent or queued, not yet acknowledged) is `"replicating"`.
    pub fn shown(self, ts: u64, main_ts: u64) -> &'static str {
        match self {
            Status::Ready if ts < main_ts => "replicating",
            other => other.as_str(),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ready => "ready",
            Status::Recovery => "recovery",
            Status::Invalid => "invalid",
            Status::Diverged => "diverged",
        }
    }
}

struct ClientState {
    status: Status,
    /// The replica's newest commit, as it last told us.
    ts: u64,
    last_answer: Option<Instant>,
    bolt_port: Option<u16>,
}

/// An open connection to the replica.
pub(crate) struct Conn {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
    writer: BufWriter<TcpStream>,
    buf: Vec<u8>,
    /// Every commit up to this one was sent (or was lost and needs no sending).
    sent_ts: u64,
    /// Tags on every message after the handshake (with a replication secret).
    auth: Option<auth::MessageAuth>,
}

impl Conn {
    fn open(host: &str, port: u16, timeout: Duration) -> std::io::Result<Conn> {
        let mut last = None;
        for addr in (host, port).to_socket_addrs()? {
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
                    return Ok(Conn {
                        reader: BufReader::with_capacity(64 << 10, stream.try_clone()?),
                        writer: BufWriter::with_capacity(64 << 10, stream.try_clone()?),
                        stream,
                        buf: Vec::new(),
                        sent_ts: 0,
                        auth: None,
                    });
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("the host name resolves to no address")))
    }

    fn send(&mut self, request: &Request) -> Result<(), WireError> {
        proto::write_message_authed(&mut self.writer, request, &mut self.buf, self.auth.as_mut())
    }

    fn call(&mut self, request: &Request, timeout: Duration) -> Result<Response, WireError> {
        self.send(request)?;
        self.recv(timeout)
    }

    fn recv(&mut self, timeout: Duration) -> Result<Response, WireError> {
        self.stream.set_read_timeout(Some(timeout))?;
        proto::read_message_authed(&mut self.reader, &mut self.buf, self.auth.as_mut())
    }

    /// As [`recv`](Self::recv), but first polls the socket for up to `spin` without sleeping:
    /// a replica answers a small Append within tens of microseconds, about what waking a
    /// sleeping thread costs on a virtual machine. The poll yields the core between looks, so
    /// a replica process on the same core still gets to run.
    fn recv_polling(&mut self, timeout: Duration, spin: Duration) -> Result<Response, WireError> {
        if self.reader.buffer().is_empty() {
            proto::poll_readable(&self.stream, spin);
        }
        self.stream.set_read_timeout(Some(timeout))?;
        proto::read_message_authed(&mut self.reader, &mut self.buf, self.auth.as_mut())
    }
}

/// A SYNC commit's `Append` that the committing thread sent itself on a replica's connection
/// ([`ReplicaClient::send_direct`]); the connection stays locked until its answer is read
/// ([`ReplicaClient::finish_direct`]).
pub(crate) struct DirectSend<'a> {
    guard: parking_lot::MutexGuard<'a, Option<Conn>>,
    /// The newest commit the Append carries.
    last: u64,
}

/// How a direct send ended when it did not confirm the commit.
pub(crate) enum DirectFailure {
    /// The commit failed on this replica, for this reason (the SYNC warning's).
    Failed(&'static str),
    /// The connection broke: the replica's thread reconnects and catches it up, and the
    /// commit still counts if the replica confirms it in time ([`ReplicaClient::wait_applied`]).
    Retry,
}

/// Why a hello did not lead to replication.
#[derive(Debug)]
pub enum HelloError {
    Diverged(String),
    /// The mutual authentication failed (a different or missing replication secret).
    Auth(String),
    Fenced(Epoch),
    Other(String),
}

pub struct ReplicaClient {
    pub config: ReplicaConfig,
    state: Mutex<ClientState>,
    changed: Condvar,
    conn: Mutex<Option<Conn>>,
    /// A second handle on the connection's socket, to cut it from another thread.
    socket: Mutex<Option<TcpStream>>,
    stop: AtomicBool,
    /// The thread's first hello has ended, whichever way (see [`ReplicaClient::wait_first_hello`]).
    greeted: AtomicBool,
}

impl ReplicaClient {
    pub fn new(config: ReplicaConfig) -> ReplicaClient {
        ReplicaClient {
            config,
            state: Mutex::new(ClientState {
                status: Status::Invalid,
                ts: 0,
                last_answer: None,
                bolt_port: None,
            }),
            changed: Condvar::new(),
            conn: Mutex::new(None),
            socket: Mutex::new(None),
            stop: AtomicBool::new(false),
            greeted: AtomicBool::new(false),
        }
    }

    /// Status and the replica's newest commit.
    pub fn status(&self) -> (Status, u64) {
        let state = self.state.lock();
        (state.status, state.ts)
    }

    /// Ready and answered within `lag` (for `--replication-min-replicas-to-write`).
    pub(crate) fn is_current(&self, now: Instant, lag: Duration) -> bool {
        let state = self.state.lock();
        state.status == Status::Ready
            && state
                .last_answer
                .is_some_and(|t| now.saturating_duration_since(t) <= lag)
    }

    /// `host:bolt port` when ready.
    pub(crate) fn bolt_address(&self) -> Option<String> {
        let state = self.state.lock();
        (state.status == Status::Ready)
            .then_some(state.bolt_port)
            .flatten()
            .map(|p| format!("{}:{p}", self.config.host))
    }

    /// Stops the thread and cuts the connection; never waits for the replica.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        if let Some(socket) = self.socket.lock().take() {
            let _ = socket.shutdown(Shutdown::Both);
        }
        self.changed.notify_all();
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    fn set_status(&self, status: Status, why: Option<&str>) {
        let mut state = self.state.lock();
        if state.status != status {
            match why {
                Some(why) => {
                    info!(replica = %self.config.name, from = state.status.as_str(), to = status.as_str(), "replica status changed: {why}")
                }
                None => {
                    info!(replica = %self.config.name, from = state.status.as_str(), to = status.as_str(), "replica status changed")
                }
            }
            state.status = status;
        }
        drop(state);
        self.changed.notify_all();
    }

    fn answered(&self, ts: u64) {
        let mut state = self.state.lock();
        state.ts = state.ts.max(ts);
        state.last_answer = Some(Instant::now());
        drop(state);
        self.changed.notify_all();
    }

    /// SYNC: waits until the replica applied commit `ts`, if it was ready when asked.
    pub(crate) fn wait_applied(&self, ts: u64, deadline: Instant) -> Result<(), &'static str> {
        let mut state = self.state.lock();
        if state.status != Status::Ready {
            return Err(match state.status {
                Status::Diverged => DIVERGED_REASON,
                _ => UNREACHABLE_REASON,
            });
        }
        while state.ts < ts {
            // A reconnect in between (status "recovery" for a moment) is fine: the commit
            // still counts if the replica confirms it before the deadline.
            match state.status {
                Status::Invalid => return Err(UNREACHABLE_REASON),
                Status::Diverged => return Err(DIVERGED_REASON),
                Status::Ready | Status::Recovery => {}
            }
            if self.changed.wait_until(&mut state, deadline).timed_out() && state.ts < ts {
                // Alive or not, it is not keeping up: "invalid" now, and the connection is
                // cut so that its thread reconnects and catches it up.
                drop(state);
                self.set_status(
                    Status::Invalid,
                    Some("a SYNC commit timed out waiting for it"),
                );
                if let Some(socket) = &*self.socket.lock() {
                    let _ = socket.shutdown(Shutdown::Both);
                }
                return Err(TIMEOUT_REASON);
            }
        }
        Ok(())
    }

    /// SYNC fast path: when the replica is ready and its thread is not using the connection,
    /// the committing thread sends the commits up to `ts` itself, saving the hand-over to the
    /// replica's thread and back (two thread wake-ups on the commit's path). `None`: the thread
    /// is busy with the connection, the replica is not ready, or the commits are no longer in
    /// the backlog; the caller then waits for the thread as before.
    pub(crate) fn send_direct(&self, repl: &Replication, ts: u64) -> Option<DirectSend<'_>> {
        if self.status().0 != Status::Ready {
            return None;
        }
        let mut guard = self.conn.try_lock()?;
        let conn = guard.as_mut()?;
        if conn.sent_ts >= ts {
            return None;
        }
        let newest = repl.host.storage().last_commit_ts();
        let wal = repl.host.wal();
        let lost = |ts: u64| wal.as_ref().is_some_and(|w| w.is_lost(ts));
        let mut frames = Vec::new();
        let last = repl
            .backlog
            .collect(conn.sent_ts, newest, BATCH_BYTES, lost, &mut frames)?;
        if last < ts || frames.is_empty() {
            return None;
        }
        if let Err(e) = conn.send(&Request::Append { frames }) {
            warn!(replica = %self.config.name, "replication connection failed: {e}");
            *guard = None;
            return None;
        }
        Some(DirectSend { guard, last })
    }

    /// Reads the answer to a [`send_direct`](Self::send_direct) by `deadline`.
    pub(crate) fn finish_direct(
        &self,
        repl: &Replication,
        mut sent: DirectSend<'_>,
        deadline: Instant,
    ) -> Result<(), DirectFailure> {
        let conn = sent.guard.as_mut().expect("send_direct holds a connection");
        let timeout = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        let why = match conn.recv_polling(timeout, ACK_POLL) {
            Ok(Response::Ack { ts }) => {
                conn.sent_ts = sent.last;
                drop(sent.guard);
                self.answered(ts);
                repl.sync_confirmed();
                return Ok(());
            }
            Err(e) if e.is_timeout() => {
                // As in `wait_applied`: not keeping up, so "invalid", and the thread
                // reconnects and catches it up.
                *sent.guard = None;
                drop(sent.guard);
                self.set_status(
                    Status::Invalid,
                    Some("a SYNC commit timed out waiting for it"),
                );
                return Err(DirectFailure::Failed(TIMEOUT_REASON));
            }
            Ok(Response::Failed { reason, .. }) => {
                format!("the replica could not apply commits: {reason}")
            }
            Ok(Response::Fenced { newer }) => {
                repl.fence(newer.clone());
                format!("the replica follows a newer MAIN {newer}")
            }
            Ok(other) => format!("unexpected answer: {other:?}"),
            Err(e) => e.to_string(),
        };
        warn!(replica = %self.config.name, "replication connection failed: {why}");
        *sent.guard = None;
        drop(sent.guard);
        // Wake the thread (it may be waiting for backlog news) to reconnect.
        repl.backlog.notify();
        Err(DirectFailure::Retry)
    }

    /// Waits until the thread's first hello ended (connected, refused, fenced, ...) or
    /// `deadline`. A MAIN restarted with registered replicas waits for this before it serves
    /// Bolt, so that a replica following a newer MAIN fences it before any write arrives.
    pub(crate) fn wait_first_hello(&self, deadline: Instant) {
        let mut state = self.state.lock();
        while !self.greeted.load(Ordering::Acquire) && !self.stopped() {
            if self.changed.wait_until(&mut state, deadline).timed_out() {
                return;
            }
        }
    }

    /// Connects and says hello now (REGISTER REPLICA waits for this).
    pub(crate) fn connect_now(&self, repl: &Replication) -> Result<(), HelloError> {
        let conn = self.hello(repl)?;
        *self.conn.lock() = Some(conn);
        Ok(())
    }

    pub(crate) fn spawn(self: &Arc<Self>, repl: Arc<Replication>) {
        let client = self.clone();
        let name = format!("repl-{}", self.config.name);
        std::thread::Builder::new()
            .name(name)
            .spawn(move || client.run(&repl))
            .expect("spawn a replication thread");
    }

    fn connect_timeout(repl: &Replication) -> Duration {
        repl.settings.check_frequency.max(Duration::from_secs(1))
    }

    /// Read timeout for answers to heartbeats and small requests: three check periods.
    fn answer_timeout(repl: &Replication) -> Duration {
        (repl.settings.check_frequency * 3).max(Duration::from_secs(1))
    }

    fn hello(&self, repl: &Replication) -> Result<Conn, HelloError> {
        let other = |e: &dyn std::fmt::Display| HelloError::Other(e.to_string());
        let mut conn = Conn::open(
            &self.config.host,
            self.config.port,
            Self::connect_timeout(repl),
        )
        .map_err(|e| other(&e))?;
        *self.socket.lock() = conn.stream.try_clone().ok();
        if self.stopped() {
            return Err(HelloError::Other("the replica was dropped".into()));
        }
        Self::authenticate(repl, &mut conn)?;
        let (epoch, history, main_ts) = repl.hello_facts();
        let answer = conn
            .call(
                &Request::Hello {
                    version: PROTOCOL_VERSION,
                    main: epoch.clone(),
                    history: history.clone(),
                    main_ts,
                    bolt_port: repl.host.bolt_port(),
                },
                Self::answer_timeout(repl),
            )
            .map_err(|e| other(&e))?;
        match answer {
            Response::Hello {
                version,
                epoch: replica_epoch,
                ts,
                bolt_port,
                ..
            } => {
                if version != PROTOCOL_VERSION {
                    return Err(HelloError::Other(format!(
                        "the replica speaks replication protocol {version}, this MAIN {PROTOCOL_VERSION}"
                    )));
                }
                if let Lineage::Diverged(why) =
                    compare(&epoch, &history, main_ts, &replica_epoch, ts)
                {
                    return Err(HelloError::Diverged(why));
                }
                conn.sent_ts = ts;
                let mut state = self.state.lock();
                state.ts = ts;
                state.last_answer = Some(Instant::now());
                state.bolt_port = Some(bolt_port);
                state.status = if ts >= repl.host.storage().last_commit_ts()
                    && self.config.mode != Mode::StrictSync
                {
                    Status::Ready
                } else {
                    Status::Recovery
                };
                drop(state);
                self.changed.notify_all();
                Ok(conn)
            }
            Response::Fenced { newer } if newer.term > epoch.term => {
                repl.fence(newer.clone());
                Err(HelloError::Fenced(newer))
            }
            Response::Fenced { newer } => Err(HelloError::Other(format!(
                "the replica follows another MAIN ({newer}) that is connected to it"
            ))),
            Response::Failed { reason, .. } => Err(HelloError::Other(reason)),
            other_answer => Err(HelloError::Other(format!(
                "unexpected answer to hello: {other_answer:?}"
            ))),
        }
    }

    /// The challenge-response of [`crate::auth`]: the replica proves it knows the secret, then
    /// this MAIN does.
    fn authenticate(repl: &Replication, conn: &mut Conn) -> Result<(), HelloError> {
        let other = |e: &dyn std::fmt::Display| HelloError::Other(e.to_string());
        let secret = &repl.settings.secret;
        let main_nonce = auth::nonce();
        let answer = conn
            .call(
                &Request::Challenge {
                    version: PROTOCOL_VERSION,
                    nonce: main_nonce.clone(),
                    secret_set: secret.is_set(),
                },
                Self::answer_timeout(repl),
            )
            .map_err(|e| match e {
                // A replica of protocol 1 cannot decode the challenge and hangs up.
                WireError::Closed => HelloError::Other(format!(
                    "the replica closed the connection at the start (does it speak replication protocol {PROTOCOL_VERSION}?)"
                )),
                e => other(&e),
            })?;
        let (replica_nonce, proof, theirs) = match answer {
            Response::Challenge {
                version,
                nonce,
                proof,
                secret_set,
            } => {
                if version != PROTOCOL_VERSION {
                    return Err(HelloError::Other(format!(
                        "the replica speaks replication protocol {version}, this MAIN {PROTOCOL_VERSION}"
                    )));
                }
                (nonce, proof, secret_set)
            }
            Response::Failed { reason, .. } => return Err(HelloError::Other(reason)),
            other_answer => {
                return Err(HelloError::Other(format!(
                    "unexpected answer to the challenge: {other_answer:?}"
                )))
            }
        };
        if !secret.verify(auth::Side::Replica, &main_nonce, &replica_nonce, &proof) {
            return Err(HelloError::Auth(auth::mismatch(
                "replica",
                secret.is_set(),
                theirs,
            )));
        }
        let proof = secret.proof(auth::Side::Main, &main_nonce, &replica_nonce);
        match conn
            .call(&Request::Proof { proof }, Self::answer_timeout(repl))
            .map_err(|e| other(&e))?
        {
            Response::Ack { .. } => {
                conn.auth =
                    auth::MessageAuth::new(secret, auth::Side::Main, &main_nonce, &replica_nonce);
                Ok(())
            }
            Response::Failed { reason, .. } => Err(HelloError::Auth(reason)),
            other_answer => Err(HelloError::Other(format!(
                "unexpected answer to the proof: {other_answer:?}"
            ))),
        }
    }

    fn run(self: Arc<Self>, repl: &Arc<Replication>) {
        let period = repl.settings.check_frequency.max(Duration::from_millis(10));
        let mut last_failure: Option<String> = None;
        while !self.stopped() {
            let mut guard = self.conn.lock();
            if guard.is_none() {
                let hello = self.hello(repl);
                if !self.greeted.swap(true, Ordering::AcqRel) {
                    // Under the state lock, so a waiter cannot miss the notification.
                    drop(self.state.lock());
                    self.changed.notify_all();
                }
                match hello {
                    Ok(conn) => {
                        *guard = Some(conn);
                        last_failure = None;
                    }
                    Err(e) => {
                        drop(guard);
                        let (status, why) = match e {
                            HelloError::Diverged(why) => (Status::Diverged, why),
                            HelloError::Fenced(newer) => {
                                (Status::Invalid, format!("it follows a newer MAIN {newer}"))
                            }
                            HelloError::Auth(why) | HelloError::Other(why) => {
                                (Status::Invalid, why)
                            }
                        };
                        if last_failure.as_deref() != Some(why.as_str()) {
                            warn!(replica = %self.config.name, "cannot replicate: {why}");
                            last_failure = Some(why.clone());
                        }
                        self.set_status(status, Some(&why));
                        self.pause(period);
                        continue;
                    }
                }
            }
            let conn = guard.as_mut().expect("connected above");
            match self.step(repl, conn) {
                Ok(None) => {}
                Ok(Some(version)) => {
                    drop(guard);
                    repl.backlog.wait(version, period);
                }
                Err(why) => {
                    *guard = None;
                    warn!(replica = %self.config.name, "replication connection failed: {why}");
                    // A replica that restarted (or a connection cut by a proxy) is often back
                    // already: one immediate reconnect, so that a SYNC commit waiting for it
                    // can still be confirmed instead of warned about.
                    match self.hello(repl) {
                        Ok(conn) => {
                            info!(replica = %self.config.name, "reconnected to the replica");
                            *guard = Some(conn);
                        }
                        Err(_) => {
                            drop(guard);
                            self.set_status(Status::Invalid, Some(&why));
                        }
                    }
                }
            }
        }
        debug!(replica = %self.config.name, "replication thread ends");
    }

    /// Waits `period` unless stopped meanwhile.
    fn pause(&self, period: Duration) {
        let mut state = self.state.lock();
        if !self.stopped() {
            self.changed.wait_for(&mut state, period);
        }
    }

    /// One unit of work on an open connection: send what the replica lacks, or a heartbeat.
    /// `Ok(Some(version))`: nothing to do; wait for backlog news after `version`.
    fn step(&self, repl: &Replication, conn: &mut Conn) -> Result<Option<u64>, String> {
        let version = repl.backlog.version();
        let storage = repl.host.storage();
        let newest = storage.last_commit_ts();
        let visible = match self.config.mode {
            Mode::Async => repl.async_limit(newest),
            Mode::Sync | Mode::StrictSync => newest,
        };
        let (status, _) = self.status();
        let strict_ready = self.config.mode == Mode::StrictSync && status == Status::Ready;
        if conn.sent_ts < visible && !strict_ready {
            let wal = repl.host.wal();
            let lost = |ts: u64| wal.as_ref().is_some_and(|w| w.is_lost(ts));
            let mut frames = Vec::new();
            let from_backlog =
                repl.backlog
                    .collect(conn.sent_ts, visible, BATCH_BYTES, lost, &mut frames);
            let last = match from_backlog {
                Some(last) if last > conn.sent_ts => last,
                _ => {
                    if status == Status::Ready {
                        self.set_status(Status::Recovery, Some("it fell behind the backlog"));
                    }
                    let Some(wal) = &wal else {
                        return Err("the write-ahead log is disabled".into());
                    };
                    frames.clear();
                    // Frames still in the log's write buffer are not in the files yet.
                    wal.write_out()
                        .map_err(|e| format!("cannot write the write-ahead log out: {e}"))?;
                    match durability::read_frames_after(&wal.dir(), conn.sent_ts, visible, BATCH_BYTES) {
                        Ok(batch) if batch.last_ts > conn.sent_ts => {
                            frames = batch.frames;
                            batch.last_ts
                        }
                        Ok(_) => {
                            return Err(format!(
                                "the commits after {} are neither in the backlog nor in the write-ahead log",
                                conn.sent_ts
                            ))
                        }
                        Err(ReadBackError::NotCovered { .. }) => {
                            self.full_resync(repl, conn)?;
                            return Ok(None);
                        }
                        Err(e) => return Err(format!("cannot read the write-ahead log: {e}")),
                    }
                }
            };
            if frames.is_empty() {
                // Everything in between was lost by a failed WAL flush (never committed).
                conn.sent_ts = last.max(conn.sent_ts);
                return Ok(None);
            }
            // Three heartbeats, plus a second per MiB to apply (a silent partition is noticed
            // in seconds, a large transaction still gets time).
            let timeout =
                Self::answer_timeout(repl) + Duration::from_secs((frames.len() >> 20) as u64);
            match conn.call(&Request::Append { frames }, timeout) {
                Ok(Response::Ack { ts }) => {
                    conn.sent_ts = last;
                    self.answered(ts);
                    if self.config.mode != Mode::Async {
                        repl.sync_confirmed();
                    }
                    Ok(None)
                }
                Ok(Response::Failed { reason, .. }) => {
                    Err(format!("the replica could not apply commits: {reason}"))
                }
                Ok(Response::Fenced { newer }) => {
                    repl.fence(newer.clone());
                    Err(format!("the replica follows a newer MAIN {newer}"))
                }
                Ok(other) => Err(format!("unexpected answer: {other:?}")),
                Err(e) => Err(e.to_string()),
            }
        } else {
            if status == Status::Recovery && conn.sent_ts >= visible {
                self.become_ready(repl, conn);
            }
            let idle = self
                .state
                .lock()
                .last_answer
                .is_none_or(|t| t.elapsed() >= repl.settings.check_frequency);
            if idle {
                match conn.call(
                    &Request::Heartbeat { main_ts: newest },
                    Self::answer_timeout(repl),
                ) {
                    Ok(Response::Ack { ts }) => self.answered(ts),
                    Ok(Response::Fenced { newer }) => {
                        repl.fence(newer.clone());
                        return Err(format!("the replica follows a newer MAIN {newer}"));
                    }
                    Ok(other) => {
                        return Err(format!("unexpected answer to a heartbeat: {other:?}"))
                    }
                    Err(e) if e.is_timeout() => {
                        return Err(format!(
                            "no answer to a heartbeat within {:?}",
                            Self::answer_timeout(repl)
                        ))
                    }
                    Err(e) => return Err(e.to_string()),
                }
            }
            Ok(Some(version))
        }
    }

    /// Caught up: ready. A STRICT_SYNC replica turns ready under the commit gate, so that no
    /// commit slips between "caught up" and "commits prepare on it".
    fn become_ready(&self, repl: &Replication, conn: &Conn) {
        let _gate = repl.commit_gate.lock();
        if conn.sent_ts >= repl.host.storage().last_commit_ts() {
            self.set_status(Status::Ready, Some("caught up"));
        }
    }

    /// Sends a snapshot and continues after it.
    fn full_resync(&self, repl: &Replication, conn: &mut Conn) -> Result<(), String> {
        use std::io::Read;
        let (path, snapshot_ts) = repl.host.resync_snapshot()?;
        let mut file = std::fs::File::open(&path)
            .map_err(|e| format!("cannot open snapshot {}: {e}", path.display()))?;
        let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
        info!(replica = %self.config.name, snapshot = %path.display(), snapshot_ts, bytes, "full resync: sending a snapshot");
        let started = Instant::now();
        let wire = |e: WireError| e.to_string();
        conn.send(&Request::SnapshotBegin { snapshot_ts, bytes })
            .map_err(wire)?;
        let mut chunk = vec![0u8; CHUNK_BYTES];
        loop {
            let n = file
                .read(&mut chunk)
                .map_err(|e| format!("cannot read snapshot {}: {e}", path.display()))?;
            if n == 0 {
                break;
            }
            conn.send(&Request::SnapshotChunk {
                data: chunk[..n].to_vec(),
            })
            .map_err(wire)?;
        }
        match conn.call(&Request::SnapshotEnd, Duration::from_secs(600)) {
            Ok(Response::Ack { ts }) => {
                conn.sent_ts = snapshot_ts;
                self.answered(ts);
                info!(replica = %self.config.name, elapsed_ms = started.elapsed().as_millis() as u64, "full resync: the replica loaded the snapshot");
                Ok(())
            }
            Ok(Response::Failed { reason, .. }) => {
                Err(format!("the replica could not load the snapshot: {reason}"))
            }
            Ok(other) => Err(format!("unexpected answer to a snapshot: {other:?}")),
            Err(e) => Err(e.to_string()),
        }
    }

    /// STRICT_SYNC phase one for commit `ts` (called under the commit gate).
    pub(crate) fn prepare(&self, repl: &Replication, frame: &[u8]) -> Result<(), &'static str> {
        if self.status().0 != Status::Ready {
            return Err(UNREACHABLE_REASON);
        }
        let timeout = Self::answer_timeout(repl);
        let Some(mut guard) = self.conn.try_lock_for(timeout) else {
            return Err(LOCK_REASON);
        };
        let Some(conn) = guard.as_mut() else {
            return Err(UNREACHABLE_REASON);
        };
        match conn.call(
            &Request::Prepare {
                frame: frame.to_vec(),
            },
            timeout,
        ) {
            Ok(Response::Ack { .. }) => Ok(()),
            Ok(Response::Fenced { newer }) => {
                repl.fence(newer);
                Err(UNREACHABLE_REASON)
            }
            Ok(_) => Err(UNREACHABLE_REASON),
            Err(e) => {
                let timed_out = e.is_timeout();
                *guard = None;
                drop(guard);
                self.set_status(Status::Invalid, Some(&e.to_string()));
                Err(if timed_out {
                    TIMEOUT_REASON
                } else {
                    RPC_REASON
                })
            }
        }
    }

    /// STRICT_SYNC phase two. A replica that misses it drops the prepared commit when its
    /// connection ends and gets the commit again by catch-up.
    pub(crate) fn finalize(&self, repl: &Replication, ts: u64, commit: bool) {
        let timeout = Self::answer_timeout(repl);
        let mut guard = self.conn.lock();
        let Some(conn) = guard.as_mut() else {
            return;
        };
        match conn.call(
            &Request::Finalize {
                commit_ts: ts,
                commit,
            },
            timeout,
        ) {
            Ok(Response::Ack { ts: replica_ts }) => {
                if commit {
                    conn.sent_ts = ts;
                }
                self.answered(replica_ts);
                repl.sync_confirmed();
            }
            other => {
                *guard = None;
                drop(guard);
                let why = format!("finalizing commit {ts} failed: {other:?}");
                self.set_status(Status::Invalid, Some(&why));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Status;

    #[test]
    fn a_ready_replica_with_commits_on_their_way_shows_as_replicating() {
        assert_eq!(Status::Ready.shown(5, 5), "ready");
        assert_eq!(Status::Ready.shown(4, 5), "replicating");
        // Only a ready replica streams: the others keep their own status however far behind.
        assert_eq!(Status::Recovery.shown(2, 5), "recovery");
        assert_eq!(Status::Invalid.shown(2, 5), "invalid");
        assert_eq!(Status::Diverged.shown(9, 5), "diverged");
    }
}
