//! The crate's one error type.
//!
//! Every decoder in this crate (PackStream, chunking, messages, graph structures) reports
//! malformed input as an [`Error`]; none of them panics on input. The session turns an error
//! into a Bolt FAILURE via [`Error::bolt_code`] and decides whether the connection survives via
//! [`Error::is_fatal`].

use crate::handshake::{ForeignProtocol, Version};

/// Everything that can go wrong while decoding Bolt input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input ended inside a value: `needed` bytes were required, `have` were left.
    #[error("truncated input: needed {needed} bytes, {have} left")]
    Truncated { needed: usize, have: usize },
    /// A byte that is not a PackStream marker (reserved, or STRUCT_8/16 from old PackStream).
    #[error("invalid PackStream marker 0x{marker:02X} at offset {offset}")]
    InvalidMarker { marker: u8, offset: usize },
    /// A string whose bytes are not UTF-8.
    #[error("invalid UTF-8 in the string at offset {offset}")]
    InvalidUtf8 { offset: usize },
    /// A map key that is not a string.
    #[error("map key at offset {offset} is not a string")]
    NonStringKey { offset: usize },
    /// Lists, maps and structures nested deeper than the decoder allows.
    #[error("values nested deeper than {max_depth} levels")]
    TooDeep { max_depth: usize },
    /// Bytes left over after a complete message.
    #[error("{count} unexpected bytes after the end of the message")]
    TrailingBytes { count: usize },
    /// A message larger than the configured limit (checked before buffering it).
    #[error("message of at least {size_bytes} bytes exceeds the limit of {max_bytes} bytes")]
    MessageTooLarge { size_bytes: usize, max_bytes: usize },
    /// A message payload whose top level is not a structure.
    #[error("a message must be a structure, found marker 0x{marker:02X}")]
    NotAMessage { marker: u8 },
    /// A message signature this side does not know.
    #[error("unknown message signature 0x{signature:02X}")]
    UnknownMessage { signature: u8 },
    /// A known message that the negotiated version does not have (e.g. LOGON on 4.4).
    #[error("{message} is not part of Bolt {version}")]
    UnsupportedMessage {
        message: &'static str,
        version: Version,
    },
    /// A message with the wrong number of fields.
    #[error("{message} takes {expected} fields, got {actual}")]
    FieldCount {
        message: &'static str,
        expected: &'static str,
        actual: usize,
    },
    /// A message field of the wrong type or out of range.
    #[error("{message}: `{field}` must be {expected}")]
    InvalidField {
        message: &'static str,
        field: &'static str,
        expected: &'static str,
    },
    /// A value structure (Node, Date, ...) with the wrong shape.
    #[error("structure 0x{tag:02X} with {fields} fields is malformed: {reason}")]
    InvalidStruct {
        tag: u8,
        fields: usize,
        reason: &'static str,
    },
    /// A value structure tag this crate does not know.
    #[error("unknown structure tag 0x{tag:02X}")]
    UnknownStruct { tag: u8 },
    /// The first four bytes are not the Bolt magic; `foreign` says what they look like instead.
    /// The connection is closed without a reply.
    #[error("not a Bolt client: first bytes {found:02X?}{}", foreign.map(|f| format!(" ({f})")).unwrap_or_default())]
    BadMagic {
        found: [u8; 4],
        foreign: Option<ForeignProtocol>,
    },
    /// None of the client's four proposals (as sent, big-endian) names a version we speak (or
    /// one within the configured cap). `00 00 00 00` was replied; close the connection.
    #[error("no common Bolt version; the client proposed {proposals:08X?}")]
    NoCommonVersion { proposals: [u32; 4] },
    /// The value is not the kind of value the typed conversion expects.
    #[error("expected {expected}, found {found}")]
    UnexpectedValue {
        expected: &'static str,
        found: &'static str,
    },
}

impl Error {
    /// The Neo4j status code to report in a FAILURE caused by this error.
    ///
    /// Malformed bytes are `Request.InvalidFormat`; well-formed messages with wrong contents are
    /// `Request.Invalid`.
    pub fn bolt_code(&self) -> &'static str {
        match self {
            Error::Truncated { .. }
            | Error::InvalidMarker { .. }
            | Error::InvalidUtf8 { .. }
            | Error::NonStringKey { .. }
            | Error::TooDeep { .. }
            | Error::TrailingBytes { .. }
            | Error::MessageTooLarge { .. }
            | Error::NotAMessage { .. }
            | Error::UnknownMessage { .. }
            | Error::FieldCount { .. }
            | Error::BadMagic { .. }
            | Error::NoCommonVersion { .. } => "Neo.ClientError.Request.InvalidFormat",
            Error::UnsupportedMessage { .. }
            | Error::InvalidField { .. }
            | Error::InvalidStruct { .. }
            | Error::UnknownStruct { .. }
            | Error::UnexpectedValue { .. } => "Neo.ClientError.Request.Invalid",
        }
    }

    /// Whether the connection must be closed after reporting this error.
    ///
    /// Framing and PackStream damage leaves the byte stream in an unknown state, and an unknown or
    /// version-gated message is a protocol violation; both are fatal. A well-formed message with a
    /// bad field only fails the request (the session goes to FAILED and waits for RESET).
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            Error::InvalidField { .. }
                | Error::InvalidStruct { .. }
                | Error::UnknownStruct { .. }
                | Error::UnexpectedValue { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_split_format_from_content() {
        let format = Error::InvalidMarker {
            marker: 0xC4,
            offset: 3,
        };
        assert_eq!(format.bolt_code(), "Neo.ClientError.Request.InvalidFormat");
        assert!(format.is_fatal());
        let content = Error::InvalidField {
            message: "PULL",
            field: "n",
            expected: "an integer",
        };
        assert_eq!(content.bolt_code(), "Neo.ClientError.Request.Invalid");
        assert!(!content.is_fatal());
        let gated = Error::UnsupportedMessage {
            message: "LOGON",
            version: Version::new(4, 4),
        };
        assert!(gated.is_fatal());
        assert_eq!(gated.to_string(), "LOGON is not part of Bolt 4.4");
    }
}
