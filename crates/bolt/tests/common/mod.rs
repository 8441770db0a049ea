//! Test support: a tiny fake database behind the `Backend` trait, and a connection driver that
//! follows the calling order documented in `bolt::session`.
#![allow(dead_code)]

use std::collections::BTreeMap;

use bolt::client::{self, ResponseDecoder};
use bolt::packstream::map_get;
use bolt::session::{Backend, Failure, RecordWriter, RunSuccess, StreamEnd};
use bolt::{
    is_reset, ChunkDecoder, Response, Session, SessionAction, SessionConfig, Value, Version,
};

/// Queries the fake understands:
/// * `RETURN <int>`: one column `x`, one row.
/// * `RANGE <n>`: column `i`, rows 1..=n.
/// * `CREATE <name>`: no columns, no rows; a write that becomes visible on commit.
/// * `FAIL_PULL <n>`: rows 1..=n, but every pull fails after writing one row.
/// * `SLOW <n>`: rows 1..=n; a pull writes one row and then stops as if a RESET had arrived
///   (the interrupt check fired).
/// * `ECHO`: one row holding the parameter values in order (columns = parameter names).
/// * anything else: `Neo.ClientError.Statement.SyntaxError`.
#[derive(Debug, Default)]
pub struct FakeBackend {
    /// Every call, in order, as a short string.
    pub calls: Vec<String>,
    /// Names created by committed transactions.
    pub committed: Vec<String>,
    /// Required password (scheme basic); `None` accepts anything.
    pub password: Option<String>,
    pending: Vec<String>,
    in_tx: bool,
    interrupted: bool,
    streams: BTreeMap<i64, Stream>,
}

#[derive(Debug)]
struct Stream {
    rows: Vec<Vec<Value>>,
    next: usize,
    explicit: bool,
    fail_pull: bool,
    slow: bool,
}

impl FakeBackend {
    pub fn with_password(password: &str) -> Self {
        FakeBackend {
            password: Some(password.to_owned()),
            ..Self::default()
        }
    }

    pub fn open_streams(&self) -> usize {
        self.streams.len()
    }

    fn finish(&mut self, qid: i64) -> StreamEnd {
        let stream = self
            .streams
            .remove(&qid)
            .expect("session pulled an unknown qid");
        let mut metadata = vec![("type".to_owned(), Value::from("rw"))];
        if !stream.explicit {
            self.committed.append(&mut self.pending);
            metadata.push(("bookmark".to_owned(), "fg:1".into()));
        }
        StreamEnd::done(3, metadata)
    }
}

fn syntax_error(query: &str) -> Failure {
    Failure::new(Failure::SYNTAX_ERROR, format!("Invalid input in `{query}`"))
}

impl Backend for FakeBackend {
    fn hello(&mut self, extra: &[(String, Value)]) {
        let agent = map_get(extra, "user_agent").and_then(Value::as_str);
        self.calls.push(format!("hello {}", agent.unwrap_or("?")));
    }

    fn authenticate(&mut self, auth: &[(String, Value)]) -> Result<(), Failure> {
        self.calls.push("authenticate".into());
        let Some(password) = &self.password else {
            return Ok(());
        };
        let scheme = map_get(auth, "scheme").and_then(Value::as_str);
        let credentials = map_get(auth, "credentials").and_then(Value::as_str);
        if scheme == Some("basic") && credentials == Some(password.as_str()) {
            Ok(())
        } else {
            Err(Failure::unauthorized(
                "The client is unauthorized due to authentication failure.",
            ))
        }
    }

    fn logoff(&mut self) {
        self.calls.push("logoff".into());
    }

    fn begin(&mut self, _extra: &[(String, Value)]) -> Result<(), Failure> {
        self.calls.push("begin".into());
        assert!(!self.in_tx, "session sent BEGIN inside a transaction");
        self.in_tx = true;
        Ok(())
    }

    fn run(
        &mut self,
        query: &str,
        params: Vec<(String, Value)>,
        _extra: &[(String, Value)],
        explicit: bool,
        qid: i64,
    ) -> Result<RunSuccess, Failure> {
        self.calls
            .push(format!("run {query} explicit={explicit} qid={qid}"));
        assert_eq!(explicit, self.in_tx, "explicit flag disagrees with BEGIN");
        assert!(
            !self.streams.contains_key(&qid),
            "qid {qid} reused while open"
        );
        let (word, arg) = query.split_once(' ').unwrap_or((query, ""));
        let number = arg.parse::<i64>();
        let (fields, rows, fail_pull) = match (word, number) {
            ("RETURN", Ok(x)) => (vec!["x".to_owned()], vec![vec![Value::Int(x)]], false),
            ("RANGE" | "SLOW", Ok(n)) => (
                vec!["i".to_owned()],
                (1..=n).map(|i| vec![Value::Int(i)]).collect(),
                false,
            ),
            ("FAIL_PULL", Ok(n)) => (
                vec!["i".to_owned()],
                (1..=n).map(|i| vec![Value::Int(i)]).collect(),
                true,
            ),
            ("CREATE", _) if !arg.is_empty() => {
                self.pending.push(arg.to_owned());
                (vec![], vec![], false)
            }
            ("ECHO", _) => {
                let (names, values): (Vec<String>, Vec<Value>) = params.into_iter().unzip();
                (names, vec![values], false)
            }
            _ => return Err(syntax_error(query)),
        };
        self.streams.insert(
            qid,
            Stream {
                rows,
                next: 0,
                explicit,
                fail_pull,
                slow: word == "SLOW",
            },
        );
        Ok(RunSuccess {
            fields,
            t_first_ms: 1,
            metadata: vec![],
        })
    }

    fn pull(
        &mut self,
        qid: i64,
        n: i64,
        records: &mut RecordWriter<'_>,
    ) -> Result<StreamEnd, Failure> {
        self.calls.push(format!("pull {qid} {n}"));
        let stream = self
            .streams
            .get_mut(&qid)
            .expect("session pulled an unknown qid");
        let limit = if n == -1 { usize::MAX } else { n as usize };
        let mut written = 0;
        while written < limit && stream.next < stream.rows.len() {
            records.write_record(&stream.rows[stream.next]);
            stream.next += 1;
            written += 1;
            if stream.slow {
                self.interrupted = true;
                return Err(Failure::new(
                    "Neo.TransientError.Transaction.Terminated",
                    "interrupted by RESET",
                ));
            }
            if stream.fail_pull {
                self.pending.clear();
                return Err(Failure::new(
                    "Neo.ClientError.Statement.ArithmeticError",
                    "/ by zero",
                ));
            }
        }
        if stream.next < stream.rows.len() {
            Ok(StreamEnd::more())
        } else {
            Ok(self.finish(qid))
        }
    }

    fn discard(&mut self, qid: i64, n: i64) -> Result<StreamEnd, Failure> {
        self.calls.push(format!("discard {qid} {n}"));
        let stream = self
            .streams
            .get_mut(&qid)
            .expect("session discarded an unknown qid");
        let left = stream.rows.len() - stream.next;
        if n == -1 || n as usize >= left {
            Ok(self.finish(qid))
        } else {
            stream.next += n as usize;
            Ok(StreamEnd::more())
        }
    }

    fn commit(&mut self) -> Result<Vec<(String, Value)>, Failure> {
        self.calls.push("commit".into());
        assert!(self.in_tx, "COMMIT outside a transaction");
        assert!(self.streams.is_empty(), "COMMIT with open streams");
        self.in_tx = false;
        self.committed.append(&mut self.pending);
        Ok(vec![("bookmark".into(), "fg:2".into())])
    }

    fn rollback(&mut self) -> Result<(), Failure> {
        self.calls.push("rollback".into());
        self.in_tx = false;
        self.pending.clear();
        self.streams.clear();
        Ok(())
    }

    fn reset(&mut self) {
        self.calls.push("reset".into());
        self.in_tx = false;
        self.pending.clear();
        self.streams.clear();
    }

    fn take_interrupt(&mut self) -> bool {
        std::mem::take(&mut self.interrupted)
    }

    fn route(
        &mut self,
        routing: &[(String, Value)],
        _bookmarks: &[String],
        db: Option<&str>,
    ) -> Result<Vec<(String, Value)>, Failure> {
        self.calls.push(format!("route {}", db.unwrap_or("-")));
        let address = map_get(routing, "address").cloned().unwrap_or(Value::Null);
        let server = |role: &str| {
            Value::map([
                ("addresses", Value::List(vec![address.clone()])),
                ("role", role.into()),
            ])
        };
        Ok(vec![(
            "rt".into(),
            Value::map([
                ("ttl", 300.into()),
                ("db", "neo4j".into()),
                (
                    "servers",
                    Value::List(vec![server("WRITE"), server("READ"), server("ROUTE")]),
                ),
            ]),
        )])
    }
}

/// A server-side connection driven exactly as the `bolt::session` doc prescribes.
pub struct Conn {
    pub session: Session,
    pub backend: FakeBackend,
    pub closed: bool,
    chunks: ChunkDecoder,
    responses: ResponseDecoder,
}

impl Conn {
    /// Handshakes with the given client proposals; panics if no version is agreed.
    pub fn open(proposals: &[(Version, u8)], config: SessionConfig, backend: FakeBackend) -> Conn {
        let mut out = Vec::new();
        let session = Session::handle_handshake(&client::handshake(proposals), config, &mut out)
            .expect("handshake failed");
        assert_eq!(out, session.version().to_bytes());
        Conn {
            session,
            backend,
            closed: false,
            chunks: ChunkDecoder::new(),
            responses: ResponseDecoder::new(),
        }
    }

    /// A connection at exactly `version`.
    pub fn at(version: Version) -> Conn {
        Conn::open(
            &[(version, 0)],
            SessionConfig::default(),
            FakeBackend::default(),
        )
    }

    /// A connection at `version` that has completed HELLO (and LOGON on 5.1+).
    pub fn ready(version: Version) -> Conn {
        let mut conn = Conn::at(version);
        let mut out = Vec::new();
        client::write_hello(&mut out, version, "test/1", &client::Auth::None);
        let responses = conn.send(&out);
        assert!(responses.iter().all(Response::is_success), "{responses:?}");
        conn
    }

    /// Delivers client bytes; returns the server's responses (raw bytes are checked to hold no
    /// empty chunk).
    pub fn send(&mut self, bytes: &[u8]) -> Vec<Response> {
        let out = self.send_raw(bytes);
        self.responses.feed(&out);
        let mut responses = Vec::new();
        while let Some(response) = self.responses.poll_response().expect("server sent garbage") {
            responses.push(response);
        }
        responses
    }

    /// Delivers client bytes; returns the raw server output.
    pub fn send_raw(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        if self.closed {
            return out;
        }
        self.chunks.feed(bytes);
        let mut batch = Vec::new();
        loop {
            match self.chunks.poll_message() {
                Ok(Some(payload)) => batch.push(payload),
                Ok(None) => break,
                Err(error) => {
                    let action =
                        self.session
                            .handle_input_error(&error, &mut self.backend, &mut out);
                    assert_eq!(action, SessionAction::Close);
                    self.closed = true;
                    return out;
                }
            }
        }
        for _ in batch.iter().filter(|p| is_reset(p)) {
            self.session.interrupt();
        }
        for payload in batch {
            if self
                .session
                .handle_message(&payload, &mut self.backend, &mut out)
                == SessionAction::Close
            {
                self.closed = true;
                break;
            }
        }
        assert_no_empty_chunk(&out);
        out
    }

    pub fn eof(&mut self) {
        self.session.handle_eof(&mut self.backend);
        self.closed = true;
    }
}

/// Walks the chunk structure of server output and fails on an empty chunk that is not the end
/// marker of a non-empty message.
pub fn assert_no_empty_chunk(mut bytes: &[u8]) {
    let mut in_message = false;
    while bytes.len() >= 2 {
        let size = usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
        bytes = &bytes[2..];
        if size == 0 {
            assert!(in_message, "server emitted an empty (NOOP) chunk");
            in_message = false;
        } else {
            in_message = true;
            bytes = &bytes[size..];
        }
    }
    assert!(
        bytes.is_empty() && !in_message,
        "server output ends mid-message"
    );
}

/// Shorthands for building request bytes.
pub fn run(query: &str) -> Vec<u8> {
    let mut out = Vec::new();
    client::write_run(&mut out, query, &[], &[]);
    out
}

pub fn pull(n: i64, qid: Option<i64>) -> Vec<u8> {
    let mut out = Vec::new();
    client::write_pull(&mut out, n, qid);
    out
}

pub fn discard(n: i64, qid: Option<i64>) -> Vec<u8> {
    let mut out = Vec::new();
    client::write_discard(&mut out, n, qid);
    out
}

pub fn begin() -> Vec<u8> {
    let mut out = Vec::new();
    client::write_begin(&mut out, &[]);
    out
}

pub fn commit() -> Vec<u8> {
    let mut out = Vec::new();
    client::write_commit(&mut out);
    out
}

pub fn rollback() -> Vec<u8> {
    let mut out = Vec::new();
    client::write_rollback(&mut out);
    out
}

pub fn reset() -> Vec<u8> {
    let mut out = Vec::new();
    client::write_reset(&mut out);
    out
}

pub fn goodbye() -> Vec<u8> {
    let mut out = Vec::new();
    client::write_goodbye(&mut out);
    out
}

/// Summary kinds of a response list, e.g. `["SUCCESS", "RECORD", "IGNORED"]`.
pub fn kinds(responses: &[Response]) -> Vec<&'static str> {
    responses
        .iter()
        .map(|r| match r {
            Response::Success(_) => "SUCCESS",
            Response::Record(_) => "RECORD",
            Response::Ignored => "IGNORED",
            Response::Failure(_) => "FAILURE",
        })
        .collect()
}
