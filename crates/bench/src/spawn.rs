//! Starting a server for a benchmark run: the given binary on a free loopback port with a
//! fresh data directory, stopped (SIGTERM) when dropped.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

pub struct Spawned {
    child: Child,
    pub addr: String,
    dir: PathBuf,
}

impl Spawned {
    pub fn start(bin: &str, extra_args: &[String]) -> Result<Spawned> {
        let dir = std::env::temp_dir().join(format!("ferrograph-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut child = Command::new(bin)
            .arg("--bolt-address=127.0.0.1")
            .arg("--bolt-port=0")
            .arg(format!("--data-directory={}", dir.display()))
            .args(extra_args)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {bin}"))?;
        let stderr = child.stderr.take().context("no stderr")?;
        let (tx, rx) = mpsc::channel();
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
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                bail!("the server did not report its address within 30 s");
            }
        };
        Ok(Spawned { child, addr, dir })
    }

    /// The server's process id (for reading its memory use).
    pub fn pid(&self) -> u32 {
        self.child.id()
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
