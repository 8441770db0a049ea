//! The built `ferrograph-console` binary, without a server: flags, version, and a refused
//! connection. (Against a real server: tests/python/test_console.py.) Having this
//! integration test also makes `cargo test` build the binary, which the Python suites run.

use std::io::Write;
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};

fn console(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrograph-console"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the console starts");
    // The console may exit before reading its input (a refused connection): ignore EPIPE.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

#[test]
fn version_names_the_console() {
    let out = console(&["--version"], "");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.trim(),
        format!("ferrograph-console {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn invalid_flags_exit_2() {
    for bad in ["--output-format=json", "--port=99999", "--use_ssl=perhaps"] {
        let out = console(&[bad], "");
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(!out.stderr.is_empty());
    }
    let out = console(&["--csv-delimiter=::"], "");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_refused_connection_exits_1_with_one_line() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = console(
        &["--host=127.0.0.1", &format!("--port={port}")],
        "RETURN 1;\n",
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("Connection failure: "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_peer_that_is_not_bolt_is_a_connection_failure() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
    });
    let out = console(&[&format!("--port={port}")], "RETURN 1;\n");
    peer.join().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("Connection failure: "), "{err}");
}
