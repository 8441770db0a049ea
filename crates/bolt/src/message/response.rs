//! Server responses: encoding (server side) and decoding (client side).

use super::failure::Failure;
use super::signature as sig;
use crate::chunk::{begin_message, finish_message};
use crate::handshake::Version;
use crate::packstream::{map_get, Packer, Unpacker, Value};
use crate::Error;

/// A server message.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    Success(Vec<(String, Value)>),
    Record(Vec<Value>),
    Ignored,
    Failure(Vec<(String, Value)>),
}

impl Response {
    /// Appends the framed message to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = begin_message(out);
        let mut p = Packer::new(out);
        match self {
            Response::Success(meta) | Response::Failure(meta) => {
                let signature = if matches!(self, Response::Success(_)) {
                    sig::SUCCESS
                } else {
                    sig::FAILURE
                };
                p.write_struct_header(signature, 1);
                p.write_map(meta.iter().map(|(k, v)| (k, v)));
            }
            Response::Record(values) => {
                p.write_struct_header(sig::RECORD, 1);
                p.write_list_header(values.len());
                for v in values {
                    p.write_value(v);
                }
            }
            Response::Ignored => p.write_struct_header(sig::IGNORED, 0),
        }
        finish_message(out, start);
    }

    /// Decodes one message payload.
    pub fn decode(payload: &[u8]) -> Result<Response, Error> {
        let mut u = Unpacker::new(payload);
        let (signature, fields) = u.read_struct_header()?;
        let (name, expected) = match signature {
            sig::SUCCESS => ("SUCCESS", 1),
            sig::RECORD => ("RECORD", 1),
            sig::IGNORED => ("IGNORED", 0),
            sig::FAILURE => ("FAILURE", 1),
            signature => return Err(Error::UnknownMessage { signature }),
        };
        if fields != expected {
            return Err(Error::FieldCount {
                message: name,
                expected: if expected == 1 { "1" } else { "0" },
                actual: fields,
            });
        }
        let response = match signature {
            sig::IGNORED => Response::Ignored,
            sig::RECORD => match u.read_value()? {
                Value::List(values) => Response::Record(values),
                _ => {
                    return Err(Error::InvalidField {
                        message: name,
                        field: "data",
                        expected: "a list",
                    })
                }
            },
            _ => match u.read_value()? {
                Value::Map(meta) if signature == sig::SUCCESS => Response::Success(meta),
                Value::Map(meta) => Response::Failure(meta),
                _ => {
                    return Err(Error::InvalidField {
                        message: name,
                        field: "metadata",
                        expected: "a map",
                    })
                }
            },
        };
        u.expect_end()?;
        Ok(response)
    }

    /// A metadata entry of a SUCCESS or FAILURE.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Response::Success(meta) | Response::Failure(meta) => map_get(meta, key),
            _ => None,
        }
    }

    pub fn is_success(&self) -> bool {
        matches!(self, Response::Success(_))
    }

    /// A summary ends a request's responses; a RECORD does not.
    pub fn is_summary(&self) -> bool {
        !matches!(self, Response::Record(_))
    }
}

/// Appends a framed SUCCESS with the given metadata.
pub fn write_success(out: &mut Vec<u8>, metadata: &[(&str, Value)]) {
    let start = begin_message(out);
    let mut p = Packer::new(out);
    p.write_struct_header(sig::SUCCESS, 1);
    p.write_map(metadata.iter().map(|(k, v)| (k, v)));
    finish_message(out, start);
}

/// Appends a framed IGNORED.
pub fn write_ignored(out: &mut Vec<u8>) {
    out.extend_from_slice(&[0x00, 0x02, 0xB0, sig::IGNORED, 0x00, 0x00]);
}

/// Appends a framed FAILURE in the layout `version` expects:
///
/// * before 5.7: `{code, message}`;
/// * 5.7+: `{neo4j_code, message, gql_status, description, diagnostic_record: {OPERATION: "",
///   OPERATION_CODE: "0", CURRENT_SCHEMA: "/", _classification}}` (Python replaces the whole
///   error with a generic one if any of the first four is missing).
pub fn write_failure(out: &mut Vec<u8>, version: Version, failure: &Failure) {
    let start = begin_message(out);
    let mut p = Packer::new(out);
    p.write_struct_header(sig::FAILURE, 1);
    if version.has_gql_failures() {
        let (gql_status, description) = failure.gql_status();
        p.write_map_header(5);
        p.write_string("neo4j_code");
        p.write_string(&failure.code);
        p.write_string("message");
        p.write_string(&failure.message);
        p.write_string("gql_status");
        p.write_string(gql_status);
        p.write_string("description");
        p.write_string(description);
        p.write_string("diagnostic_record");
        p.write_map_header(4);
        p.write_string("OPERATION");
        p.write_string("");
        p.write_string("OPERATION_CODE");
        p.write_string("0");
        p.write_string("CURRENT_SCHEMA");
        p.write_string("/");
        p.write_string("_classification");
        p.write_string(failure.classification().gql_name());
    } else {
        p.write_map_header(2);
        p.write_string("code");
        p.write_string(&failure.code);
        p.write_string("message");
        p.write_string(&failure.message);
    }
    finish_message(out, start);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::ChunkDecoder;

    fn decode_framed(bytes: &[u8]) -> Response {
        let mut d = ChunkDecoder::new();
        d.feed(bytes);
        Response::decode(&d.poll_message().unwrap().unwrap()).unwrap()
    }

    /// Wire examples of bolt.md §2.
    #[test]
    fn golden_responses() {
        let mut out = Vec::new();
        write_success(&mut out, &[]);
        assert_eq!(out, [0x00, 0x03, 0xB1, 0x70, 0xA0, 0x00, 0x00]);

        let mut out = Vec::new();
        write_success(&mut out, &[("fields", Value::List(vec!["x".into()]))]);
        assert_eq!(
            out,
            [
                0x00, 0x0D, 0xB1, 0x70, 0xA1, 0x86, b'f', b'i', b'e', b'l', b'd', b's', 0x91, 0x81,
                b'x', 0x00, 0x00
            ]
        );

        let mut out = Vec::new();
        Response::Record(vec![1.into()]).encode(&mut out);
        assert_eq!(out, [0x00, 0x04, 0xB1, 0x71, 0x91, 0x01, 0x00, 0x00]);

        let mut out = Vec::new();
        write_success(&mut out, &[("has_more", false.into())]);
        assert_eq!(
            out,
            [
                0x00, 0x0D, 0xB1, 0x70, 0xA1, 0x88, b'h', b'a', b's', b'_', b'm', b'o', b'r', b'e',
                0xC2, 0x00, 0x00
            ]
        );

        let mut out = Vec::new();
        write_ignored(&mut out);
        assert_eq!(out, [0x00, 0x02, 0xB0, 0x7E, 0x00, 0x00]);
        let mut encoded = Vec::new();
        Response::Ignored.encode(&mut encoded);
        assert_eq!(encoded, out);
    }

    #[test]
    fn failure_layout_per_version() {
        let failure = Failure::new(Failure::SYNTAX_ERROR, "Invalid input");
        let mut out = Vec::new();
        write_failure(&mut out, Version::V5_6, &failure);
        assert_eq!(
            decode_framed(&out),
            Response::Failure(vec![
                ("code".into(), Failure::SYNTAX_ERROR.into()),
                ("message".into(), "Invalid input".into()),
            ])
        );

        let mut out = Vec::new();
        write_failure(&mut out, Version::V5_7, &failure);
        let response = decode_framed(&out);
        assert_eq!(
            response.get("neo4j_code"),
            Some(&Failure::SYNTAX_ERROR.into())
        );
        assert_eq!(response.get("code"), None);
        assert_eq!(response.get("message"), Some(&"Invalid input".into()));
        assert_eq!(response.get("gql_status"), Some(&"42001".into()));
        assert!(response.get("description").is_some());
        let record = response.get("diagnostic_record").unwrap();
        assert_eq!(record.get("OPERATION"), Some(&"".into()));
        assert_eq!(record.get("OPERATION_CODE"), Some(&"0".into()));
        assert_eq!(record.get("CURRENT_SCHEMA"), Some(&"/".into()));
        assert_eq!(record.get("_classification"), Some(&"CLIENT_ERROR".into()));
    }

    #[test]
    fn decode_round_trip_and_errors() {
        for response in [
            Response::Success(vec![("a".into(), 1.into())]),
            Response::Record(vec![Value::Null, "x".into()]),
            Response::Ignored,
            Response::Failure(vec![]),
        ] {
            let mut out = Vec::new();
            response.encode(&mut out);
            assert_eq!(decode_framed(&out), response);
        }
        assert!(Response::decode(&[0xB1, 0x71, 0x01]).is_err());
        assert!(Response::decode(&[0xB1, 0x70, 0x90]).is_err());
        assert!(Response::decode(&[0xB0, 0x70]).is_err());
        assert!(Response::decode(&[0xB0, 0x01]).is_err());
        assert!(Response::decode(&[0xB0, 0x7E, 0x00]).is_err());
    }
}
