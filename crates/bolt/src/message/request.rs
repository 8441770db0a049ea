//! Decoding client requests.

use super::signature as sig;
use crate::handshake::Version;
use crate::packstream::{Unpacker, Value};
use crate::Error;

/// A decoded client message.
///
/// Map-typed fields that a client sent as `null` decode as empty maps; unknown keys are kept (the
/// session and backend ignore what they do not understand).
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// `extra`: user_agent, routing, ...; up to 5.0 also the credentials (scheme, principal,
    /// credentials).
    Hello {
        extra: Vec<(String, Value)>,
    },
    /// 5.1+: the auth token (scheme, principal, credentials, ...).
    Logon {
        auth: Vec<(String, Value)>,
    },
    /// 5.1+.
    Logoff,
    Goodbye,
    Reset,
    Run {
        query: String,
        params: Vec<(String, Value)>,
        /// bookmarks, tx_timeout, tx_metadata, mode, db, imp_user, notification filters.
        extra: Vec<(String, Value)>,
    },
    Begin {
        extra: Vec<(String, Value)>,
    },
    Commit,
    Rollback,
    /// `n`: -1 = all, otherwise the count (validated by the session, not here). `qid`: -1 = the
    /// last RUN's stream (also when the client omitted it).
    Discard {
        n: i64,
        qid: i64,
    },
    Pull {
        n: i64,
        qid: i64,
    },
    /// 4.3+. The third field is a db string-or-null on 4.3 and a map `{db, imp_user}` from 4.4;
    /// both forms are accepted in every version.
    Route {
        routing: Vec<(String, Value)>,
        bookmarks: Vec<String>,
        db: Option<String>,
        imp_user: Option<String>,
    },
    /// 5.4+. 0 managed tx, 1 explicit tx, 2 implicit, 3 execute_query.
    Telemetry {
        api: i64,
    },
}

impl Request {
    /// The message name, for logs and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Request::Hello { .. } => "HELLO",
            Request::Logon { .. } => "LOGON",
            Request::Logoff => "LOGOFF",
            Request::Goodbye => "GOODBYE",
            Request::Reset => "RESET",
            Request::Run { .. } => "RUN",
            Request::Begin { .. } => "BEGIN",
            Request::Commit => "COMMIT",
            Request::Rollback => "ROLLBACK",
            Request::Discard { .. } => "DISCARD",
            Request::Pull { .. } => "PULL",
            Request::Route { .. } => "ROUTE",
            Request::Telemetry { .. } => "TELEMETRY",
        }
    }
}

/// Whether `payload` is a RESET message. Cheap enough to run on every message as it is read.
pub fn is_reset(payload: &[u8]) -> bool {
    payload == [0xB0, sig::RESET]
}

/// Decodes one message payload (as produced by [`crate::chunk::ChunkDecoder`]) sent by a client
/// that negotiated `version`.
pub fn decode_request(payload: &[u8], version: Version) -> Result<Request, Error> {
    let mut unpacker = Unpacker::new(payload);
    let (signature, field_count) = unpacker.read_struct_header()?;
    let (name, expected, gate): (&'static str, usize, Option<bool>) = match signature {
        sig::HELLO => ("HELLO", 1, None),
        sig::GOODBYE => ("GOODBYE", 0, None),
        sig::RESET => ("RESET", 0, None),
        sig::RUN => ("RUN", 3, None),
        sig::BEGIN => ("BEGIN", 1, None),
        sig::COMMIT => ("COMMIT", 0, None),
        sig::ROLLBACK => ("ROLLBACK", 0, None),
        sig::DISCARD => ("DISCARD", 1, None),
        sig::PULL => ("PULL", 1, None),
        sig::ROUTE => ("ROUTE", 3, Some(version.has_route())),
        sig::TELEMETRY => ("TELEMETRY", 1, Some(version.has_telemetry())),
        sig::LOGON => ("LOGON", 1, Some(version.has_logon())),
        sig::LOGOFF => ("LOGOFF", 0, Some(version.has_logon())),
        signature => return Err(Error::UnknownMessage { signature }),
    };
    if gate == Some(false) {
        return Err(Error::UnsupportedMessage {
            message: name,
            version,
        });
    }
    if field_count != expected {
        return Err(Error::FieldCount {
            message: name,
            expected: FIELD_COUNTS[expected],
            actual: field_count,
        });
    }
    let mut fields = Vec::with_capacity(field_count);
    for _ in 0..field_count {
        fields.push(unpacker.read_value()?);
    }
    unpacker.expect_end()?;
    let mut fields = fields.into_iter();
    let mut next = || fields.next().unwrap_or(Value::Null);

    Ok(match signature {
        sig::HELLO => Request::Hello {
            extra: map_or_empty(next(), name, "extra")?,
        },
        sig::GOODBYE => Request::Goodbye,
        sig::RESET => Request::Reset,
        sig::RUN => {
            let query = match next() {
                Value::String(s) => s,
                _ => return Err(invalid(name, "query", "a string")),
            };
            Request::Run {
                query,
                params: map_or_empty(next(), name, "parameters")?,
                extra: map_or_empty(next(), name, "extra")?,
            }
        }
        sig::BEGIN => Request::Begin {
            extra: map_or_empty(next(), name, "extra")?,
        },
        sig::COMMIT => Request::Commit,
        sig::ROLLBACK => Request::Rollback,
        sig::DISCARD | sig::PULL => {
            let extra = map_or_empty(next(), name, "extra")?;
            let n = match crate::packstream::map_get(&extra, "n") {
                Some(Value::Int(n)) => *n,
                _ => return Err(invalid(name, "n", "an integer")),
            };
            let qid = match crate::packstream::map_get(&extra, "qid") {
                None | Some(Value::Null) => -1,
                Some(Value::Int(qid)) => *qid,
                Some(_) => return Err(invalid(name, "qid", "an integer")),
            };
            if signature == sig::PULL {
                Request::Pull { n, qid }
            } else {
                Request::Discard { n, qid }
            }
        }
        sig::ROUTE => decode_route(next(), next(), next())?,
        sig::TELEMETRY => match next() {
            Value::Int(api) => Request::Telemetry { api },
            _ => return Err(invalid(name, "api", "an integer")),
        },
        sig::LOGON => Request::Logon {
            auth: map_or_empty(next(), name, "auth")?,
        },
        _ => Request::Logoff,
    })
}

/// Field counts as text, indexed by count (for [`Error::FieldCount`]).
const FIELD_COUNTS: [&str; 4] = ["0", "1", "2", "3"];

fn invalid(message: &'static str, field: &'static str, expected: &'static str) -> Error {
    Error::InvalidField {
        message,
        field,
        expected,
    }
}

fn map_or_empty(
    value: Value,
    message: &'static str,
    field: &'static str,
) -> Result<Vec<(String, Value)>, Error> {
    match value {
        Value::Map(m) => Ok(m),
        Value::Null => Ok(Vec::new()),
        _ => Err(invalid(message, field, "a map")),
    }
}

fn optional_string(value: Option<Value>, field: &'static str) -> Result<Option<String>, Error> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid("ROUTE", field, "a string or null")),
    }
}

fn decode_route(routing: Value, bookmarks: Value, third: Value) -> Result<Request, Error> {
    let routing = map_or_empty(routing, "ROUTE", "routing")?;
    let bookmarks = match bookmarks {
        Value::Null => Vec::new(),
        Value::List(items) => items
            .into_iter()
            .map(|b| match b {
                Value::String(s) => Ok(s),
                _ => Err(invalid("ROUTE", "bookmarks", "a list of strings")),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(invalid("ROUTE", "bookmarks", "a list of strings")),
    };
    let (db, imp_user) = match third {
        Value::Map(mut extra) => {
            // Last entry wins, as for any map; decoded maps hold no duplicates anyway.
            let mut take = |key: &str| {
                extra
                    .iter()
                    .rposition(|(k, _)| k == key)
                    .map(|i| extra.swap_remove(i).1)
            };
            let db = take("db");
            let imp_user = take("imp_user");
            (
                optional_string(db, "db")?,
                optional_string(imp_user, "imp_user")?,
            )
        }
        other => (optional_string(Some(other), "db")?, None),
    };
    Ok(Request::Route {
        routing,
        bookmarks,
        db,
        imp_user,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], version: Version) -> Result<Request, Error> {
        decode_request(bytes, version)
    }

    /// Payloads of the wire examples in bolt.md §2.
    #[test]
    fn golden_requests() {
        let hello = [
            0xB1, 0x01, 0xA1, 0x8A, b'u', b's', b'e', b'r', b'_', b'a', b'g', b'e', b'n', b't',
            0x83, b'x', b'/', b'1',
        ];
        assert_eq!(
            decode(&hello, Version::V5_8),
            Ok(Request::Hello {
                extra: vec![("user_agent".into(), "x/1".into())]
            })
        );
        let run = [
            0xB3, 0x10, 0x88, b'R', b'E', b'T', b'U', b'R', b'N', b' ', b'1', 0xA0, 0xA0,
        ];
        assert_eq!(
            decode(&run, Version::V4_4),
            Ok(Request::Run {
                query: "RETURN 1".into(),
                params: vec![],
                extra: vec![]
            })
        );
        let pull = [0xB1, 0x3F, 0xA1, 0x81, b'n', 0xFF];
        assert_eq!(
            decode(&pull, Version::V4_1),
            Ok(Request::Pull { n: -1, qid: -1 })
        );
        assert_eq!(
            decode(&[0xB1, 0x11, 0xA0], Version::V5_0),
            Ok(Request::Begin { extra: vec![] })
        );
        assert_eq!(decode(&[0xB0, 0x0F], Version::V4_0), Ok(Request::Reset));
        assert_eq!(decode(&[0xB0, 0x02], Version::V4_0), Ok(Request::Goodbye));
        assert_eq!(decode(&[0xB0, 0x12], Version::V4_0), Ok(Request::Commit));
        assert_eq!(decode(&[0xB0, 0x13], Version::V4_0), Ok(Request::Rollback));
        assert!(is_reset(&[0xB0, 0x0F]));
        assert!(!is_reset(&[0xB0, 0x02]));
    }

    #[test]
    fn discard_with_qid() {
        // DISCARD {n: -1, qid: 0}
        let bytes = [
            0xB1, 0x2F, 0xA2, 0x81, b'n', 0xFF, 0x83, b'q', b'i', b'd', 0x00,
        ];
        assert_eq!(
            decode(&bytes, Version::V4_4),
            Ok(Request::Discard { n: -1, qid: 0 })
        );
        let missing_n = [0xB1, 0x3F, 0xA0];
        assert_eq!(
            decode(&missing_n, Version::V4_4),
            Err(Error::InvalidField {
                message: "PULL",
                field: "n",
                expected: "an integer"
            })
        );
    }

    #[test]
    fn version_gates() {
        let logon = [0xB1, 0x6A, 0xA0];
        assert_eq!(
            decode(&logon, Version::V5_1),
            Ok(Request::Logon { auth: vec![] })
        );
        assert_eq!(
            decode(&logon, Version::V5_0),
            Err(Error::UnsupportedMessage {
                message: "LOGON",
                version: Version::V5_0
            })
        );
        assert!(decode(&[0xB0, 0x6B], Version::V4_4).is_err());
        assert_eq!(decode(&[0xB0, 0x6B], Version::V5_2), Ok(Request::Logoff));
        let telemetry = [0xB1, 0x54, 0x00];
        assert!(decode(&telemetry, Version::V5_3).is_err());
        assert_eq!(
            decode(&telemetry, Version::V5_4),
            Ok(Request::Telemetry { api: 0 })
        );
        let bad_api = [0xB1, 0x54, 0x81, b'x'];
        assert!(matches!(
            decode(&bad_api, Version::V5_4),
            Err(Error::InvalidField { .. })
        ));
        let route = [0xB3, 0x66, 0xA0, 0x90, 0xC0];
        assert!(decode(&route, Version::V4_2).is_err());
    }

    #[test]
    fn route_forms() {
        // 4.3: db as a string.
        let v43 = [0xB3, 0x66, 0xA0, 0x91, 0x81, b'b', 0x82, b'd', b'b'];
        assert_eq!(
            decode(&v43, Version::V4_3),
            Ok(Request::Route {
                routing: vec![],
                bookmarks: vec!["b".into()],
                db: Some("db".into()),
                imp_user: None
            })
        );
        // 4.4+: {db: "x", imp_user: null}
        let v44 = [
            0xB3, 0x66, 0xA0, 0x90, 0xA2, 0x82, b'd', b'b', 0x81, b'x', 0x88, b'i', b'm', b'p',
            b'_', b'u', b's', b'e', b'r', 0xC0,
        ];
        assert_eq!(
            decode(&v44, Version::V5_8),
            Ok(Request::Route {
                routing: vec![],
                bookmarks: vec![],
                db: Some("x".into()),
                imp_user: None
            })
        );
        let bad_bookmarks = [0xB3, 0x66, 0xA0, 0x91, 0x01, 0xA0];
        assert!(decode(&bad_bookmarks, Version::V5_0).is_err());
    }

    #[test]
    fn malformed_messages() {
        assert_eq!(
            decode(&[0xB0, 0x0E], Version::V4_4),
            Err(Error::UnknownMessage { signature: 0x0E })
        );
        assert!(matches!(
            decode(&[0xB1, 0x10, 0x80], Version::V4_4),
            Err(Error::FieldCount { .. })
        ));
        assert!(matches!(
            decode(&[0xB0, 0x0F, 0x00], Version::V4_4),
            Err(Error::TrailingBytes { count: 1 })
        ));
        assert!(matches!(
            decode(&[0xB3, 0x10, 0x01, 0xA0, 0xA0], Version::V4_4),
            Err(Error::InvalidField { field: "query", .. })
        ));
        assert!(matches!(
            decode(&[0xB1, 0x01, 0x01], Version::V4_4),
            Err(Error::InvalidField { field: "extra", .. })
        ));
        assert!(decode(&[], Version::V4_4).is_err());
        assert!(decode(&[0x01], Version::V4_4).is_err());
        // Null maps are accepted as empty.
        assert_eq!(
            decode(&[0xB3, 0x10, 0x80, 0xC0, 0xC0], Version::V4_4),
            Ok(Request::Run {
                query: String::new(),
                params: vec![],
                extra: vec![]
            })
        );
    }
}
