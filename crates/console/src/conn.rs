//! One blocking Bolt connection (plain TCP or TLS) over the sans-IO client in `bolt::client`.
//!
//! The console speaks Bolt 4.4 (4.3 and 4.1 as fallbacks), the versions mgclient and so
//! mgconsole offer: date-times then come on the local wall clock, which is what is printed.
//! Each query is one auto-commit RUN + PULL of every record; a FAILURE is followed by a RESET
//! so the session can go on.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use bolt::client::{self, Auth, ResponseDecoder};
use bolt::packstream::map_get;
use bolt::{Response, Value, Version};

use crate::tls;

/// How long connecting (TCP connect, handshake, HELLO) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest response message accepted.
const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;

pub struct ConnectOptions {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: String,
    pub use_ssl: bool,
    pub user_agent: String,
}

/// What a query's run produced.
#[derive(Debug, Default)]
pub struct QueryResult {
    pub header: Vec<String>,
    pub rows: Vec<Vec<Value>>,
    /// The summary's `stats` map (only integer entries).
    pub stats: Vec<(String, i64)>,
    /// The first notification's severity (upper case) and title.
    pub notification: Option<(String, String)>,
    pub elapsed: Duration,
}

#[derive(Debug)]
pub enum QueryError {
    /// The server refused the query; the session goes on.
    Query(String),
    /// The connection is broken (I/O, protocol): reconnect or give up.
    Fatal(String),
}

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

pub struct Connection {
    stream: Box<dyn Stream>,
    decoder: ResponseDecoder,
    buf: Vec<u8>,
    out: Vec<u8>,
    pub version: Version,
}

fn fatal(e: impl std::fmt::Display) -> QueryError {
    QueryError::Fatal(e.to_string())
}

impl Connection {
    /// Connects, negotiates the version and authenticates. The error says what failed.
    pub fn connect(opts: &ConnectOptions) -> Result<Connection, String> {
        let addrs: Vec<_> = (opts.host.as_str(), opts.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {}: {e}", opts.host))?
            .collect();
        let mut last_error = format!("no address for {}", opts.host);
        let mut tcp = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last_error = format!("{addr}: {e}"),
            }
        }
        let tcp = tcp.ok_or(last_error)?;
        let _ = tcp.set_nodelay(true);
        tcp.set_read_timeout(Some(CONNECT_TIMEOUT))
            .map_err(|e| e.to_string())?;
        let stream: Box<dyn Stream> = if opts.use_ssl {
            Box::new(tls::connect(
                &opts.host,
                tcp.try_clone().map_err(|e| e.to_string())?,
            )?)
        } else {
            Box::new(tcp.try_clone().map_err(|e| e.to_string())?)
        };
        let mut conn = Connection {
            stream,
            decoder: ResponseDecoder::with_max_message_bytes(MAX_MESSAGE_BYTES),
            buf: vec![0; 64 * 1024],
            out: Vec::new(),
            version: Version::V4_4,
        };
        conn.handshake(opts).map_err(|e| match e {
            QueryError::Query(m) | QueryError::Fatal(m) => m,
        })?;
        // Queries may run as long as they like once connected.
        tcp.set_read_timeout(None).map_err(|e| e.to_string())?;
        Ok(conn)
    }

    fn handshake(&mut self, opts: &ConnectOptions) -> Result<(), QueryError> {
        self.stream
            .write_all(&client::handshake(&[
                (Version::V4_4, 1),
                (Version::V4_1, 0),
            ]))
            .map_err(fatal)?;
        let mut reply = [0u8; 4];
        self.stream.read_exact(&mut reply).map_err(|e| {
            fatal(format!(
                "no Bolt handshake reply ({e}); is this a Bolt server{}?",
                if opts.use_ssl { " with TLS" } else { "" }
            ))
        })?;
        self.version = client::parse_version_reply(reply)
            .ok_or_else(|| fatal("the server supports none of Bolt 4.1, 4.3, 4.4"))?;
        let auth = if opts.username.is_empty() {
            Auth::None
        } else {
            Auth::Basic {
                user: &opts.username,
                password: &opts.password,
            }
        };
        let n = client::write_hello(&mut self.out, self.version, &opts.user_agent, &auth);
        self.flush()?;
        for _ in 0..n {
            match self.next()? {
                Response::Success(_) => {}
                Response::Failure(meta) => return Err(fatal(failure_message(&meta))),
                other => return Err(fatal(format!("unexpected answer to HELLO: {other:?}"))),
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), QueryError> {
        self.stream.write_all(&self.out).map_err(fatal)?;
        self.stream.flush().map_err(fatal)?;
        self.out.clear();
        Ok(())
    }

    fn next(&mut self) -> Result<Response, QueryError> {
        loop {
            if let Some(r) = self.decoder.poll_response().map_err(fatal)? {
                return Ok(r);
            }
            let n = match self.stream.read(&mut self.buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(fatal(e)),
            };
            if n == 0 {
                return Err(fatal("the server closed the connection"));
            }
            self.decoder.feed(&self.buf[..n]);
        }
    }

    /// Runs `query` in its own auto-commit transaction and collects every record.
    pub fn run(&mut self, query: &str) -> Result<QueryResult, QueryError> {
        let start = Instant::now();
        client::write_run(&mut self.out, query, &[], &[]);
        client::write_pull(&mut self.out, -1, None);
        self.flush()?;
        let mut result = QueryResult::default();
        match self.next()? {
            Response::Success(meta) => {
                if let Some(Value::List(fields)) = map_get(&meta, "fields") {
                    result.header = fields
                        .iter()
                        .map(|f| match f {
                            Value::String(s) => s.clone(),
                            other => crate::render::value_to_string(other),
                        })
                        .collect();
                }
            }
            Response::Failure(meta) => {
                // The PULL is IGNORED; RESET clears the failure.
                let _ = self.next()?;
                return Err(self.reset_after(&meta));
            }
            other => return Err(fatal(format!("unexpected answer to RUN: {other:?}"))),
        }
        loop {
            match self.next()? {
                Response::Record(values) => result.rows.push(values),
                Response::Success(meta) => {
                    read_summary(&meta, &mut result);
                    break;
                }
                Response::Failure(meta) => return Err(self.reset_after(&meta)),
                Response::Ignored => return Err(fatal("the server ignored the PULL")),
            }
        }
        result.elapsed = start.elapsed();
        Ok(result)
    }

    fn reset_after(&mut self, meta: &[(String, Value)]) -> QueryError {
        client::write_reset(&mut self.out);
        if let Err(e) = self.flush() {
            return e;
        }
        match self.next() {
            Ok(Response::Success(_)) => QueryError::Query(failure_message(meta)),
            Ok(other) => fatal(format!("unexpected answer to RESET: {other:?}")),
            Err(e) => e,
        }
    }

    /// Says GOODBYE (best effort: the connection is being dropped anyway).
    pub fn close(mut self) {
        client::write_goodbye(&mut self.out);
        let _ = self.flush();
    }
}

/// The FAILURE's `message` (mgclient reports just that).
fn failure_message(meta: &[(String, Value)]) -> String {
    match map_get(meta, "message") {
        Some(Value::String(m)) => m.clone(),
        _ => "the server reported a failure without a message".into(),
    }
}

fn read_summary(meta: &[(String, Value)], result: &mut QueryResult) {
    if let Some(Value::Map(stats)) = map_get(meta, "stats") {
        result.stats = stats
            .iter()
            .filter_map(|(k, v)| match v {
                Value::Int(i) => Some((k.clone(), *i)),
                _ => None,
            })
            .collect();
    }
    if let Some(Value::List(list)) = map_get(meta, "notifications") {
        if let Some(Value::Map(n)) = list.first() {
            let text = |k: &str| match map_get(n, k) {
                Some(Value::String(s)) => s.clone(),
                _ => String::new(),
            };
            let mut title = text("title");
            if title.is_empty() {
                title = text("code");
            }
            result.notification = Some((text("severity").to_uppercase(), title));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_stats_and_first_notification() {
        let meta = vec![
            (
                "stats".to_string(),
                Value::Map(vec![
                    ("nodes-created".into(), 2.into()),
                    ("contains-updates".into(), true.into()),
                ]),
            ),
            (
                "notifications".to_string(),
                Value::List(vec![
                    Value::Map(vec![
                        ("severity".into(), "warning".into()),
                        ("code".into(), "SyncReplicationFailure".into()),
                        ("title".into(), "A replica did not confirm".into()),
                    ]),
                    Value::Map(vec![("severity".into(), "INFO".into())]),
                ]),
            ),
        ];
        let mut r = QueryResult::default();
        read_summary(&meta, &mut r);
        assert_eq!(r.stats, vec![("nodes-created".to_string(), 2)]);
        assert_eq!(
            r.notification,
            Some(("WARNING".into(), "A replica did not confirm".into()))
        );
        let mut r = QueryResult::default();
        read_summary(
            &[(
                "notifications".into(),
                Value::List(vec![Value::Map(vec![
                    ("severity".into(), "INFO".into()),
                    ("code".into(), "Only.Code".into()),
                ])]),
            )],
            &mut r,
        );
        assert_eq!(r.notification, Some(("INFO".into(), "Only.Code".into())));
    }

    #[test]
    fn failure_messages() {
        let meta = vec![
            (
                "code".to_string(),
                "Neo.ClientError.Statement.SyntaxError".into(),
            ),
            ("message".to_string(), "Variable `x` not defined.".into()),
        ];
        assert_eq!(failure_message(&meta), "Variable `x` not defined.");
        assert!(failure_message(&[]).contains("without a message"));
    }
}
