//! Version negotiation: the 20-byte handshake that opens every Bolt connection.
//!
//! ```text
//! C: 60 60 B0 17                   magic
//! C: 00 RR mm MM  x 4              proposals in preference order: major MM, minors mm down to mm-RR
//! S: 00 00 mm MM                   the chosen version, or 00 00 00 00 and close
//! ```
//!
//! [`parse_handshake`] walks the slots in client order and, within a slot, picks the highest
//! supported minor in its range. Supported: 4.0–4.4, 5.0–5.4, 5.6–5.8 (5.5 is never negotiated by
//! any Neo4j server). The manifest marker `00 00 01 FF` (Bolt 6 era) reads as "255.1" and simply
//! matches nothing, as do unknown or filler slots. A wrong magic gets no reply at all; the caller
//! closes the socket. [`detect_foreign_protocol`] tells an HTTP request or a TLS ClientHello
//! apart from garbage so the server can log a useful reason.
//!
//! Not done: manifest v1 negotiation (only needed to offer Bolt 6.x).

use std::fmt;

/// The four magic bytes every Bolt connection starts with.
pub const MAGIC: [u8; 4] = [0x60, 0x60, 0xB0, 0x17];

/// Length of the client's handshake: magic plus four proposals.
pub const HANDSHAKE_LEN: usize = 20;

/// The reply meaning "no common version" (the server closes after sending it).
pub const NO_VERSION: [u8; 4] = [0; 4];

/// A Bolt protocol version. Orders by major, then minor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u8,
    pub minor: u8,
}

impl Version {
    pub const V4_0: Version = Version::new(4, 0);
    pub const V4_1: Version = Version::new(4, 1);
    pub const V4_2: Version = Version::new(4, 2);
    pub const V4_3: Version = Version::new(4, 3);
    pub const V4_4: Version = Version::new(4, 4);
    pub const V5_0: Version = Version::new(5, 0);
    pub const V5_1: Version = Version::new(5, 1);
    pub const V5_2: Version = Version::new(5, 2);
    pub const V5_3: Version = Version::new(5, 3);
    pub const V5_4: Version = Version::new(5, 4);
    pub const V5_6: Version = Version::new(5, 6);
    pub const V5_7: Version = Version::new(5, 7);
    pub const V5_8: Version = Version::new(5, 8);

    /// The newest version this crate speaks.
    pub const LATEST: Version = Version::V5_8;

    /// Every version this crate speaks, oldest first.
    pub const SUPPORTED: [Version; 13] = [
        Version::V4_0,
        Version::V4_1,
        Version::V4_2,
        Version::V4_3,
        Version::V4_4,
        Version::V5_0,
        Version::V5_1,
        Version::V5_2,
        Version::V5_3,
        Version::V5_4,
        Version::V5_6,
        Version::V5_7,
        Version::V5_8,
    ];

    pub const fn new(major: u8, minor: u8) -> Self {
        Version { major, minor }
    }

    pub fn is_supported(self) -> bool {
        Version::SUPPORTED.contains(&self)
    }

    /// The 4-byte wire form `00 00 mm MM` (the server's reply, or an exact client proposal).
    pub fn to_bytes(self) -> [u8; 4] {
        [0, 0, self.minor, self.major]
    }

    /// Parses an exact `00 00 mm MM` reply; `00 00 00 00` (no match) gives `None`.
    pub fn from_reply(reply: [u8; 4]) -> Option<Version> {
        match reply {
            NO_VERSION => None,
            [_, _, minor, major] => Some(Version::new(major, minor)),
        }
    }

    /// 5.0+: graph structures carry `element_id` strings; DateTime uses the UTC tags `49`/`69`.
    pub fn has_element_ids(self) -> bool {
        self.major >= 5
    }

    /// 5.1+: HELLO carries no credentials; LOGON/LOGOFF and the AUTHENTICATION state exist.
    pub fn has_logon(self) -> bool {
        self >= Version::V5_1
    }

    /// 5.4+: TELEMETRY exists.
    pub fn has_telemetry(self) -> bool {
        self >= Version::V5_4
    }

    /// 4.3+: ROUTE exists and HELLO SUCCESS may carry `hints`.
    pub fn has_route(self) -> bool {
        self >= Version::V4_3
    }

    /// 5.7+: FAILURE uses the GQL layout (`neo4j_code`, `gql_status`, ...).
    pub fn has_gql_failures(self) -> bool {
        self >= Version::V5_7
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The result of reading the client's 20 handshake bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeOutcome {
    /// Reply with [`Version::to_bytes`] and continue with messages.
    Agreed(Version),
    /// Reply [`NO_VERSION`] and close.
    NoCommonVersion,
    /// Close without replying.
    BadMagic,
}

impl HandshakeOutcome {
    /// The 4 bytes to send back, if any.
    pub fn reply(self) -> Option<[u8; 4]> {
        match self {
            HandshakeOutcome::Agreed(version) => Some(version.to_bytes()),
            HandshakeOutcome::NoCommonVersion => Some(NO_VERSION),
            HandshakeOutcome::BadMagic => None,
        }
    }
}

/// Negotiates with every supported version allowed.
pub fn parse_handshake(bytes: &[u8; HANDSHAKE_LEN]) -> HandshakeOutcome {
    parse_handshake_capped(bytes, Version::LATEST)
}

/// Negotiates, never choosing a version above `max_version` (e.g. 4.4 to exercise the 4.x
/// encodings with a client that would otherwise pick 5.x).
pub fn parse_handshake_capped(
    bytes: &[u8; HANDSHAKE_LEN],
    max_version: Version,
) -> HandshakeOutcome {
    if bytes[..4] != MAGIC {
        return HandshakeOutcome::BadMagic;
    }
    for slot in bytes[4..].chunks_exact(4) {
        let (range, top_minor, major) = (slot[1], slot[2], slot[3]);
        let lowest = top_minor.saturating_sub(range);
        for minor in (lowest..=top_minor).rev() {
            let candidate = Version::new(major, minor);
            if candidate <= max_version && candidate.is_supported() {
                return HandshakeOutcome::Agreed(candidate);
            }
        }
    }
    HandshakeOutcome::NoCommonVersion
}

/// What a non-Bolt first contact looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForeignProtocol {
    /// An HTTP request (someone pointed a browser or an HTTP driver at the Bolt port).
    Http,
    /// A TLS handshake record (the client wants `bolt+s`/`neo4j+s` but TLS is off).
    Tls,
}

impl fmt::Display for ForeignProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ForeignProtocol::Http => "looks like HTTP: this is the Bolt port",
            ForeignProtocol::Tls => "looks like TLS: Bolt TLS is not enabled on this port",
        })
    }
}

/// Recognises HTTP and TLS from the first bytes a client sent (4 are enough).
pub fn detect_foreign_protocol(prefix: &[u8]) -> Option<ForeignProtocol> {
    const HTTP_METHODS: [&[u8; 4]; 8] = [
        b"GET ", b"POST", b"PUT ", b"HEAD", b"OPTI", b"DELE", b"PATC", b"CONN",
    ];
    if prefix.len() >= 2 && prefix[0] == 0x16 && prefix[1] == 0x03 {
        return Some(ForeignProtocol::Tls);
    }
    if prefix.len() >= 4 && HTTP_METHODS.iter().any(|m| prefix[..4] == m[..]) {
        return Some(ForeignProtocol::Http);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handshake(proposals: [[u8; 4]; 4]) -> [u8; HANDSHAKE_LEN] {
        let mut bytes = [0; HANDSHAKE_LEN];
        bytes[..4].copy_from_slice(&MAGIC);
        for (i, p) in proposals.iter().enumerate() {
            bytes[4 + 4 * i..8 + 4 * i].copy_from_slice(p);
        }
        bytes
    }

    /// The client rows of bolt.md §1.4 and the reply each must get.
    #[test]
    fn client_matrix() {
        let rows: [([[u8; 4]; 4], [u8; 4]); 7] = [
            // neo4j Python 5.28 / 6.x, JS and Java 5.28+
            (
                [[0, 0, 1, 0xFF], [0, 8, 8, 5], [0, 2, 4, 4], [0, 0, 0, 3]],
                [0, 0, 8, 5],
            ),
            // neo4j Python 5.26
            (
                [[0, 7, 7, 5], [0, 2, 4, 4], [0, 0, 1, 4], [0, 0, 0, 3]],
                [0, 0, 7, 5],
            ),
            // pymgclient 1.5.2 / mgconsole
            ([[0, 0, 1, 4], [0, 0, 0, 1], [0; 4], [0; 4]], [0, 0, 1, 4]),
            // pymgclient 1.6.0
            (
                [[0, 0, 4, 4], [0, 0, 3, 4], [0, 0, 1, 4], [0, 0, 0, 1]],
                [0, 0, 4, 4],
            ),
            // neo4rs 0.8.0
            ([[0, 0, 1, 4], [0, 0, 0, 4], [0; 4], [0; 4]], [0, 0, 1, 4]),
            // neo4rs 0.9.0-rc
            (
                [[0, 0, 4, 4], [0, 0, 3, 4], [0, 0, 1, 4], [0, 0, 0, 4]],
                [0, 0, 4, 4],
            ),
            // Bolt 3 only
            ([[0, 0, 0, 3], [0; 4], [0; 4], [0; 4]], NO_VERSION),
        ];
        for (proposals, reply) in rows {
            assert_eq!(
                parse_handshake(&handshake(proposals)).reply(),
                Some(reply),
                "{proposals:02X?}"
            );
        }
    }

    #[test]
    fn never_selects_5_5() {
        let hs = handshake([[0, 0, 5, 5], [0; 4], [0; 4], [0; 4]]);
        assert_eq!(parse_handshake(&hs), HandshakeOutcome::NoCommonVersion);
        let hs = handshake([[0, 1, 6, 5], [0; 4], [0; 4], [0; 4]]);
        assert_eq!(
            parse_handshake(&hs),
            HandshakeOutcome::Agreed(Version::V5_6)
        );
        let hs = handshake([[0, 1, 5, 5], [0; 4], [0; 4], [0; 4]]);
        assert_eq!(
            parse_handshake(&hs),
            HandshakeOutcome::Agreed(Version::V5_4)
        );
    }

    #[test]
    fn slot_order_beats_version_order() {
        let hs = handshake([[0, 0, 1, 4], [0, 0, 8, 5], [0; 4], [0; 4]]);
        assert_eq!(
            parse_handshake(&hs),
            HandshakeOutcome::Agreed(Version::V4_1)
        );
    }

    #[test]
    fn cap_forces_older_versions() {
        let python = handshake([[0, 0, 1, 0xFF], [0, 8, 8, 5], [0, 2, 4, 4], [0, 0, 0, 3]]);
        assert_eq!(
            parse_handshake_capped(&python, Version::V4_4),
            HandshakeOutcome::Agreed(Version::V4_4)
        );
        assert_eq!(
            parse_handshake_capped(&python, Version::V5_2),
            HandshakeOutcome::Agreed(Version::V5_2)
        );
        let old_only = handshake([[0, 0, 4, 4], [0; 4], [0; 4], [0; 4]]);
        assert_eq!(
            parse_handshake_capped(&old_only, Version::V4_3),
            HandshakeOutcome::NoCommonVersion
        );
    }

    #[test]
    fn ranges_do_not_underflow() {
        let hs = handshake([[0, 0xFF, 0, 4], [0; 4], [0; 4], [0; 4]]);
        assert_eq!(
            parse_handshake(&hs),
            HandshakeOutcome::Agreed(Version::V4_0)
        );
        let hs = handshake([[0xFF, 0xFF, 0xFF, 0xFF]; 4]);
        assert_eq!(parse_handshake(&hs), HandshakeOutcome::NoCommonVersion);
    }

    #[test]
    fn bad_magic_gets_no_reply() {
        let mut hs = handshake([[0, 0, 4, 4], [0; 4], [0; 4], [0; 4]]);
        hs[3] = 0x18;
        assert_eq!(parse_handshake(&hs), HandshakeOutcome::BadMagic);
        assert_eq!(HandshakeOutcome::BadMagic.reply(), None);
    }

    #[test]
    fn detects_http_and_tls() {
        assert_eq!(
            detect_foreign_protocol(b"GET / HTTP/1.1"),
            Some(ForeignProtocol::Http)
        );
        assert_eq!(
            detect_foreign_protocol(b"POST"),
            Some(ForeignProtocol::Http)
        );
        assert_eq!(
            detect_foreign_protocol(&[0x16, 0x03, 0x01]),
            Some(ForeignProtocol::Tls)
        );
        assert_eq!(detect_foreign_protocol(&MAGIC), None);
        assert_eq!(detect_foreign_protocol(b"GE"), None);
    }

    #[test]
    fn version_helpers() {
        assert!(Version::V5_8 > Version::V5_7);
        assert!(Version::V5_0 > Version::V4_4);
        assert_eq!(Version::V4_4.to_string(), "4.4");
        assert_eq!(Version::from_reply([0, 0, 8, 5]), Some(Version::V5_8));
        assert_eq!(Version::from_reply(NO_VERSION), None);
        assert!(!Version::new(5, 5).is_supported());
        assert!(Version::V5_1.has_logon() && !Version::V5_0.has_logon());
        assert!(Version::V5_0.has_element_ids() && !Version::V4_4.has_element_ids());
    }
}
