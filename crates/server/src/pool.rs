//! The Bolt worker pool: a fixed number of threads (`--bolt-num-workers`, default one per
//! core) serve every connection through one shared epoll instance.
//!
//! Each connection is registered one-shot ([`crate::epoll`]): a readiness report hands it to
//! one worker, which does one bounded turn of work ([`Connection::on_ready`]) and re-arms it.
//! Each `epoll_wait` takes a single report, so a worker busy with a long query holds only that
//! connection, and the other workers keep serving everyone else. With many busy clients a
//! worker finds the next ready connection without sleeping, so requests cost no thread
//! wake-ups or context switches (the thread-per-connection model paid two per request).

use std::collections::HashMap;
use std::io::Write;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use tracing::{debug, error, warn};

use crate::connection::{Connection, Next};
use crate::epoll::{Epoll, Event, READABLE};

/// The token of the wake-up socket (connection ids start at 1).
const WAKE_TOKEN: u64 = 0;
/// Read buffer of each worker.
const READ_BUFFER_BYTES: usize = 64 * 1024;

/// One registered connection.
pub struct Slot {
    /// A second handle on the socket, to shut it down from outside the worker serving it
    /// (handshake timeout, server shutdown): the worker then sees EOF and closes.
    sock: TcpStream,
    conn: Mutex<Option<Connection>>,
    handshaken: AtomicBool,
}

impl Slot {
    pub fn handshaken(&self) -> bool {
        self.handshaken.load(Ordering::Acquire)
    }

    pub fn shutdown(&self) {
        let _ = self.sock.shutdown(std::net::Shutdown::Both);
    }
}

pub struct Pool {
    epoll: Epoll,
    conns: Mutex<HashMap<u64, Arc<Slot>>>,
    stop: AtomicBool,
    /// Written once at shutdown; the read end is registered level-triggered, so every worker
    /// sees it from then on.
    wake: Mutex<UnixStream>,
    _wake_rx: UnixStream,
}

impl Pool {
    pub fn new() -> std::io::Result<Arc<Pool>> {
        let epoll = Epoll::new()?;
        let (tx, rx) = UnixStream::pair()?;
        rx.set_nonblocking(true)?;
        tx.set_nonblocking(true)?;
        epoll.add_level(rx.as_raw_fd(), WAKE_TOKEN, READABLE)?;
        Ok(Arc::new(Pool {
            epoll,
            conns: Mutex::new(HashMap::new()),
            stop: AtomicBool::new(false),
            wake: Mutex::new(tx),
            _wake_rx: rx,
        }))
    }

    /// Starts `n` worker threads.
    pub fn spawn_workers(
        self: &Arc<Self>,
        n: usize,
    ) -> std::io::Result<Vec<std::thread::JoinHandle<()>>> {
        (0..n.max(1))
            .map(|i| {
                let pool = self.clone();
                std::thread::Builder::new()
                    .name(format!("bolt-worker-{i}"))
                    // Deeply nested queries parse and plan recursively (depth-capped).
                    .stack_size(8 << 20)
                    .spawn(move || pool.work())
            })
            .collect()
    }

    pub fn len(&self) -> usize {
        self.conns.lock().len()
    }

    /// Registers an accepted connection; its id must be unique and non-zero.
    pub fn add(&self, conn: Connection, id: u64) -> std::io::Result<Weak<Slot>> {
        debug_assert_ne!(id, WAKE_TOKEN);
        let sock = conn.stream().try_clone()?;
        let fd = conn.stream().as_raw_fd();
        let slot = Arc::new(Slot {
            sock,
            conn: Mutex::new(Some(conn)),
            handshaken: AtomicBool::new(false),
        });
        let weak = Arc::downgrade(&slot);
        self.conns.lock().insert(id, slot);
        if let Err(e) = self.epoll.add_oneshot(fd, id, READABLE) {
            self.conns.lock().remove(&id);
            return Err(e);
        }
        Ok(weak)
    }

    /// Shuts every connection's socket down: their workers see EOF, roll back and close them.
    pub fn shutdown_connections(&self) {
        self.stop.store(true, Ordering::Release);
        let slots: Vec<Arc<Slot>> = self.conns.lock().values().cloned().collect();
        for s in slots {
            s.shutdown();
        }
    }

    /// Makes every worker return (after [`shutdown_connections`](Self::shutdown_connections)).
    pub fn stop_workers(&self) {
        self.stop.store(true, Ordering::Release);
        let _ = self.wake.lock().write(&[1]);
    }

    fn work(&self) {
        let mut buf = vec![0u8; READ_BUFFER_BYTES];
        let mut events = [Event { token: 0 }; 1];
        loop {
            let n = match self.epoll.wait(&mut events, -1) {
                Ok(n) => n,
                Err(e) => {
                    error!("bolt worker: epoll_wait failed: {e}");
                    return;
                }
            };
            for ev in &events[..n] {
                if ev.token == WAKE_TOKEN {
                    if self.stop.load(Ordering::Acquire) {
                        return;
                    }
                    continue;
                }
                let slot = self.conns.lock().get(&ev.token).cloned();
                if let Some(slot) = slot {
                    self.serve(&slot, ev.token, &mut buf);
                }
            }
        }
    }

    /// One turn of one connection, then re-arm it or close it.
    fn serve(&self, slot: &Slot, id: u64, buf: &mut [u8]) {
        let mut guard = slot.conn.lock();
        let Some(conn) = guard.as_mut() else { return };
        let next = catch_unwind(AssertUnwindSafe(|| conn.on_ready(buf))).unwrap_or_else(|_| {
            error!(
                connection = id,
                "a request panicked; closing the connection"
            );
            Next::Close
        });
        if conn.handshaken() {
            slot.handshaken.store(true, Ordering::Release);
        }
        let fd = conn.stream().as_raw_fd();
        if let Next::Wait(interest) = next {
            match self.epoll.rearm(fd, id, interest) {
                Ok(()) => return,
                Err(e) => warn!(connection = id, "cannot wait for the connection: {e}"),
            }
        }
        let _ = self.epoll.delete(fd);
        let mut conn = guard.take().expect("checked above");
        drop(guard);
        let _ = catch_unwind(AssertUnwindSafe(|| conn.close()));
        drop(conn);
        self.conns.lock().remove(&id);
        debug!(connection = id, "closed");
    }
}
