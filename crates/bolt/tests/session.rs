//! The session state machine, driven through bytes with a fake backend.

mod common;

use bolt::client::{self, Auth};
use bolt::message::Failure;
use bolt::session::{SessionConfig, State};
use bolt::{Response, Session, Value, Version};
use common::*;

fn code(response: &Response) -> Option<&str> {
    response
        .get("code")
        .or_else(|| response.get("neo4j_code"))
        .and_then(Value::as_str)
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

#[test]
fn hello_success_metadata_4x_and_5x() {
    for (version, hints) in [
        (Version::V4_1, false),
        (Version::V4_4, true),
        (Version::V5_0, true),
    ] {
        let config = SessionConfig {
            connection_id: "bolt-17".into(),
            ..SessionConfig::default()
        };
        let mut conn = Conn::open(&[(version, 0)], config, FakeBackend::default());
        let mut out = Vec::new();
        client::write_hello(&mut out, version, "neo4rs", &Auth::None);
        let responses = conn.send(&out);
        assert_eq!(kinds(&responses), ["SUCCESS"], "{version}");
        let server = responses[0].get("server").and_then(Value::as_str).unwrap();
        assert!(server.starts_with("Neo4j/"));
        assert_eq!(responses[0].get("connection_id"), Some(&"bolt-17".into()));
        assert_eq!(responses[0].get("hints").is_some(), hints, "{version}");
        assert_eq!(conn.session.state(), State::Ready);
        assert_eq!(conn.backend.calls, ["hello neo4rs", "authenticate"]);
    }
}

#[test]
fn hello_then_logon_pipelined_on_5x() {
    let mut conn = Conn::open(
        &[(Version::V5_8, 8)],
        SessionConfig::default(),
        FakeBackend::with_password("secret"),
    );
    assert_eq!(conn.session.version(), Version::V5_8);
    let mut out = Vec::new();
    let auth = Auth::Basic {
        user: "neo4j",
        password: "secret",
    };
    assert_eq!(client::write_hello(&mut out, Version::V5_8, "py", &auth), 2);
    let responses = conn.send(&out);
    assert_eq!(kinds(&responses), ["SUCCESS", "SUCCESS"]);
    assert_eq!(responses[1], Response::Success(vec![]));
    assert_eq!(conn.session.state(), State::Ready);

    // LOGOFF goes back to AUTHENTICATION, where RUN is a protocol violation.
    let mut out = Vec::new();
    client::write_logoff(&mut out);
    assert_eq!(kinds(&conn.send(&out)), ["SUCCESS"]);
    assert_eq!(conn.session.state(), State::Authentication);
    let responses = conn.send(&run("RETURN 1"));
    assert_eq!(kinds(&responses), ["FAILURE"]);
    assert!(conn.closed);
}

#[test]
fn wrong_password_fails_with_message_and_closes() {
    for version in [Version::V4_4, Version::V5_8] {
        let mut conn = Conn::open(
            &[(version, 0)],
            SessionConfig::default(),
            FakeBackend::with_password("secret"),
        );
        let mut out = Vec::new();
        let auth = Auth::Basic {
            user: "neo4j",
            password: "wrong",
        };
        client::write_hello(&mut out, version, "x", &auth);
        client::write_run(&mut out, "RETURN 1", &[], &[]);
        let responses = conn.send(&out);
        let failure = responses.last().unwrap();
        assert_eq!(code(failure), Some(Failure::UNAUTHORIZED));
        assert!(failure.get("message").and_then(Value::as_str).is_some());
        assert!(conn.closed);
        assert_eq!(conn.session.state(), State::Defunct);
        assert!(conn.send(&run("RETURN 1")).is_empty());
    }
}

/// bolt.md §10.1 case 5: FAILURE -> IGNORED -> RESET, nothing from the failed tx committed.
#[test]
fn failure_ignored_reset_sequence() {
    for version in [Version::V4_4, Version::V5_6, Version::V5_8] {
        let mut conn = Conn::ready(version);
        let wire = cat(&[
            begin(),
            run("CREATE lost"),
            run("RETURN 1 +"),
            pull(-1, None),
            commit(),
        ]);
        let responses = conn.send(&wire);
        assert_eq!(
            kinds(&responses),
            ["SUCCESS", "SUCCESS", "FAILURE", "IGNORED", "IGNORED"]
        );
        assert_eq!(code(&responses[2]), Some(Failure::SYNTAX_ERROR));
        if version.has_gql_failures() {
            assert_eq!(responses[2].get("gql_status"), Some(&"42001".into()));
            assert!(responses[2].get("description").is_some());
            assert!(responses[2].get("code").is_none());
        } else {
            assert!(responses[2].get("gql_status").is_none());
        }
        assert_eq!(conn.session.state(), State::Failed);

        let wire = cat(&[reset(), run("RETURN 1"), pull(-1, None)]);
        let responses = conn.send(&wire);
        assert_eq!(
            responses,
            [
                Response::Success(vec![]),
                Response::Success(vec![
                    ("fields".into(), Value::List(vec!["x".into()])),
                    ("t_first".into(), 1.into()),
                ]),
                Response::Record(vec![1.into()]),
                Response::Success(vec![
                    ("has_more".into(), false.into()),
                    ("t_last".into(), 3.into()),
                    ("type".into(), "rw".into()),
                    ("bookmark".into(), "fg:1".into()),
                ]),
            ]
        );
        assert!(conn.backend.committed.is_empty(), "{version}");
        assert!(!conn.backend.calls.contains(&"commit".to_owned()));
    }
}

#[test]
fn autocommit_streaming_in_batches() {
    let mut conn = Conn::ready(Version::V5_8);
    let mut responses = conn.send(&cat(&[run("RANGE 5"), pull(2, None)]));
    assert_eq!(
        kinds(&responses),
        ["SUCCESS", "RECORD", "RECORD", "SUCCESS"]
    );
    assert_eq!(
        responses[3],
        Response::Success(vec![("has_more".into(), true.into())])
    );
    assert_eq!(conn.session.state(), State::Streaming);
    responses = conn.send(&cat(&[pull(2, Some(-1)), pull(2, None)]));
    assert_eq!(
        kinds(&responses),
        ["RECORD", "RECORD", "SUCCESS", "RECORD", "SUCCESS"]
    );
    assert_eq!(responses[4].get("has_more"), Some(&false.into()));
    assert_eq!(responses[4].get("t_last"), Some(&3.into()));
    assert_eq!(conn.session.state(), State::Ready);

    // DISCARD in batches, addressed by the autocommit qid 0.
    let responses = conn.send(&cat(&[
        run("RANGE 3"),
        discard(1, Some(0)),
        discard(-1, None),
    ]));
    assert_eq!(kinds(&responses), ["SUCCESS", "SUCCESS", "SUCCESS"]);
    assert_eq!(responses[1].get("has_more"), Some(&true.into()));
    assert_eq!(responses[2].get("has_more"), Some(&false.into()));
    assert_eq!(conn.session.state(), State::Ready);
}

#[test]
fn invalid_pull_sizes_and_qids() {
    for bad in [
        pull(0, None),
        pull(-2, None),
        pull(1, Some(5)),
        discard(0, None),
    ] {
        let mut conn = Conn::ready(Version::V4_4);
        let responses = conn.send(&cat(&[run("RANGE 3"), bad, pull(-1, None)]));
        assert_eq!(kinds(&responses), ["SUCCESS", "FAILURE", "IGNORED"]);
        assert_eq!(code(&responses[1]), Some(Failure::REQUEST_INVALID));
        assert_eq!(conn.send(&reset()), [Response::Success(vec![])]);
        assert_eq!(conn.backend.open_streams(), 0);
    }
    // PULL with nothing open.
    let mut conn = Conn::ready(Version::V5_0);
    assert_eq!(kinds(&conn.send(&pull(-1, None))), ["FAILURE"]);
}

#[test]
fn run_while_autocommit_result_open_fails() {
    let mut conn = Conn::ready(Version::V5_2);
    let responses = conn.send(&cat(&[run("RANGE 3"), run("RETURN 1"), begin()]));
    assert_eq!(kinds(&responses), ["SUCCESS", "FAILURE", "IGNORED"]);
    assert_eq!(code(&responses[1]), Some(Failure::REQUEST_INVALID));
}

/// bolt.md §10.1 case 10: several open results in one transaction, addressed by qid.
#[test]
fn multiple_streams_in_one_transaction() {
    let mut conn = Conn::ready(Version::V5_8);
    let responses = conn.send(&cat(&[begin(), run("RANGE 3"), run("RETURN 42")]));
    assert_eq!(kinds(&responses), ["SUCCESS", "SUCCESS", "SUCCESS"]);
    assert_eq!(responses[1].get("qid"), Some(&0.into()));
    assert_eq!(responses[2].get("qid"), Some(&1.into()));
    assert_eq!(conn.session.state(), State::TxStreaming);

    // qid -1 is the last RUN (RETURN 42).
    let responses = conn.send(&pull(-1, None));
    assert_eq!(responses[0], Response::Record(vec![42.into()]));
    assert_eq!(responses[1].get("has_more"), Some(&false.into()));
    assert_eq!(responses[1].get("bookmark"), None);
    assert_eq!(conn.session.state(), State::TxStreaming);
    // The finished stream cannot be pulled again.
    let mut failed = Conn::ready(Version::V5_8);
    failed.send(&cat(&[
        begin(),
        run("RANGE 3"),
        run("RETURN 42"),
        pull(-1, None),
    ]));
    assert_eq!(kinds(&failed.send(&pull(-1, Some(1)))), ["FAILURE"]);

    let responses = conn.send(&pull(2, Some(0)));
    assert_eq!(kinds(&responses), ["RECORD", "RECORD", "SUCCESS"]);
    assert_eq!(responses[2].get("has_more"), Some(&true.into()));
    let responses = conn.send(&discard(-1, Some(0)));
    assert_eq!(responses[0].get("has_more"), Some(&false.into()));
    assert_eq!(conn.session.state(), State::TxReady);
    let responses = conn.send(&commit());
    assert_eq!(
        responses,
        [Response::Success(vec![("bookmark".into(), "fg:2".into())])]
    );
    assert_eq!(conn.session.state(), State::Ready);

    // The next transaction numbers its streams from 0 again.
    let responses = conn.send(&cat(&[begin(), run("RETURN 1")]));
    assert_eq!(responses[1].get("qid"), Some(&0.into()));
}

#[test]
fn discard_closes_only_the_addressed_stream() {
    let mut conn = Conn::ready(Version::V4_4);
    conn.send(&cat(&[begin(), run("RANGE 2"), run("RANGE 2")]));
    let responses = conn.send(&discard(-1, Some(0)));
    assert_eq!(responses[0].get("has_more"), Some(&false.into()));
    assert_eq!(conn.session.state(), State::TxStreaming);
    assert_eq!(
        kinds(&conn.send(&pull(-1, Some(1)))),
        ["RECORD", "RECORD", "SUCCESS"]
    );
    assert_eq!(conn.session.state(), State::TxReady);
}

#[test]
fn commit_and_rollback_with_open_streams_are_lenient() {
    let mut conn = Conn::ready(Version::V5_8);
    let responses = conn.send(&cat(&[begin(), run("CREATE a"), run("RANGE 5"), commit()]));
    assert_eq!(kinds(&responses), ["SUCCESS"; 4]);
    assert_eq!(conn.backend.committed, ["a"]);
    assert_eq!(conn.session.state(), State::Ready);
    assert!(conn.backend.calls.contains(&"discard 0 -1".to_owned()));
    assert!(conn.backend.calls.contains(&"discard 1 -1".to_owned()));

    let responses = conn.send(&cat(&[begin(), run("CREATE b"), rollback()]));
    assert_eq!(kinds(&responses), ["SUCCESS"; 3]);
    assert_eq!(conn.backend.committed, ["a"]);
    assert_eq!(conn.backend.open_streams(), 0);
    assert_eq!(conn.session.state(), State::Ready);
}

#[test]
fn wrong_state_transaction_requests_fail() {
    for wire in [commit(), rollback(), cat(&[begin(), begin()])] {
        let mut conn = Conn::ready(Version::V4_4);
        let responses = conn.send(&wire);
        assert_eq!(kinds(&responses).last(), Some(&"FAILURE"));
        assert_eq!(conn.session.state(), State::Failed);
        assert!(!conn.closed);
    }
}

#[test]
fn autocommit_commits_on_stream_end() {
    let mut conn = Conn::ready(Version::V4_1);
    conn.send(&cat(&[run("CREATE x"), discard(-1, Some(-1))]));
    assert_eq!(conn.backend.committed, ["x"]);
}

#[test]
fn pull_failure_keeps_records_then_fails() {
    let mut conn = Conn::ready(Version::V5_8);
    let responses = conn.send(&cat(&[run("FAIL_PULL 3"), pull(-1, None), run("RETURN 1")]));
    assert_eq!(
        kinds(&responses),
        ["SUCCESS", "RECORD", "FAILURE", "IGNORED"]
    );
    let diagnostic = responses[2].get("diagnostic_record").unwrap();
    assert_eq!(
        diagnostic.get("_classification"),
        Some(&"CLIENT_ERROR".into())
    );
}

/// RESET jumps the queue: requests queued before it are IGNORED.
#[test]
fn interrupt_ignores_queued_requests() {
    let mut conn = Conn::ready(Version::V5_8);
    let responses = conn.send(&cat(&[
        run("RANGE 3"),
        pull(-1, None),
        reset(),
        run("RETURN 7"),
        pull(-1, None),
    ]));
    assert_eq!(
        kinds(&responses),
        ["IGNORED", "IGNORED", "SUCCESS", "SUCCESS", "RECORD", "SUCCESS"]
    );
    assert_eq!(responses[4], Response::Record(vec![7.into()]));

    // Two queued RESETs: everything before the second one is ignored, both RESETs succeed.
    let responses = conn.send(&cat(&[
        reset(),
        run("RETURN 1"),
        reset(),
        run("RETURN 2"),
        pull(-1, None),
    ]));
    assert_eq!(
        kinds(&responses),
        ["SUCCESS", "IGNORED", "SUCCESS", "SUCCESS", "RECORD", "SUCCESS"]
    );
    assert_eq!(conn.session.state(), State::Ready);
}

/// A RESET that arrives while a PULL runs stops it: the PULL is IGNORED, not FAILED.
#[test]
fn interrupted_backend_call_is_ignored() {
    let mut conn = Conn::ready(Version::V5_8);
    let responses = conn.send(&cat(&[run("SLOW 5"), pull(-1, None), pull(-1, None)]));
    assert_eq!(
        kinds(&responses),
        ["SUCCESS", "RECORD", "IGNORED", "IGNORED"]
    );
    assert_eq!(conn.session.state(), State::Interrupted);
    assert_eq!(conn.send(&reset()), [Response::Success(vec![])]);
    assert_eq!(conn.session.state(), State::Ready);
    assert_eq!(conn.backend.open_streams(), 0);
}

#[test]
fn interrupt_before_authentication_is_a_no_op() {
    let mut conn = Conn::at(Version::V5_8);
    let mut out = Vec::new();
    client::write_hello(&mut out, Version::V5_8, "py", &Auth::None);
    client::write_reset(&mut out);
    let responses = conn.send(&out);
    assert_eq!(kinds(&responses), ["SUCCESS", "SUCCESS", "SUCCESS"]);
    assert_eq!(conn.session.state(), State::Ready);
}

#[test]
fn goodbye_closes_without_reply_and_resets() {
    let mut conn = Conn::ready(Version::V5_8);
    conn.send(&cat(&[begin(), run("CREATE a")]));
    let raw = conn.send_raw(&cat(&[goodbye(), run("RETURN 1")]));
    assert!(raw.is_empty());
    assert!(conn.closed);
    assert_eq!(conn.backend.calls.last().map(String::as_str), Some("reset"));
    assert!(conn.backend.committed.is_empty());
}

#[test]
fn eof_rolls_back() {
    let mut conn = Conn::ready(Version::V4_4);
    conn.send(&cat(&[begin(), run("CREATE a")]));
    conn.eof();
    assert_eq!(conn.session.state(), State::Defunct);
    assert_eq!(conn.backend.calls.last().map(String::as_str), Some("reset"));
    assert_eq!(conn.backend.open_streams(), 0);
}

#[test]
fn protocol_violations_close() {
    // RUN before HELLO.
    let mut conn = Conn::at(Version::V4_4);
    assert_eq!(kinds(&conn.send(&run("RETURN 1"))), ["FAILURE"]);
    assert!(conn.closed);
    // RESET before HELLO.
    let mut conn = Conn::at(Version::V4_4);
    assert_eq!(kinds(&conn.send(&reset())), ["FAILURE"]);
    assert!(conn.closed);
    // A second HELLO.
    let mut conn = Conn::ready(Version::V4_4);
    let mut out = Vec::new();
    client::write_hello(&mut out, Version::V4_4, "x", &Auth::None);
    assert_eq!(kinds(&conn.send(&out)), ["FAILURE"]);
    assert!(conn.closed);
    // LOGON on 4.4 does not exist.
    let mut conn = Conn::ready(Version::V4_4);
    let mut out = Vec::new();
    client::write_logon(&mut out, &Auth::None);
    let responses = conn.send(&out);
    assert_eq!(code(&responses[0]), Some(Failure::REQUEST_INVALID));
    assert!(conn.closed);
    // An unknown signature.
    let mut conn = Conn::ready(Version::V5_8);
    assert_eq!(
        kinds(&conn.send(&[0x00, 0x02, 0xB0, 0x0E, 0x00, 0x00])),
        ["FAILURE"]
    );
    assert!(conn.closed);
    // Malformed PackStream.
    let mut conn = Conn::ready(Version::V5_8);
    assert_eq!(
        kinds(&conn.send(&[0x00, 0x03, 0xB1, 0x10, 0xC7, 0x00, 0x00])),
        ["FAILURE"]
    );
    assert!(conn.closed);
}

#[test]
fn bad_fields_fail_without_closing() {
    let mut conn = Conn::ready(Version::V5_8);
    // RUN 1 {} {}: the query is not a string.
    let wire = [0x00, 0x05, 0xB3, 0x10, 0x01, 0xA0, 0xA0, 0x00, 0x00];
    let responses = conn.send(&cat(&[wire.to_vec(), run("RETURN 1")]));
    assert_eq!(kinds(&responses), ["FAILURE", "IGNORED"]);
    assert_eq!(code(&responses[0]), Some(Failure::REQUEST_INVALID));
    assert!(!conn.closed);
    assert_eq!(kinds(&conn.send(&reset())), ["SUCCESS"]);
}

#[test]
fn oversized_message_fails_and_closes() {
    let mut conn = Conn::ready(Version::V5_8);
    let query = "x".repeat(200_000);
    let mut wire = Vec::new();
    client::write_run(&mut wire, &query, &[], &[]);
    let mut small = Conn::ready(Version::V5_8);
    // Fits the default 64 MiB limit.
    assert_eq!(kinds(&small.send(&wire)), ["FAILURE"]);
    assert!(!small.closed);
    // A session fed by a decoder with a small limit reports MessageTooLarge.
    let mut out = Vec::new();
    let mut decoder = bolt::ChunkDecoder::with_max_message_bytes(1024);
    decoder.feed(&wire);
    let error = decoder.poll_message().unwrap_err();
    let action = conn
        .session
        .handle_input_error(&error, &mut conn.backend, &mut out);
    assert_eq!(action, bolt::SessionAction::Close);
    let mut responses = client::ResponseDecoder::new();
    responses.feed(&out);
    let failure = responses.poll_response().unwrap().unwrap();
    assert_eq!(
        code(&failure),
        Some("Neo.ClientError.Request.InvalidFormat")
    );
}

#[test]
fn telemetry_route_and_large_values() {
    let mut conn = Conn::ready(Version::V5_8);
    let mut out = Vec::new();
    client::write_telemetry(&mut out, 0);
    let routing = vec![("address".to_owned(), Value::from("127.0.0.1:7687"))];
    client::write_route(&mut out, Version::V5_8, &routing, &[], None, None);
    let responses = conn.send(&out);
    assert_eq!(responses[0], Response::Success(vec![]));
    let rt = responses[1].get("rt").unwrap();
    assert_eq!(rt.get("ttl"), Some(&300.into()));
    assert_eq!(
        rt.get("servers").and_then(Value::as_list).map(<[_]>::len),
        Some(3)
    );

    // A 300 KB parameter in, the same value out: multi-chunk in both directions.
    let big = Value::String("é".repeat(150_000));
    let mut out = Vec::new();
    client::write_run(&mut out, "ECHO", &[("p".into(), big.clone())], &[]);
    client::write_pull(&mut out, -1, None);
    let responses = conn.send(&out);
    assert_eq!(
        responses[0].get("fields"),
        Some(&Value::List(vec!["p".into()]))
    );
    assert_eq!(responses[1], Response::Record(vec![big]));

    // TELEMETRY with a non-integer api fails the request only.
    let bad = [0x00, 0x04, 0xB1, 0x54, 0x81, b'x', 0x00, 0x00];
    assert_eq!(kinds(&conn.send(&bad)), ["FAILURE"]);
    assert!(!conn.closed);
}

#[test]
fn handshake_rejections() {
    let mut out = Vec::new();
    let mut bad = client::handshake(&[(Version::V4_4, 0)]);
    bad[3] = 0x18;
    let err = Session::handle_handshake(&bad, SessionConfig::default(), &mut out).unwrap_err();
    assert!(matches!(err, bolt::Error::BadMagic { .. }));
    assert!(out.is_empty());

    let mut http = [0u8; 20];
    http[..4].copy_from_slice(b"GET ");
    let err = Session::handle_handshake(&http, SessionConfig::default(), &mut out).unwrap_err();
    assert!(err.to_string().contains("HTTP"), "{err}");

    let bolt3 = client::handshake(&[(Version::new(3, 0), 0)]);
    let err = Session::handle_handshake(&bolt3, SessionConfig::default(), &mut out).unwrap_err();
    assert!(matches!(err, bolt::Error::NoCommonVersion { .. }));
    assert_eq!(out, [0, 0, 0, 0]);

    let capped = SessionConfig {
        max_version: Version::V4_4,
        ..SessionConfig::default()
    };
    let python = client::handshake(&[
        (Version::new(1, 255), 0),
        (Version::V5_8, 8),
        (Version::V4_4, 2),
    ]);
    let mut out = Vec::new();
    let session = Session::handle_handshake(&python, capped, &mut out).unwrap();
    assert_eq!(session.version(), Version::V4_4);
    assert_eq!(out, [0, 0, 4, 4]);
}

#[test]
fn graph_values_in_records_follow_the_version() {
    use bolt::graph::Node;
    let node = Node {
        id: 1,
        labels: vec!["Person".into()],
        properties: vec![("name".into(), "Ann".into())],
        element_id: "1".into(),
    };
    for (version, marker) in [(Version::V4_4, 0xB3), (Version::V5_0, 0xB4)] {
        let mut conn = Conn::ready(version);
        let mut out = Vec::new();
        client::write_run(
            &mut out,
            "ECHO",
            &[("n".into(), node.to_value(version))],
            &[],
        );
        client::write_pull(&mut out, -1, None);
        let raw = conn.send_raw(&out);
        assert!(raw.windows(2).any(|w| w == [marker, 0x4E]), "{version}");
    }
}
