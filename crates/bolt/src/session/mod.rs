//! The server-side Bolt session: a sans-IO state machine driven by message payloads, answering
//! into an output buffer and delegating the database work to a [`Backend`].
//!
//! # Calling order for one connection
//!
//! ```text
//! 1. Read exactly 20 bytes, then
//!      Session::handle_handshake(&bytes, config, &mut out)
//!    Write `out` (the 4-byte reply) in any case. On Err close the socket (BadMagic: nothing was
//!    written; NoCommonVersion: 00 00 00 00 was). Bytes read past the 20 are message bytes.
//! 2. Loop: read bytes; ChunkDecoder::feed; drain ChunkDecoder::poll_message into a batch.
//!      - a poll error (oversized message): session.handle_input_error(&e, backend, &mut out),
//!        write `out`, close.
//!      - for every payload in the batch with message::is_reset(&payload): session.interrupt()
//!        (and signal a query running on another thread to stop), BEFORE handling the batch.
//!      - for every payload, in order: session.handle_message(&payload, backend, &mut out).
//!        (A RESET that arrives while the backend works on a request may stop that request:
//!        the backend fails it and reports `Backend::take_interrupt() == true`, and the session
//!        answers IGNORED instead of FAILURE; the RESET itself comes with the next batch.)
//!        On SessionAction::Close: write `out`, close, stop. On SessionAction::Again (a
//!        `PULL {n: -1}` of a large result paused): write `out`, and when the client has taken
//!        it handle the same payload again, before the rest of the batch.
//!      - write `out` to the socket before blocking on the next read (clients pipeline and then
//!        wait; holding responses back deadlocks them). Write it earlier when it grows large.
//! 3. On EOF or a socket error: session.handle_eof(backend) (rolls back, drops streams).
//! ```
//!
//! # States
//!
//! NEGOTIATION -HELLO-> READY (up to 5.0) or AUTHENTICATION -LOGON-> READY (5.1+).
//! READY -RUN-> STREAMING -PULL/DISCARD (last batch)-> READY.
//! READY -BEGIN-> TX_READY -RUN-> TX_STREAMING (several streams, qid 0, 1, ...) -last stream
//! done-> TX_READY -COMMIT/ROLLBACK-> READY. COMMIT/ROLLBACK with streams still open is
//! accepted: COMMIT discards them first, ROLLBACK drops them.
//! Any FAILURE -> FAILED: everything but RESET/GOODBYE is IGNORED. [`Session::interrupt`] ->
//! INTERRUPTED: likewise, until the RESET that caused it. RESET -> READY (after
//! `Backend::reset`). GOODBYE, a failed HELLO/LOGON, a protocol violation -> DEFUNCT (close).
//!
//! Wrong-state RUN/BEGIN/PULL/DISCARD/COMMIT/ROLLBACK/ROUTE/LOGOFF get FAILURE
//! `Request.Invalid` and go to FAILED (friendlier than closing, like Neo4j). Anything before
//! authentication completes other than HELLO/LOGON/GOODBYE, and HELLO/LOGON afterwards, is a
//! protocol violation: FAILURE, then close.
//!
//! # Response guarantees
//!
//! One summary per request, in request order. HELLO SUCCESS: `server`, `connection_id`, and
//! `hints: {}` from 4.3. RUN SUCCESS: `fields`, `t_first`, `qid` inside an explicit transaction.
//! PULL/DISCARD SUCCESS: always `has_more` (pymgclient crashes without it); the last one also
//! `t_last` and the backend's summary. FAILURE layout per version (see
//! [`crate::message::write_failure`]).

mod backend;

pub use backend::{Backend, Failure, RecordWriter, RunSuccess, StreamEnd};

use crate::chunk::{begin_message, finish_message};
use crate::handshake::{
    detect_foreign_protocol, parse_handshake_capped, HandshakeOutcome, Version, HANDSHAKE_LEN,
};
use crate::message::{
    decode_request, signature, write_failure, write_ignored, write_success, Request,
};
use crate::packstream::{Packer, Value};
use crate::Error;

/// The qid of an autocommit stream (clients address it as -1 or omit the qid).
pub const AUTOCOMMIT_QID: i64 = 0;

/// The default HELLO `server` agent. Java drivers require the `Neo4j/` prefix.
pub const DEFAULT_SERVER_AGENT: &str = "Neo4j/5.2.0 compatible graph database server - ferrograph";

/// Per-connection settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// HELLO SUCCESS `server`; must start with `Neo4j/`.
    pub server_agent: String,
    /// HELLO SUCCESS `connection_id`, e.g. "bolt-17".
    pub connection_id: String,
    /// The newest version the handshake may choose (e.g. 4.4 to test the 4.x encodings).
    pub max_version: Version,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            server_agent: DEFAULT_SERVER_AGENT.to_owned(),
            connection_id: "bolt-0".to_owned(),
            max_version: Version::LATEST,
        }
    }
}

/// The Bolt server states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for HELLO (called CONNECTED before 5.1).
    Negotiation,
    /// 5.1+: HELLO done, waiting for LOGON.
    Authentication,
    Ready,
    /// An autocommit result is open.
    Streaming,
    /// In an explicit transaction, no result open.
    TxReady,
    /// In an explicit transaction with at least one result open.
    TxStreaming,
    /// A request failed; waiting for RESET.
    Failed,
    /// A RESET is queued; waiting for it.
    Interrupted,
    /// Closed.
    Defunct,
}

/// What the I/O layer does after handing the session a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "on Close, write the output and close the connection"]
pub enum SessionAction {
    Continue,
    /// Write any pending output, then close the connection.
    Close,
    /// The request is not answered yet (a `PULL {n: -1}` paused, see [`StreamEnd::paused`]):
    /// write the pending output, and once the client has taken it, handle the same message
    /// again before anything after it.
    Again,
}

/// One connection's protocol state. See the module doc for the calling order.
#[derive(Debug)]
pub struct Session {
    version: Version,
    config: SessionConfig,
    state: State,
    /// Interrupts (queued RESETs) not yet matched by a handled RESET.
    interrupts: u32,
    /// Open streams of the explicit transaction, in RUN order.
    tx_streams: Vec<i64>,
    /// The next qid to hand out in the explicit transaction.
    next_qid: i64,
    /// The qid of the last successful RUN (what qid -1 means).
    last_qid: i64,
}

impl Session {
    /// A session for a connection that negotiated `version` (see also
    /// [`handle_handshake`](Self::handle_handshake)).
    pub fn new(version: Version, config: SessionConfig) -> Self {
        Session {
            version,
            config,
            state: State::Negotiation,
            interrupts: 0,
            tx_streams: Vec::new(),
            next_qid: 0,
            last_qid: AUTOCOMMIT_QID,
        }
    }

    /// Negotiates from the client's 20 handshake bytes (capped at `config.max_version`), appends
    /// the reply to `out`, and returns the session. On `Err` close the connection after writing
    /// `out` (empty for [`Error::BadMagic`], `00 00 00 00` for [`Error::NoCommonVersion`]).
    pub fn handle_handshake(
        bytes: &[u8; HANDSHAKE_LEN],
        config: SessionConfig,
        out: &mut Vec<u8>,
    ) -> Result<Session, Error> {
        let outcome = parse_handshake_capped(bytes, config.max_version);
        if let Some(reply) = outcome.reply() {
            out.extend_from_slice(&reply);
        }
        match outcome {
            HandshakeOutcome::Agreed(version) => Ok(Session::new(version, config)),
            HandshakeOutcome::BadMagic => {
                let found = [bytes[0], bytes[1], bytes[2], bytes[3]];
                Err(Error::BadMagic {
                    found,
                    foreign: detect_foreign_protocol(&found),
                })
            }
            HandshakeOutcome::NoCommonVersion => {
                let mut proposals = [0u32; 4];
                for (p, slot) in proposals.iter_mut().zip(bytes[4..].chunks_exact(4)) {
                    *p = u32::from_be_bytes([slot[0], slot[1], slot[2], slot[3]]);
                }
                Err(Error::NoCommonVersion { proposals })
            }
        }
    }

    pub fn version(&self) -> Version {
        self.version
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    pub fn is_closed(&self) -> bool {
        self.state == State::Defunct
    }

    /// Marks a RESET as queued: every request handled before that RESET is IGNORED (RESET jumps
    /// the queue). Call once per RESET read from the wire, before handling the messages that
    /// precede it. Has no effect before authentication completes or after close.
    pub fn interrupt(&mut self) {
        if matches!(
            self.state,
            State::Negotiation | State::Authentication | State::Defunct
        ) {
            return;
        }
        self.interrupts = self.interrupts.saturating_add(1);
        self.state = State::Interrupted;
    }

    /// Decodes and handles one message payload, appending the responses to `out`. Never panics
    /// on malformed input.
    pub fn handle_message<B: Backend + ?Sized>(
        &mut self,
        payload: &[u8],
        backend: &mut B,
        out: &mut Vec<u8>,
    ) -> SessionAction {
        if self.state == State::Defunct {
            return SessionAction::Close;
        }
        match decode_request(payload, self.version) {
            Ok(request) => self.handle_request(request, backend, out),
            Err(error) => self.handle_input_error(&error, backend, out),
        }
    }

    /// Reports input that could not be decoded: a malformed message or a framing error such as
    /// an oversized message. Fatal errors get FAILURE and close; a well-formed message with bad
    /// fields gets FAILURE (or IGNORED while FAILED) and the session continues.
    pub fn handle_input_error<B: Backend + ?Sized>(
        &mut self,
        error: &Error,
        backend: &mut B,
        out: &mut Vec<u8>,
    ) -> SessionAction {
        let failure = Failure::new(error.bolt_code(), error.to_string());
        match self.state {
            State::Defunct => SessionAction::Close,
            _ if error.is_fatal() => self.violation(failure, backend, out),
            State::Negotiation | State::Authentication => self.violation(failure, backend, out),
            State::Failed | State::Interrupted => {
                write_ignored(out);
                SessionAction::Continue
            }
            _ => self.fail(failure, out),
        }
    }

    /// The connection ended (EOF or an I/O error): roll back and drop everything.
    pub fn handle_eof<B: Backend + ?Sized>(&mut self, backend: &mut B) {
        self.close(backend);
    }

    /// Handles an already decoded request (what [`handle_message`](Self::handle_message) does
    /// after decoding).
    pub fn handle_request<B: Backend + ?Sized>(
        &mut self,
        request: Request,
        backend: &mut B,
        out: &mut Vec<u8>,
    ) -> SessionAction {
        use State::*;
        match (self.state, request) {
            (Defunct, _) => SessionAction::Close,
            (_, Request::Goodbye) => {
                self.close(backend);
                SessionAction::Close
            }
            (_, Request::Reset) => self.handle_reset(backend, out),
            (Failed | Interrupted, _) => {
                write_ignored(out);
                SessionAction::Continue
            }
            (Negotiation, Request::Hello { extra }) => self.handle_hello(&extra, backend, out),
            (Authentication, Request::Logon { auth }) => self.handle_logon(&auth, backend, out),
            (_, request @ (Request::Hello { .. } | Request::Logon { .. }))
            | (Negotiation | Authentication, request) => {
                let message = format!(
                    "{} is not allowed in state {:?}",
                    request.name(),
                    self.state
                );
                self.violation(Failure::request_invalid(message), backend, out)
            }
            (_, Request::Logoff) => self.handle_logoff(backend, out),
            (
                _,
                Request::Run {
                    query,
                    params,
                    extra,
                },
            ) => self.handle_run(&query, params, &extra, backend, out),
            (_, Request::Begin { extra }) => self.handle_begin(&extra, backend, out),
            (_, Request::Commit) => self.handle_commit(backend, out),
            (_, Request::Rollback) => self.handle_rollback(backend, out),
            (_, Request::Pull { n, qid }) => self.handle_stream(n, qid, true, backend, out),
            (_, Request::Discard { n, qid }) => self.handle_stream(n, qid, false, backend, out),
            (
                _,
                Request::Route {
                    routing,
                    bookmarks,
                    db,
                    imp_user: _,
                },
            ) => {
                if self.state != Ready {
                    return self.fail_invalid("ROUTE is only allowed outside transactions", out);
                }
                match backend.route(&routing, &bookmarks, db.as_deref()) {
                    Ok(metadata) => {
                        write_success_owned(out, &metadata, &[]);
                        SessionAction::Continue
                    }
                    Err(failure) => self.backend_failed(failure, backend, out),
                }
            }
            (_, Request::Telemetry { .. }) => {
                write_success(out, &[]);
                SessionAction::Continue
            }
        }
    }

    fn handle_hello<B: Backend + ?Sized>(
        &mut self,
        extra: &[(String, Value)],
        backend: &mut B,
        out: &mut Vec<u8>,
    ) -> SessionAction {
        backend.hello(extra);
        if self.version.has_logon() {
            self.state = State::Authentication;
        } else {
            if let Err(failure) = backend.authenticate(extra) {
                write_failure(out, self.version, &failure);
                self.close(backend);
                return SessionAction::Close;
            }
            self.state = State::Ready;
        }
        let mut metadata = vec![
            ("server", Value::from(self.config.server_agent.as_str())),
            ("connection_id", self.config.connection_id.as_str().into()),
        ];
        if self.version.has_route() {
            metadata.push(("hints", Value::Map(Vec::new())));
        }
        write_success(out, &metadata);
        SessionAction::Continue
    }

    fn handle_logon<B: Backend + ?Sized>(
        &mut self,
        auth: &[(String, Value)],
        backend: &mut B,
        out: &mut Vec<u8>,
    ) -> SessionAction {
        match backend.authenticate(auth) {
            Ok(()) => {
                self.state = State::Ready;
                write_success(out, &[]);
                SessionAction::Continue
            }
            Err(failure) => {
                write_failure(out, self.version, &failure);
                self.close(backend);
                SessionAction::Close
            }
        }
    }

    fn handle_logoff<B: Backend + ?Sized>(
        &mut self,
        backend: &mut B,
        out: &mut Vec<u8>,
    ) -> SessionAction {
        if self.state != State::Ready {
            return self.fail_invalid("LOGOFF is only allowed outside transactions", out);
        }
        backend.logoff();
        self.state = State::Authentication;
        write_success(out, &[]);
        SessionAction::Continue
    }

    fn handle_reset<B: Backend + ?Sized>(
        &mut self,
        backend: &mut B,
        out: &mut Vec<u8>,
    ) -> SessionAction {
        match self.state {
            State::Defunct => return SessionAction::Close,
            State::Negotiation => {
                let failure = Failure::request_invalid("RESET is not allowed before HELLO");
                return self.violation(failure, backend, out);
            }
            // LOGON is still required; nothing to reset beyond the backend.
            State::Authentication => backend.reset(),
            _ => {
                backend.reset();
                self.clear_streams();
                self.interrupts = self.interrupts.saturating_sub(1);
                self.state = if self.interrupts > 0 {
                    State::Interrupted
                } else {
                    State::Ready
                };
            }
        }
        write_success(out, &[]);
        SessionAction::Continue
    }

    fn handle_run<B: Backend + ?Sized>(
        &mut self,
        query: &str,
        params: Vec<(String, Value)>,
        extra: &[(String, Value)],
        backend: &mut B,
        out: &mut Vec<u8>,
    ) -> SessionAction {
        let explicit = match self.state {
            State::Ready => false,
            State::TxReady | State::TxStreaming => true,
            _ => {
                return self.fail_invalid(
                    "a result is still open: PULL or DISCARD it before the next RUN",
                    out,
                )
            }
        };
        let qid = if explicit {
            self.next_qid
        } else {
            AUTOCOMMIT_QID
        };
        match backend.run(query, params, extra, explicit, qid) {
            Ok(success) => {
                write_run_success(out, &success, explicit.then_some(qid));
                self.last_qid = qid;
                if explicit {
                    self.next_qid += 1;
                    self.tx_streams.push(qid);
                    self.state = State::TxStreaming;
                } else {
                    self.state = State::Streaming;
                }
                SessionAction::Continue
            }
            Err(failure) => self.backend_failed(failure, backend, out),
        }
    }

    fn handle_begin<B: Backend + ?Sized>(
        &mut self,
        extra: &[(String, Value)],
        backend: &mut B,
        out: &mut Vec<u8>,
    ) -> SessionAction {
        match self.state {
            State::Ready => {}
            State::Streaming => {
                return self.fail_invalid("a result is still open: consume it before BEGIN", out)
            }
            _ => return self.fail_invalid("a transaction is already open", out),
        }
        match backend.begin(extra) {
            Ok(()) => {
                self.clear_streams();
                self.state = State::TxReady;
                write_success(out, &[]);
                SessionAction::Continue
            }
            Err(failure) => self.backend_failed(failure, backend, out),
        }
    }

    fn handle_commit<B: Backend + ?Sized>(
        &mut self,
        backend: &mut B,
        out: &mut Vec<u8>,
    ) -> SessionAction {
        if !matches!(self.state, State::TxReady | State::TxStreaming) {
            return self.fail_invalid("COMMIT without an open transaction", out);
        }
        // Lenient: results the client left open are consumed (their effects are part of the
        // transaction) before committing.
        for qid in std::mem::take(&mut self.tx_streams) {
            if let Err(failure) = backend.discard(qid, -1) {
                return self.backend_failed(failure, backend, out);
            }
        }
        match backend.commit() {
            Ok(metadata) => {
                self.clear_streams();
                self.state = State::Ready;
                write_success_owned(out, &metadata, &[]);
                SessionAction::Continue
            }
            Err(failure) => self.backend_failed(failure, backend, out),
        }
    }

    fn handle_rollback<B: Backend + ?Sized>(
        &mut self,
        backend: &mut B,
        out: &mut Vec<u8>,
    ) -> SessionAction {
        if !matches!(self.state, State::TxReady | State::TxStreaming) {
            return self.fail_invalid("ROLLBACK without an open transaction", out);
        }
        match backend.rollback() {
            Ok(()) => {
                self.clear_streams();
                self.state = State::Ready;
                write_success(out, &[]);
                SessionAction::Continue
            }
            Err(failure) => self.backend_failed(failure, backend, out),
        }
    }

    /// PULL (`pull`) or DISCARD.
    fn handle_stream<B: Backend + ?Sized>(
        &mut self,
        n: i64,
        qid: i64,
        pull: bool,
        backend: &mut B,
        out: &mut Vec<u8>,
    ) -> SessionAction {
        if n == 0 || n < -1 {
            return self.fail_invalid(
                format!("the number of records n must be -1 or positive, got {n}"),
                out,
            );
        }
        let qid = match self.state {
            State::Streaming if qid == -1 || qid == AUTOCOMMIT_QID => AUTOCOMMIT_QID,
            State::TxStreaming => {
                let qid = if qid == -1 { self.last_qid } else { qid };
                if !self.tx_streams.contains(&qid) {
                    return self.fail_invalid(format!("no open result with qid {qid}"), out);
                }
                qid
            }
            State::Streaming => {
                return self.fail_invalid(format!("no open result with qid {qid}"), out)
            }
            _ => return self.fail_invalid("there is no open result to PULL or DISCARD", out),
        };
        let result = if pull {
            backend.pull(qid, n, &mut RecordWriter::new(out, self.version))
        } else {
            backend.discard(qid, n)
        };
        let end = match result {
            Ok(end) => end,
            Err(failure) => return self.backend_failed(failure, backend, out),
        };
        if end.paused && pull && n == -1 {
            return SessionAction::Again;
        }
        if end.has_more {
            write_has_more(out);
            return SessionAction::Continue;
        }
        write_stream_end(out, &end);
        if self.state == State::Streaming {
            self.state = State::Ready;
        } else {
            self.tx_streams.retain(|&open| open != qid);
            if self.tx_streams.is_empty() {
                self.state = State::TxReady;
            }
        }
        SessionAction::Continue
    }

    fn clear_streams(&mut self) {
        self.tx_streams.clear();
        self.next_qid = 0;
        self.last_qid = AUTOCOMMIT_QID;
    }

    /// FAILURE, then FAILED until RESET.
    fn fail(&mut self, failure: Failure, out: &mut Vec<u8>) -> SessionAction {
        write_failure(out, self.version, &failure);
        self.state = State::Failed;
        SessionAction::Continue
    }

    /// A backend call failed: FAILURE, or IGNORED if a RESET cut it short (the RESET then
    /// clears the INTERRUPTED state as usual).
    fn backend_failed<B: Backend + ?Sized>(
        &mut self,
        failure: Failure,
        backend: &mut B,
        out: &mut Vec<u8>,
    ) -> SessionAction {
        if backend.take_interrupt() {
            write_ignored(out);
            self.state = State::Interrupted;
            SessionAction::Continue
        } else {
            self.fail(failure, out)
        }
    }

    fn fail_invalid(&mut self, message: impl Into<String>, out: &mut Vec<u8>) -> SessionAction {
        self.fail(Failure::request_invalid(message), out)
    }

    /// FAILURE, then close.
    fn violation<B: Backend + ?Sized>(
        &mut self,
        failure: Failure,
        backend: &mut B,
        out: &mut Vec<u8>,
    ) -> SessionAction {
        write_failure(out, self.version, &failure);
        self.close(backend);
        SessionAction::Close
    }

    fn close<B: Backend + ?Sized>(&mut self, backend: &mut B) {
        if !matches!(self.state, State::Negotiation | State::Defunct) {
            backend.reset();
        }
        self.clear_streams();
        self.interrupts = 0;
        self.state = State::Defunct;
    }
}

/// Keys the session writes itself in RUN and PULL/DISCARD summaries.
const RESERVED_KEYS: [&str; 5] = ["fields", "t_first", "qid", "has_more", "t_last"];

fn is_reserved(key: &str) -> bool {
    RESERVED_KEYS.contains(&key)
}

/// SUCCESS with `fixed` entries followed by `metadata` minus reserved keys (when `fixed` is
/// non-empty, i.e. the session wrote its own).
fn write_success_owned(out: &mut Vec<u8>, metadata: &[(String, Value)], fixed: &[(&str, Value)]) {
    let keep = |k: &str| fixed.is_empty() || !is_reserved(k);
    let extra = metadata.iter().filter(|(k, _)| keep(k));
    let start = begin_message(out);
    let mut p = Packer::new(out);
    p.write_struct_header(signature::SUCCESS, 1);
    p.write_map_header(fixed.len() + extra.clone().count());
    for (key, value) in fixed {
        p.write_string(key);
        p.write_value(value);
    }
    for (key, value) in extra {
        p.write_string(key);
        p.write_value(value);
    }
    finish_message(out, start);
}

fn write_run_success(out: &mut Vec<u8>, success: &RunSuccess, qid: Option<i64>) {
    let extra = success.metadata.iter().filter(|(k, _)| !is_reserved(k));
    let start = begin_message(out);
    let mut p = Packer::new(out);
    p.write_struct_header(signature::SUCCESS, 1);
    p.write_map_header(2 + usize::from(qid.is_some()) + extra.clone().count());
    p.write_string("fields");
    p.write_list_header(success.fields.len());
    for field in &success.fields {
        p.write_string(field);
    }
    p.write_string("t_first");
    p.write_int(success.t_first_ms);
    if let Some(qid) = qid {
        p.write_string("qid");
        p.write_int(qid);
    }
    for (key, value) in extra {
        p.write_string(key);
        p.write_value(value);
    }
    finish_message(out, start);
}

/// `SUCCESS {has_more: true}`, pre-encoded: it is sent once per batch of a long stream.
fn write_has_more(out: &mut Vec<u8>) {
    out.extend_from_slice(&[
        0x00, 0x0D, 0xB1, 0x70, 0xA1, 0x88, b'h', b'a', b's', b'_', b'm', b'o', b'r', b'e', 0xC3,
        0x00, 0x00,
    ]);
}

fn write_stream_end(out: &mut Vec<u8>, end: &StreamEnd) {
    write_success_owned(
        out,
        &end.metadata,
        &[
            ("has_more", Value::Bool(false)),
            ("t_last", Value::Int(end.t_last_ms)),
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Response;

    fn decode(out: &[u8]) -> Response {
        let mut d = crate::ChunkDecoder::new();
        d.feed(out);
        Response::decode(&d.poll_message().unwrap().unwrap()).unwrap()
    }

    #[test]
    fn pre_encoded_has_more_matches_the_encoder() {
        let mut fast = Vec::new();
        write_has_more(&mut fast);
        let mut slow = Vec::new();
        write_success(&mut slow, &[("has_more", Value::Bool(true))]);
        assert_eq!(fast, slow);
    }

    #[test]
    fn summaries_drop_reserved_backend_keys() {
        let mut out = Vec::new();
        let end = StreamEnd::done(
            7,
            vec![
                ("has_more".into(), true.into()),
                ("type".into(), "r".into()),
            ],
        );
        write_stream_end(&mut out, &end);
        assert_eq!(
            decode(&out),
            Response::Success(vec![
                ("has_more".into(), false.into()),
                ("t_last".into(), 7.into()),
                ("type".into(), "r".into()),
            ])
        );
        let mut out = Vec::new();
        let run = RunSuccess {
            fields: vec!["a".into()],
            t_first_ms: 1,
            metadata: vec![("qid".into(), 9.into()), ("db".into(), "x".into())],
        };
        write_run_success(&mut out, &run, Some(2));
        assert_eq!(
            decode(&out),
            Response::Success(vec![
                ("fields".into(), Value::List(vec!["a".into()])),
                ("t_first".into(), 1.into()),
                ("qid".into(), 2.into()),
                ("db".into(), "x".into()),
            ])
        );
    }
}
