//! Starting a server for a benchmark run: the given binary on a free loopback port with a
//! fresh data directory, stopped (SIGTERM) when dropped. Several can run at once (a MAIN and
//! its replicas): each has its own name and directory, and its stderr is kept for the run to
//! look at (which catch-up path a MAIN took, say).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// Lines of a server's stderr kept at most (the first ones; the startup line is among them).
const KEPT_LINES: usize = 10_000;

pub struct Spawned {
    child: Child,
    pub addr: String,
    pub dir: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
}

impl Spawned {
    pub fn start(bin: &str, extra_args: &[String]) -> Result<Spawned> {
        Spawned::start_named(bin, "server", extra_args)
    }

    /// Starts `bin` with its data in a directory of its own, named after `name`.
    pub fn start_named(bin: &str, name: &str, extra_args: &[String]) -> Result<Spawned> {
        let dir =
            std::env::temp_dir().join(format!("ferrograph-bench-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut child = Command::new(bin)
            .arg("--bolt-address=127.0.0.1")
            .arg("--bolt-port=0")
            .arg(format!("--data-directory={}", dir.display()))
            .args(extra_args)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {bin} ({name})"))?;
        let stderr = child.stderr.take().context("no stderr")?;
        let (tx, rx) = mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&log);
        // Keep draining stderr for the server's lifetime so it never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent {
                    if let Some(rest) = line.split("listening for Bolt on ").nth(1) {
                        let addr = rest.split(',').next().unwrap_or("").trim().to_string();
                        let _ = tx.send(addr);
                        sent = true;
                    }
                }
                let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
                if kept.len() < KEPT_LINES {
                    kept.push(line);
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                bail!("the server ({name}) did not report its address within 30 s");
            }
        };
        Ok(Spawned {
            child,
            addr,
            dir,
            log,
        })
    }

    /// The server's process id (for reading its memory use).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The lines of its stderr so far that contain `needle`.
    pub fn log_lines(&self, needle: &str) -> Vec<String> {
        let kept = self.log.lock().unwrap_or_else(|e| e.into_inner());
        kept.iter()
            .filter(|l| l.contains(needle))
            .cloned()
            .collect()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        // SIGTERM for a clean shutdown, then reap.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A loopback port nobody listens on right now (for a replica's replication listener, which
/// needs a port named in advance).
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}
