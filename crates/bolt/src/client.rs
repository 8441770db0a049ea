//! The client side, sans-IO: handshake bytes, request encoding, response decoding.
//!
//! Used by the bench tool, the console and tests. Every `write_*` function appends one framed
//! message to a caller-owned buffer, so pipelining N requests is N calls and one socket write.
//!
//! ```text
//! send handshake(&[(Version::V5_8, 8), (Version::V4_4, 2)]); read 4 bytes; parse_version_reply
//! write_hello(...) [+ LOGON on 5.1+]; write_run(...); write_pull(...); ... ; send
//! feed received bytes to ResponseDecoder; poll_response() until Ok(None)
//! ```

use crate::chunk::{begin_message, finish_message, ChunkDecoder, MessageStart};
use crate::handshake::{Version, HANDSHAKE_LEN, MAGIC};
use crate::message::{signature as sig, Request, Response};
use crate::packstream::{Packer, Value};
use crate::Error;

/// The 20 handshake bytes proposing up to four `(version, range)` slots in preference order;
/// `range` R offers `version.minor` down to `version.minor - R` of the same major. Unused slots
/// are zero. More than four proposals: the rest are ignored.
pub fn handshake(proposals: &[(Version, u8)]) -> [u8; HANDSHAKE_LEN] {
    let mut bytes = [0; HANDSHAKE_LEN];
    bytes[..4].copy_from_slice(&MAGIC);
    for (slot, (version, range)) in bytes[4..].chunks_exact_mut(4).zip(proposals) {
        slot.copy_from_slice(&[0, *range, version.minor, version.major]);
    }
    bytes
}

/// The server's 4-byte reply: the agreed version, or `None` for `00 00 00 00` (no match; the
/// server closes).
pub fn parse_version_reply(reply: [u8; 4]) -> Option<Version> {
    Version::from_reply(reply)
}

/// Credentials for HELLO (up to 5.0) or LOGON (5.1+).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth<'a> {
    /// `scheme: "none"`.
    None,
    /// `scheme: "basic"` with principal and credentials.
    Basic { user: &'a str, password: &'a str },
}

impl Auth<'_> {
    fn entries(&self) -> Vec<(&'static str, &str)> {
        match self {
            Auth::None => vec![("scheme", "none")],
            Auth::Basic { user, password } => vec![
                ("scheme", "basic"),
                ("principal", user),
                ("credentials", password),
            ],
        }
    }
}

fn start(out: &mut Vec<u8>, signature: u8, fields: usize) -> MessageStart {
    let start = begin_message(out);
    Packer::new(out).write_struct_header(signature, fields);
    start
}

fn write_str_map(p: &mut Packer<'_>, entries: &[(&str, &str)]) {
    p.write_map_header(entries.len());
    for (key, value) in entries {
        p.write_string(key);
        p.write_string(value);
    }
}

fn write_owned_map(p: &mut Packer<'_>, entries: &[(String, Value)]) {
    p.write_map(entries.iter().map(|(k, v)| (k, v)));
}

/// Writes HELLO, and on 5.1+ also LOGON with the credentials. Returns how many messages were
/// written (= how many summaries to expect).
pub fn write_hello(
    out: &mut Vec<u8>,
    version: Version,
    user_agent: &str,
    auth: &Auth<'_>,
) -> usize {
    let mut entries = vec![("user_agent", user_agent)];
    if !version.has_logon() {
        entries.extend(auth.entries());
    }
    let s = start(out, sig::HELLO, 1);
    write_str_map(&mut Packer::new(out), &entries);
    finish_message(out, s);
    if version.has_logon() {
        write_logon(out, auth);
        2
    } else {
        1
    }
}

/// LOGON (5.1+).
pub fn write_logon(out: &mut Vec<u8>, auth: &Auth<'_>) {
    let s = start(out, sig::LOGON, 1);
    write_str_map(&mut Packer::new(out), &auth.entries());
    finish_message(out, s);
}

pub fn write_run(
    out: &mut Vec<u8>,
    query: &str,
    params: &[(String, Value)],
    extra: &[(String, Value)],
) {
    let s = start(out, sig::RUN, 3);
    let mut p = Packer::new(out);
    p.write_string(query);
    write_owned_map(&mut p, params);
    write_owned_map(&mut p, extra);
    finish_message(out, s);
}

pub fn write_begin(out: &mut Vec<u8>, extra: &[(String, Value)]) {
    let s = start(out, sig::BEGIN, 1);
    write_owned_map(&mut Packer::new(out), extra);
    finish_message(out, s);
}

/// PULL `n` records (-1: all) of stream `qid` (`None`: the last RUN's).
pub fn write_pull(out: &mut Vec<u8>, n: i64, qid: Option<i64>) {
    write_stream_request(out, sig::PULL, n, qid);
}

/// DISCARD `n` records (-1: all) of stream `qid` (`None`: the last RUN's).
pub fn write_discard(out: &mut Vec<u8>, n: i64, qid: Option<i64>) {
    write_stream_request(out, sig::DISCARD, n, qid);
}

fn write_stream_request(out: &mut Vec<u8>, signature: u8, n: i64, qid: Option<i64>) {
    let s = start(out, signature, 1);
    let mut p = Packer::new(out);
    p.write_map_header(1 + usize::from(qid.is_some()));
    p.write_string("n");
    p.write_int(n);
    if let Some(qid) = qid {
        p.write_string("qid");
        p.write_int(qid);
    }
    finish_message(out, s);
}

fn write_empty(out: &mut Vec<u8>, signature: u8) {
    out.extend_from_slice(&[0x00, 0x02, 0xB0, signature, 0x00, 0x00]);
}

pub fn write_commit(out: &mut Vec<u8>) {
    write_empty(out, sig::COMMIT);
}

pub fn write_rollback(out: &mut Vec<u8>) {
    write_empty(out, sig::ROLLBACK);
}

pub fn write_reset(out: &mut Vec<u8>) {
    write_empty(out, sig::RESET);
}

pub fn write_goodbye(out: &mut Vec<u8>) {
    write_empty(out, sig::GOODBYE);
}

/// LOGOFF (5.1+).
pub fn write_logoff(out: &mut Vec<u8>) {
    write_empty(out, sig::LOGOFF);
}

/// TELEMETRY (5.4+).
pub fn write_telemetry(out: &mut Vec<u8>, api: i64) {
    let s = start(out, sig::TELEMETRY, 1);
    Packer::new(out).write_int(api);
    finish_message(out, s);
}

/// ROUTE (4.3+) in the layout of `version`: the database as a string-or-null on 4.3, inside an
/// `{db, imp_user}` map from 4.4.
pub fn write_route(
    out: &mut Vec<u8>,
    version: Version,
    routing: &[(String, Value)],
    bookmarks: &[String],
    db: Option<&str>,
    imp_user: Option<&str>,
) {
    let s = start(out, sig::ROUTE, 3);
    let mut p = Packer::new(out);
    write_owned_map(&mut p, routing);
    p.write_list_header(bookmarks.len());
    for bookmark in bookmarks {
        p.write_string(bookmark);
    }
    if version >= Version::V4_4 {
        let entries: Vec<(&str, &str)> = [("db", db), ("imp_user", imp_user)]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        write_str_map(&mut p, &entries);
    } else {
        match db {
            Some(db) => p.write_string(db),
            None => p.write_null(),
        }
    }
    finish_message(out, s);
}

/// Encodes any [`Request`] (the inverse of [`crate::message::decode_request`]).
pub fn write_request(out: &mut Vec<u8>, version: Version, request: &Request) {
    match request {
        Request::Hello { extra } => {
            let s = start(out, sig::HELLO, 1);
            write_owned_map(&mut Packer::new(out), extra);
            finish_message(out, s);
        }
        Request::Logon { auth } => {
            let s = start(out, sig::LOGON, 1);
            write_owned_map(&mut Packer::new(out), auth);
            finish_message(out, s);
        }
        Request::Logoff => write_logoff(out),
        Request::Goodbye => write_goodbye(out),
        Request::Reset => write_reset(out),
        Request::Run {
            query,
            params,
            extra,
        } => write_run(out, query, params, extra),
        Request::Begin { extra } => write_begin(out, extra),
        Request::Commit => write_commit(out),
        Request::Rollback => write_rollback(out),
        Request::Discard { n, qid } => write_discard(out, *n, Some(*qid)),
        Request::Pull { n, qid } => write_pull(out, *n, Some(*qid)),
        Request::Route {
            routing,
            bookmarks,
            db,
            imp_user,
        } => write_route(
            out,
            version,
            routing,
            bookmarks,
            db.as_deref(),
            imp_user.as_deref(),
        ),
        Request::Telemetry { api } => write_telemetry(out, *api),
    }
}

/// Turns received bytes into [`Response`]s.
#[derive(Debug, Default)]
pub struct ResponseDecoder {
    chunks: ChunkDecoder,
}

impl ResponseDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Responses larger than `max_message_bytes` (default 64 MiB) are an error.
    pub fn with_max_message_bytes(max_message_bytes: usize) -> Self {
        ResponseDecoder {
            chunks: ChunkDecoder::with_max_message_bytes(max_message_bytes),
        }
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        self.chunks.feed(bytes);
    }

    /// The next complete response, `Ok(None)` if more bytes are needed.
    pub fn poll_response(&mut self) -> Result<Option<Response>, Error> {
        match self.chunks.poll_message()? {
            Some(payload) => Response::decode(&payload).map(Some),
            None => Ok(None),
        }
    }

    /// The next complete response's raw payload, for callers that only count records or look
    /// at the signature (see [`response_signature`]).
    pub fn poll_payload(&mut self) -> Result<Option<Vec<u8>>, Error> {
        self.chunks.poll_message()
    }
}

/// The signature of a response payload (SUCCESS `70`, RECORD `71`, IGNORED `7E`, FAILURE `7F`)
/// without decoding it.
pub fn response_signature(payload: &[u8]) -> Option<u8> {
    match payload {
        [marker, signature, ..] if marker & 0xF0 == 0xB0 => Some(*signature),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::ChunkDecoder;
    use crate::message::decode_request;

    fn payloads(bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut d = ChunkDecoder::new();
        d.feed(bytes);
        std::iter::from_fn(|| d.poll_message().unwrap()).collect()
    }

    #[test]
    fn handshake_bytes() {
        let hs = handshake(&[(Version::V5_8, 8), (Version::V4_4, 2)]);
        assert_eq!(
            hs,
            [0x60, 0x60, 0xB0, 0x17, 0, 8, 8, 5, 0, 2, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            crate::handshake::parse_handshake(&hs),
            crate::handshake::HandshakeOutcome::Agreed(Version::V5_8)
        );
        assert_eq!(parse_version_reply([0, 0, 4, 4]), Some(Version::V4_4));
        assert_eq!(parse_version_reply([0; 4]), None);
    }

    /// The wire examples of bolt.md §2, byte for byte.
    #[test]
    fn golden_request_bytes() {
        let mut out = Vec::new();
        write_run(&mut out, "RETURN 1", &[], &[]);
        assert_eq!(
            out,
            [
                0x00, 0x0D, 0xB3, 0x10, 0x88, b'R', b'E', b'T', b'U', b'R', b'N', b' ', b'1', 0xA0,
                0xA0, 0x00, 0x00
            ]
        );
        let mut out = Vec::new();
        write_pull(&mut out, -1, None);
        assert_eq!(
            out,
            [0x00, 0x06, 0xB1, 0x3F, 0xA1, 0x81, b'n', 0xFF, 0x00, 0x00]
        );
        let mut out = Vec::new();
        write_begin(&mut out, &[]);
        assert_eq!(out, [0x00, 0x03, 0xB1, 0x11, 0xA0, 0x00, 0x00]);
        let mut out = Vec::new();
        write_reset(&mut out);
        write_goodbye(&mut out);
        write_commit(&mut out);
        assert_eq!(
            out,
            [0, 2, 0xB0, 0x0F, 0, 0, 0, 2, 0xB0, 0x02, 0, 0, 0, 2, 0xB0, 0x12, 0, 0]
        );
    }

    #[test]
    fn hello_carries_auth_only_before_5_1() {
        let auth = Auth::Basic {
            user: "u",
            password: "p",
        };
        let mut out = Vec::new();
        assert_eq!(write_hello(&mut out, Version::V4_4, "t/1", &auth), 1);
        let messages = payloads(&out);
        let Ok(Request::Hello { extra }) = decode_request(&messages[0], Version::V4_4) else {
            panic!("not a HELLO")
        };
        assert_eq!(
            crate::packstream::map_get(&extra, "principal"),
            Some(&"u".into())
        );

        let mut out = Vec::new();
        assert_eq!(write_hello(&mut out, Version::V5_8, "t/1", &auth), 2);
        let messages = payloads(&out);
        let Ok(Request::Hello { extra }) = decode_request(&messages[0], Version::V5_8) else {
            panic!("not a HELLO")
        };
        assert_eq!(extra.len(), 1);
        assert_eq!(
            decode_request(&messages[1], Version::V5_8),
            Ok(Request::Logon {
                auth: vec![
                    ("scheme".into(), "basic".into()),
                    ("principal".into(), "u".into()),
                    ("credentials".into(), "p".into()),
                ]
            })
        );
    }

    #[test]
    fn every_request_round_trips() {
        let requests = [
            Request::Hello {
                extra: vec![("user_agent".into(), "x".into())],
            },
            Request::Logon { auth: vec![] },
            Request::Logoff,
            Request::Goodbye,
            Request::Reset,
            Request::Run {
                query: "RETURN $x".into(),
                params: vec![("x".into(), Value::List(vec![1.into()]))],
                extra: vec![("mode".into(), "r".into())],
            },
            Request::Begin { extra: vec![] },
            Request::Commit,
            Request::Rollback,
            Request::Discard { n: -1, qid: 3 },
            Request::Pull { n: 1000, qid: -1 },
            Request::Route {
                routing: vec![("address".into(), "h:1".into())],
                bookmarks: vec!["b1".into()],
                db: Some("neo4j".into()),
                imp_user: None,
            },
            Request::Telemetry { api: 2 },
        ];
        for version in [Version::V5_4, Version::V5_8] {
            for request in &requests {
                let mut out = Vec::new();
                write_request(&mut out, version, request);
                let messages = payloads(&out);
                assert_eq!(messages.len(), 1);
                assert_eq!(decode_request(&messages[0], version).as_ref(), Ok(request));
            }
        }
        let route43 = &requests[11];
        let mut out = Vec::new();
        write_request(&mut out, Version::V4_3, route43);
        let messages = payloads(&out);
        assert_eq!(messages[0].last(), Some(&b'j'));
        assert_eq!(
            decode_request(&messages[0], Version::V4_3).as_ref(),
            Ok(route43)
        );
    }

    #[test]
    fn response_decoder_handles_fragments() {
        let mut wire = Vec::new();
        Response::Success(vec![("fields".into(), Value::List(vec![]))]).encode(&mut wire);
        Response::Record(vec![1.into()]).encode(&mut wire);
        Response::Ignored.encode(&mut wire);
        let mut decoder = ResponseDecoder::new();
        let mut got = Vec::new();
        for byte in &wire {
            decoder.feed(std::slice::from_ref(byte));
            while let Some(r) = decoder.poll_response().unwrap() {
                got.push(r);
            }
        }
        assert_eq!(got.len(), 3);
        assert_eq!(got[1], Response::Record(vec![1.into()]));
        assert_eq!(response_signature(&[0xB1, 0x71, 0x91, 0x01]), Some(0x71));
        assert_eq!(response_signature(&[0x01]), None);
    }
}
