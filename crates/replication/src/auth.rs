//! The replication connection's mutual authentication: a challenge-response over a shared
//! secret (`--replication-secret`), so a stranger can neither register as a replica (it cannot
//! answer the MAIN's challenge) nor feed one (it cannot answer the replica's).
//!
//! 1. MAIN -> replica: [`Request::Challenge`](crate::proto::Request::Challenge) with a fresh
//!    random nonce `m` (32 bytes) and whether the MAIN has a secret.
//! 2. replica -> MAIN: [`Response::Challenge`](crate::proto::Response::Challenge) with its own
//!    fresh nonce `r` and `HMAC-SHA256(secret, "replica" label | m | r)`. The MAIN checks it.
//! 3. MAIN -> replica: [`Request::Proof`](crate::proto::Request::Proof) with
//!    `HMAC-SHA256(secret, "main" label | m | r)`; the replica checks it and answers `Ack` (or
//!    `Failed` and closes).
//!
//! After that, when a secret is set, every message in either direction carries an
//! HMAC-SHA256 tag under a key of its direction, derived from the secret and both nonces, over
//! its sequence number and its frame ([`MessageAuth`]): a message injected, altered, dropped,
//! replayed or reordered by someone on the path breaks the connection.
//!
//! The secret itself never travels; each side's proof covers a nonce the other side just chose,
//! so a recorded exchange cannot be replayed, and the labels keep one side's proof from being
//! reflected as the other's. Comparisons are constant-time (`Mac::verify_slice`). Without a
//! secret on either side the same exchange runs with an empty key: it then proves nothing,
//! and a side with a secret refuses a side without one.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// Length of each nonce.
pub const NONCE_BYTES: usize = 32;
/// Length of a proof (an HMAC-SHA256 tag).
pub const PROOF_BYTES: usize = 32;

const MAIN_LABEL: &[u8] = b"ferrograph replication v2: main proof";
const REPLICA_LABEL: &[u8] = b"ferrograph replication v2: replica proof";

/// Which side a proof is from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Main,
    Replica,
}

/// The shared secret (empty: none set).
#[derive(Clone, Default)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_set() {
            "Secret(set)"
        } else {
            "Secret(none)"
        })
    }
}

impl Secret {
    /// `None` or an empty string: no secret.
    pub fn new(secret: Option<&str>) -> Secret {
        Secret(secret.unwrap_or("").as_bytes().to_vec())
    }

    pub fn is_set(&self) -> bool {
        !self.0.is_empty()
    }

    fn mac(&self, side: Side, main_nonce: &[u8], replica_nonce: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(match side {
            Side::Main => MAIN_LABEL,
            Side::Replica => REPLICA_LABEL,
        });
        mac.update(main_nonce);
        mac.update(replica_nonce);
        mac
    }

    /// `side`'s proof over the two nonces.
    pub fn proof(&self, side: Side, main_nonce: &[u8], replica_nonce: &[u8]) -> Vec<u8> {
        self.mac(side, main_nonce, replica_nonce)
            .finalize()
            .into_bytes()
            .to_vec()
    }

    /// Whether `proof` is `side`'s proof over the two nonces (constant-time). Nonces of the
    /// wrong length never verify.
    pub fn verify(
        &self,
        side: Side,
        main_nonce: &[u8],
        replica_nonce: &[u8],
        proof: &[u8],
    ) -> bool {
        main_nonce.len() == NONCE_BYTES
            && replica_nonce.len() == NONCE_BYTES
            && self
                .mac(side, main_nonce, replica_nonce)
                .verify_slice(proof)
                .is_ok()
    }
}

/// Length of the tag after each message when a secret is set.
pub const TAG_BYTES: usize = 32;

const MAIN_TO_REPLICA: &[u8] = b"ferrograph replication v2: main to replica";
const REPLICA_TO_MAIN: &[u8] = b"ferrograph replication v2: replica to main";

/// Per-message authentication of one connection after the handshake: a key per direction,
/// derived from the secret and the connection's two nonces, and a sequence number per
/// direction that each tag covers.
pub struct MessageAuth {
    key_out: Vec<u8>,
    key_in: Vec<u8>,
    seq_out: u64,
    seq_in: u64,
}

impl MessageAuth {
    /// For `side` of a connection whose handshake used these nonces; `None` without a secret
    /// (messages then carry no tag).
    pub fn new(
        secret: &Secret,
        side: Side,
        main_nonce: &[u8],
        replica_nonce: &[u8],
    ) -> Option<MessageAuth> {
        if !secret.is_set() {
            return None;
        }
        let key = |label: &[u8]| {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&secret.0)
                .expect("HMAC takes keys of any length");
            mac.update(label);
            mac.update(main_nonce);
            mac.update(replica_nonce);
            mac.finalize().into_bytes().to_vec()
        };
        let (out, inn) = match side {
            Side::Main => (MAIN_TO_REPLICA, REPLICA_TO_MAIN),
            Side::Replica => (REPLICA_TO_MAIN, MAIN_TO_REPLICA),
        };
        Some(MessageAuth {
            key_out: key(out),
            key_in: key(inn),
            seq_out: 0,
            seq_in: 0,
        })
    }

    fn mac(key: &[u8], seq: u64, frame: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(&seq.to_le_bytes());
        mac.update(frame);
        mac
    }

    /// The tag of the next outgoing message `frame`.
    pub fn seal(&mut self, frame: &[u8]) -> [u8; TAG_BYTES] {
        let tag = Self::mac(&self.key_out, self.seq_out, frame)
            .finalize()
            .into_bytes();
        self.seq_out += 1;
        tag.into()
    }

    /// Whether `tag` is the right tag of the next incoming message `frame` (constant-time).
    pub fn check(&mut self, frame: &[u8], tag: &[u8]) -> bool {
        let ok = Self::mac(&self.key_in, self.seq_in, frame)
            .verify_slice(tag)
            .is_ok();
        self.seq_in += 1;
        ok
    }
}

/// A fresh random nonce from the operating system's generator.
pub fn nonce() -> Vec<u8> {
    let mut n = vec![0u8; NONCE_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut n);
    n
}

/// Why the peer's proof did not verify, for the log and the user: says which side lacks a
/// secret when that is the reason. `mine`/`theirs`: whether each side has a secret.
pub fn mismatch(peer: &str, mine: bool, theirs: bool) -> String {
    let how = match (mine, theirs) {
        (true, false) => format!("the {peer} has no replication secret and this instance has one"),
        (false, true) => format!("the {peer} has a replication secret and this instance has none"),
        _ => format!("the {peer}'s replication secret differs from this instance's"),
    };
    format!("authentication failed: {how} (set the same --replication-secret / FERROGRAPH_REPLICATION_SECRET on the MAIN and its replicas)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_secrets_verify_both_ways() {
        let s = Secret::new(Some("correct horse"));
        let (m, r) = (nonce(), nonce());
        assert_ne!(m, r);
        let replica_proof = s.proof(Side::Replica, &m, &r);
        assert!(s.verify(Side::Replica, &m, &r, &replica_proof));
        let main_proof = s.proof(Side::Main, &m, &r);
        assert!(s.verify(Side::Main, &m, &r, &main_proof));
        assert_eq!(main_proof.len(), PROOF_BYTES);
    }

    #[test]
    fn wrong_secrets_nonces_sides_and_lengths_fail() {
        let s = Secret::new(Some("one"));
        let other = Secret::new(Some("two"));
        let none = Secret::new(None);
        let (m, r) = (nonce(), nonce());
        let p = s.proof(Side::Replica, &m, &r);
        assert!(!other.verify(Side::Replica, &m, &r, &p));
        assert!(!none.verify(Side::Replica, &m, &r, &p));
        // A proof is bound to its nonces (no replay) and to its side (no reflection).
        assert!(!s.verify(Side::Replica, &nonce(), &r, &p));
        assert!(!s.verify(Side::Replica, &m, &nonce(), &p));
        assert!(!s.verify(Side::Main, &m, &r, &p));
        assert!(!s.verify(Side::Replica, &m, &r, &p[..31]));
        assert!(!s.verify(Side::Replica, &m[..16], &r, &p));
        assert!(!s.verify(Side::Replica, &m, &r, &[]));
        // The secret never appears in what is sent.
        assert!(!p.windows(3).any(|w| w == b"one"));
    }

    #[test]
    fn messages_are_bound_to_key_direction_and_order() {
        let s = Secret::new(Some("k"));
        let (m, r) = (nonce(), nonce());
        let mut main = MessageAuth::new(&s, Side::Main, &m, &r).unwrap();
        let mut replica = MessageAuth::new(&s, Side::Replica, &m, &r).unwrap();
        let t1 = main.seal(b"first");
        let t2 = main.seal(b"second");
        assert!(replica.check(b"first", &t1));
        assert!(replica.check(b"second", &t2));
        // A replay (old sequence number), a change, a reflection, another connection's keys.
        assert!(!replica.check(b"second", &t2));
        let t3 = main.seal(b"third");
        let mut fresh = MessageAuth::new(&s, Side::Replica, &m, &r).unwrap();
        assert!(!fresh.check(b"thirD", &t3));
        let mut echo = MessageAuth::new(&s, Side::Main, &m, &r).unwrap();
        let back = replica.seal(b"ack");
        assert!(!MessageAuth::new(&s, Side::Replica, &m, &r)
            .unwrap()
            .check(b"ack", &back));
        assert!(echo.check(b"ack", &back));
        let mut other = MessageAuth::new(&s, Side::Replica, &nonce(), &r).unwrap();
        assert!(!other.check(b"first", &t1));
        assert!(MessageAuth::new(&Secret::new(None), Side::Main, &m, &r).is_none());
    }

    #[test]
    fn no_secret_is_an_empty_key_and_says_so() {
        assert!(!Secret::new(Some("")).is_set());
        assert!(!Secret::new(None).is_set());
        let (m, r) = (nonce(), nonce());
        let none = Secret::new(None);
        assert!(none.verify(Side::Main, &m, &r, &none.proof(Side::Main, &m, &r)));
        assert!(mismatch("replica", true, false).contains("has no replication secret"));
        assert!(mismatch("MAIN", false, true).contains("has a replication secret"));
        assert!(mismatch("MAIN", true, true).contains("differs"));
        assert_eq!(format!("{:?}", Secret::new(Some("x"))), "Secret(set)");
    }
}
