//! Property tests: no decoder panics on any input, and every value round-trips.

mod common;

use std::collections::HashSet;

use bolt::client::{self, ResponseDecoder};
use bolt::graph::{DateTime, Node, Relationship, StructValue};
use bolt::packstream::{from_bytes, to_bytes};
use bolt::{
    decode_request, is_reset, ChunkDecoder, Request, Response, SessionAction, Structure, Unpacker,
    Value, Version,
};
use common::{Conn, FakeBackend};
use proptest::collection::vec;
use proptest::prelude::*;

/// Bytes biased towards markers and small lengths, so random input reaches deep into the
/// decoders instead of failing at the first byte.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => any::<u8>(),
        2 => prop::sample::select(vec![
            0x00u8, 0x01, 0x02, 0x0F, 0x10, 0x11, 0x12, 0x13, 0x2F, 0x3F, 0x54, 0x66, 0x6A, 0x6B,
            0x7F, 0x80, 0x81, 0x90, 0x91, 0xA0, 0xA1, 0xB0, 0xB1, 0xB3, 0xC0, 0xC1, 0xC3, 0xC8,
            0xCB, 0xCC, 0xD0, 0xD4, 0xD6, 0xD8, 0xDA, 0xFF,
        ]),
    ]
}

fn bytes_strategy(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(interesting_byte(), 0..max)
}

fn version_strategy() -> impl Strategy<Value = Version> {
    prop::sample::select(Version::SUPPORTED.to_vec())
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![".{0,6}", "[a-z]{1,3}"]
}

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        prop::sample::select(vec![
            0.0,
            -0.0,
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            1e308,
        ]),
    ]
}

fn int() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        -300i64..300,
        prop::sample::select(vec![
            i64::MIN,
            i64::MAX,
            -(1 << 31) - 1,
            -(1 << 31),
            (1 << 31) - 1,
            1 << 31,
            -32_769,
            -32_768,
            32_767,
            32_768,
            -129,
            -128,
            -17,
            -16,
            127,
            128,
        ]),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        int().prop_map(Value::Int),
        float().prop_map(Value::Float),
        vec(any::<u8>(), 0..300).prop_map(Value::Bytes),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 12, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..18).prop_map(Value::List),
            vec((key(), inner.clone()), 0..18).prop_map(|entries| {
                // Decoding resolves duplicate keys, so generate unique ones.
                let mut seen = HashSet::new();
                Value::Map(
                    entries
                        .into_iter()
                        .filter(|(k, _)| seen.insert(k.clone()))
                        .collect(),
                )
            }),
            (0u8..0x80, vec(inner, 0..=15))
                .prop_map(|(tag, fields)| Value::Struct(Structure::new(tag, fields))),
        ]
    })
}

/// Equality with floats compared by bit pattern (so NaN equals itself).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| ka == kb && same(va, vb))
        }
        (Value::Struct(x), Value::Struct(y)) => {
            x.tag == y.tag
                && same(
                    &Value::List(x.fields.clone()),
                    &Value::List(y.fields.clone()),
                )
        }
        _ => a == b,
    }
}

fn request() -> impl Strategy<Value = Request> {
    let map = || vec((key(), value()), 0..4).prop_map(dedup);
    prop_oneof![
        map().prop_map(|extra| Request::Hello { extra }),
        map().prop_map(|auth| Request::Logon { auth }),
        Just(Request::Logoff),
        Just(Request::Reset),
        Just(Request::Commit),
        Just(Request::Rollback),
        (".{0,20}", map(), map()).prop_map(|(query, params, extra)| Request::Run {
            query,
            params,
            extra
        }),
        map().prop_map(|extra| Request::Begin { extra }),
        (int(), int()).prop_map(|(n, qid)| Request::Pull { n, qid }),
        (int(), int()).prop_map(|(n, qid)| Request::Discard { n, qid }),
        (
            map(),
            vec(".{0,5}", 0..3),
            prop::option::of(".{0,5}"),
            prop::option::of(".{0,5}")
        )
            .prop_map(|(routing, bookmarks, db, imp_user)| Request::Route {
                routing,
                bookmarks,
                db,
                imp_user
            }),
        int().prop_map(|api| Request::Telemetry { api }),
    ]
}

fn dedup(entries: Vec<(String, Value)>) -> Vec<(String, Value)> {
    let mut seen = HashSet::new();
    entries
        .into_iter()
        .filter(|(k, _)| seen.insert(k.clone()))
        .collect()
}

/// Requests a real client would plausibly send, with the fake backend's query language. Weighted
/// so that sequences spend most of their time in the interesting states (streams and
/// transactions) rather than in FAILED.
fn session_request() -> impl Strategy<Value = Request> {
    let query = prop_oneof![
        8 => prop::sample::select(vec!["RETURN 1", "RANGE 3", "RANGE 0", "CREATE a", "ECHO"]),
        1 => prop::sample::select(vec!["FAIL_PULL 2", "RETURN 1 +", "SLOW 3"]),
    ];
    let n = prop_oneof![8 => prop::sample::select(vec![-1i64, 1, 2]), 1 => prop::sample::select(vec![0i64, -2])];
    let qid = prop_oneof![4 => Just(-1i64), 3 => 0i64..3];
    prop_oneof![
        6 => query.prop_map(|q| Request::Run {
            query: q.to_owned(),
            params: vec![],
            extra: vec![]
        }),
        6 => (n.clone(), qid.clone()).prop_map(|(n, qid)| Request::Pull { n, qid }),
        2 => (n, qid).prop_map(|(n, qid)| Request::Discard { n, qid }),
        3 => Just(Request::Begin { extra: vec![] }),
        2 => Just(Request::Commit),
        1 => Just(Request::Rollback),
        3 => Just(Request::Reset),
        1 => Just(Request::Telemetry { api: 1 }),
        1 => Just(Request::Logoff),
        1 => Just(Request::Hello { extra: vec![] }),
        1 => Just(Request::Goodbye),
        1 => request(),
    ]
}

/// A client message: a well-formed request or a random payload.
#[derive(Debug, Clone)]
enum Input {
    Request(Request),
    Garbage(Vec<u8>),
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        20 => session_request().prop_map(Input::Request),
        1 => bytes_strategy(24).prop_filter("a message is never empty", |b| !b.is_empty())
            .prop_map(Input::Garbage),
    ]
}

proptest! {
    // Failures print the minimal input; no regression files are written into the source tree.
    // PROPTEST_CASES raises the case count (default 256).
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn unpacker_never_panics_and_skip_agrees_with_read(bytes in bytes_strategy(200)) {
        let mut reader = Unpacker::new(&bytes);
        let read = reader.read_value();
        let mut skipper = Unpacker::new(&bytes);
        let skipped = skipper.skip_value();
        prop_assert_eq!(read.is_ok(), skipped.is_ok());
        if read.is_ok() {
            prop_assert_eq!(reader.position(), skipper.position());
        }
        let mut headers = Unpacker::new(&bytes);
        let _ = headers.read_struct_header();
    }

    #[test]
    fn decoded_values_reencode_canonically(bytes in bytes_strategy(200)) {
        // Whatever decodes must encode back to a value that decodes to the same thing.
        if let Ok(value) = from_bytes(&bytes) {
            let again = from_bytes(&to_bytes(&value)).expect("re-encoded value must decode");
            prop_assert!(same(&value, &again));
        }
    }

    #[test]
    fn chunk_decoder_never_panics(fragments in vec(bytes_strategy(40), 0..8), limit in 0usize..64) {
        let mut decoder = ChunkDecoder::with_max_message_bytes(limit);
        for fragment in &fragments {
            decoder.feed(fragment);
            while let Ok(Some(message)) = decoder.poll_message() {
                prop_assert!(!message.is_empty() && message.len() <= limit);
            }
        }
    }

    #[test]
    fn chunking_round_trips_any_split(
        messages in vec(vec(any::<u8>(), 1..300), 1..5),
        splits in vec(0usize..2000, 0..6),
    ) {
        let mut wire = Vec::new();
        for m in &messages {
            bolt::write_message(&mut wire, m);
            wire.extend_from_slice(&[0, 0]); // a NOOP between messages
        }
        let mut cuts: Vec<usize> = splits.into_iter().map(|s| s % (wire.len() + 1)).collect();
        cuts.sort_unstable();
        let mut decoder = ChunkDecoder::new();
        let mut last = 0;
        for cut in cuts.into_iter().chain([wire.len()]) {
            decoder.feed(&wire[last..cut]);
            last = cut;
        }
        let decoded: Vec<Vec<u8>> = std::iter::from_fn(|| decoder.poll_message().unwrap()).collect();
        prop_assert_eq!(decoded, messages);
    }

    #[test]
    fn message_decoding_never_panics(bytes in bytes_strategy(64), version in version_strategy()) {
        let _ = decode_request(&bytes, version);
        let _ = Response::decode(&bytes);
        let _ = is_reset(&bytes);
    }

    #[test]
    fn response_decoder_never_panics(fragments in vec(bytes_strategy(40), 0..6)) {
        let mut decoder = ResponseDecoder::with_max_message_bytes(1 << 16);
        for fragment in &fragments {
            decoder.feed(fragment);
            while let Ok(Some(_)) = decoder.poll_response() {}
        }
    }

    #[test]
    fn struct_decoding_never_panics(tag in 0u8..0x80, fields in vec(value(), 0..=8)) {
        let s = Structure::new(tag, fields);
        let _ = StructValue::from_structure(&s);
    }

    #[test]
    fn values_round_trip(v in value()) {
        let bytes = to_bytes(&v);
        let back = from_bytes(&bytes).expect("encoded value must decode");
        prop_assert!(same(&v, &back), "{:?} != {:?}", v, back);
        prop_assert_eq!(to_bytes(&back), bytes);
    }

    #[test]
    fn requests_round_trip(r in request(), version in version_strategy()) {
        let mut wire = Vec::new();
        client::write_request(&mut wire, version, &r);
        let mut decoder = ChunkDecoder::new();
        decoder.feed(&wire);
        let payload = decoder.poll_message().unwrap().unwrap();
        match decode_request(&payload, version) {
            // Compared by re-encoding: the encoding is canonical and NaN != NaN.
            Ok(decoded) => {
                let mut again = Vec::new();
                client::write_request(&mut again, version, &decoded);
                prop_assert_eq!(again, wire);
                prop_assert_eq!(decoded.name(), r.name());
            }
            // Messages the version lacks are refused, never misread.
            Err(bolt::Error::UnsupportedMessage { .. }) => {
                let gated = matches!(
                    r,
                    Request::Logon { .. }
                        | Request::Logoff
                        | Request::Telemetry { .. }
                        | Request::Route { .. }
                );
                prop_assert!(gated, "{:?} refused", r);
            }
            Err(e) => prop_assert!(false, "{} for {:?}", e, r),
        }
    }

    #[test]
    fn graph_entities_round_trip(
        id in int(),
        labels in vec("[A-Za-z]{1,8}", 0..3),
        props in vec((key(), value()), 0..4),
        version in version_strategy(),
    ) {
        let node = Node {
            id,
            labels,
            properties: dedup(props.clone()),
            element_id: if version.has_element_ids() { format!("e{id}") } else { id.to_string() },
        };
        let v = node.to_value(version);
        prop_assert!(same(&Node::from_value(&v).unwrap().to_value(version), &v));
        let rel = Relationship {
            id,
            start_id: id.wrapping_add(1),
            end_id: id.wrapping_sub(1),
            rel_type: "T".into(),
            properties: dedup(props),
            element_id: id.to_string(),
            start_element_id: id.wrapping_add(1).to_string(),
            end_element_id: id.wrapping_sub(1).to_string(),
        };
        let v = rel.to_value(version);
        prop_assert!(same(&Relationship::from_value(&v).unwrap().to_value(version), &v));
    }

    #[test]
    fn datetimes_round_trip_in_both_forms(
        seconds in -(1i64 << 40)..(1i64 << 40),
        nanos in 0i64..1_000_000_000,
        offset_seconds in -64_800i32..=64_800,
        version in version_strategy(),
    ) {
        let dt = DateTime { seconds, nanos, offset_seconds };
        prop_assert_eq!(DateTime::from_value(&dt.to_value(version)), Ok(dt));
    }

    /// Any sequence of requests and garbage: the session never panics, honours the Backend
    /// contract (the fake asserts it), and answers every request with exactly one summary until
    /// it closes.
    #[test]
    fn session_never_panics_and_answers_once(
        version in version_strategy(),
        inputs in vec(input(), 0..40),
        batch in 1usize..4,
    ) {
        let mut conn = Conn::at(version);
        let mut hello = Vec::new();
        client::write_hello(&mut hello, version, "prop", &client::Auth::None);
        conn.send(&hello);
        let mut wires = Vec::new();
        for input in &inputs {
            let mut wire = Vec::new();
            match input {
                Input::Request(r) => client::write_request(&mut wire, version, r),
                Input::Garbage(payload) => bolt::write_message(&mut wire, payload),
            }
            wires.push((wire, matches!(input, Input::Request(Request::Goodbye))));
        }
        for group in wires.chunks(batch) {
            let was_closed = conn.closed;
            let bytes: Vec<u8> = group.iter().flat_map(|(w, _)| w.clone()).collect();
            let responses = conn.send(&bytes);
            let summaries = responses.iter().filter(|r| r.is_summary()).count();
            if was_closed {
                prop_assert_eq!(summaries, 0);
            } else if !conn.closed {
                prop_assert_eq!(summaries, group.len());
            } else {
                prop_assert!(summaries <= group.len());
            }
        }
        conn.eof();
        prop_assert_eq!(conn.backend.open_streams(), 0);
    }

    #[test]
    fn session_survives_raw_garbage(version in version_strategy(), bytes in bytes_strategy(300)) {
        let mut conn = Conn::ready(version);
        let out = conn.send_raw(&bytes);
        let mut decoder = ResponseDecoder::new();
        decoder.feed(&out);
        while decoder.poll_response().expect("server output must decode").is_some() {}
        let mut backend = FakeBackend::default();
        let mut out = Vec::new();
        let mut session = bolt::Session::new(version, bolt::SessionConfig::default());
        if session.handle_message(&bytes, &mut backend, &mut out) == SessionAction::Close {
            prop_assert!(session.is_closed());
        }
    }
}

#[test]
fn boundary_sized_values_round_trip() {
    for len in [0usize, 15, 16, 255, 256, 65_535, 65_536] {
        let values = [
            Value::String("a".repeat(len)),
            Value::Bytes(vec![7; len]),
            Value::List(vec![Value::Null; len]),
        ];
        for v in values {
            let bytes = to_bytes(&v);
            assert_eq!(from_bytes(&bytes).as_ref(), Ok(&v), "len {len}");
        }
        if len <= 256 {
            let map = Value::Map(
                (0..len)
                    .map(|i| (i.to_string(), Value::Int(i as i64)))
                    .collect(),
            );
            assert_eq!(from_bytes(&to_bytes(&map)), Ok(map));
        }
    }
}
