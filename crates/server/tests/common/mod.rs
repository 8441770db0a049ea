//! Shared harness for the black-box driver tests: start a real `ferrograph` process.
//!
//! [`Server::start`] runs the binary cargo built for this package (or `$FERROGRAPH_BIN`, to
//! test another build) on `127.0.0.1` with `--bolt-port=0` and a fresh data directory, then
//! polls its log for the ready line `listening for Bolt on <ip>:<port>` until a deadline.
//! The process's stdout and stderr go to a file (a pipe nobody drains could stall it).
//! Dropping the [`Server`] kills the process and removes the directory; if the test is
//! panicking, or the server printed a Rust panic, its log is copied to the test's stderr.

#![allow(dead_code)] // Each test binary uses a different subset of the helpers.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const READY_MARKER: &str = "listening for Bolt on ";
const START_DEADLINE: Duration = Duration::from_secs(30);
const POLL_INTERVAL: Duration = Duration::from_millis(10);

static NEXT_DIR: AtomicUsize = AtomicUsize::new(0);

/// A running server; killed when dropped.
pub struct Server {
    child: Child,
    workdir: PathBuf,
    log_path: PathBuf,
    /// `host:port` as printed in the ready line.
    pub addr: String,
}

impl Server {
    pub fn start() -> Server {
        let binary = std::env::var_os("FERROGRAPH_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_ferrograph")));
        let workdir = unique_dir();
        fs::create_dir_all(&workdir).expect("create the server's work directory");
        let log_path = workdir.join("server.log");
        let log = fs::File::create(&log_path).expect("create the server log");
        let log_err = log.try_clone().expect("clone the log handle");
        let child = Command::new(&binary)
            .arg("--bolt-address=127.0.0.1")
            .arg("--bolt-port=0")
            .arg(format!(
                "--data-directory={}",
                workdir.join("data").display()
            ))
            .arg("--log-level=INFO")
            .arg("--also-log-to-stderr=true")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut server = Server {
            child,
            workdir,
            log_path,
            addr: String::new(),
        };
        server.addr = server.wait_ready();
        server
    }

    /// `bolt://host:port`, the form both neo4rs lines accept.
    pub fn uri(&self) -> String {
        format!("bolt://{}", self.addr)
    }

    pub fn log(&self) -> String {
        fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    fn wait_ready(&mut self) -> String {
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if let Some(addr) = parse_ready_line(&self.log()) {
                return addr;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "ferrograph exited ({status}) before it was ready:\n{}",
                    self.log()
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "ferrograph printed no ready line within {START_DEADLINE:?}:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// Panics if the process has exited or its log shows a Rust panic.
    pub fn assert_healthy(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("ferrograph died ({status}):\n{}", self.log());
        }
        let log = self.log();
        assert!(!log.contains("panicked at"), "ferrograph panicked:\n{log}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let log = self.log();
        if std::thread::panicking() || log.contains("panicked at") {
            eprintln!("---- ferrograph log ({}) ----\n{log}", self.addr);
        }
        let _ = fs::remove_dir_all(&self.workdir);
    }
}

/// The `ip:port` of the first complete `listening for Bolt on <ip>:<port>` line, if any.
/// Only whole lines count: a line still being written could end in half a port number.
pub fn parse_ready_line(log: &str) -> Option<String> {
    let complete = &log[..log.rfind('\n').map_or(0, |at| at + 1)];
    let start = complete.find(READY_MARKER)? + READY_MARKER.len();
    let rest = &complete[start..];
    let ip_len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (ip, rest) = rest.split_at(ip_len);
    let port: String = rest
        .strip_prefix(':')?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    if ip.is_empty() || port.is_empty() {
        return None;
    }
    Some(format!("{ip}:{port}"))
}

fn unique_dir() -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!(
        "ferrograph-test-{}-{}-{nanos}",
        std::process::id(),
        NEXT_DIR.fetch_add(1, Ordering::Relaxed)
    ))
}

#[test]
fn ready_line_parsing() {
    let log = "INFO boot\n2026 INFO listening for Bolt on 127.0.0.1:40123 (data dir x)\n";
    assert_eq!(parse_ready_line(log).as_deref(), Some("127.0.0.1:40123"));
    assert_eq!(parse_ready_line("listening for Bolt on 127.0.0.1:\n"), None);
    assert_eq!(
        parse_ready_line("listening for Bolt on 127.0.0.1:40"),
        None,
        "partial line"
    );
    assert_eq!(parse_ready_line("nothing yet"), None);
}
