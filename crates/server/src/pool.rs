//! The Bolt worker pool: a fixed number of threads (`--bolt-num-workers`, default one per
//! core) serve every connection, each from its own epoll instance.
//!
//! A connection gets a home worker when it is accepted (the one with the fewest connections)
//! and is registered one-shot in that worker's epoll ([`crate::epoll`]): a readiness report
//! hands it to one thread, which does one bounded turn of work ([`Connection::on_ready`]) and
//! re-arms it. With many busy clients a worker finds the next ready connection without
//! sleeping, so requests cost no thread wake-ups or context switches (the thread-per-connection
//! model paid two per request). Staying on one thread also keeps a connection's allocations in
//! one allocator heap: served by whichever worker was free, the 1M/5M load left ~30 MiB more
//! resident.
//!
//! A long query holds only its own worker's other connections, and not for long: a worker
//! idle for [`HELP_AFTER`] serves the ready connections of a worker whose current turn has
//! lasted longer than that (epoll instances can be waited on from any thread; the one-shot
//! registration still hands each report to one thread).
//!
//! A worker that must wait for something outside the server, such as a commit waiting for the
//! write-ahead log's fsync ([`while_blocked`]), lends its connections while it waits: idle
//! workers serve them at once, and when every worker is waiting, a spare thread is started (up
//! to [`MAX_SPARES`]) so that other clients' commits can join the same fsync (group commit)
//! instead of queueing behind a few blocked workers. Spares exit once nothing is blocked.

use std::collections::HashMap;
use std::io::Write;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tracing::{debug, error, warn};

use crate::connection::{Connection, Next};
use crate::epoll::{Epoll, Event, READABLE};

/// The most spare threads started while every worker is blocked (see the module doc).
pub const MAX_SPARES: usize = 64;
/// A spare with nothing to serve looks again after this long, and exits once nothing has been
/// blocked for [`SPARE_LINGER`].
const SPARE_POLL: Duration = Duration::from_micros(100);
const SPARE_LINGER: Duration = Duration::from_millis(50);

thread_local! {
    /// The pool and worker (None: a spare) this thread serves, for [`while_blocked`].
    static CURRENT: std::cell::RefCell<Option<(Arc<Pool>, Option<usize>)>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `wait`, a blocking wait outside the server (a WAL flush), letting other threads serve
/// this worker's connections meanwhile. Outside a pool thread it just runs `wait`.
pub fn while_blocked<R>(wait: impl FnOnce() -> R) -> R {
    let current = CURRENT.with(|c| c.borrow().clone());
    let Some((pool, me)) = current else {
        return wait();
    };
    if let Some(me) = me {
        pool.workers[me].lending.store(true, Ordering::Release);
    }
    let blocked = pool.blocked.fetch_add(1, Ordering::AcqRel) + 1;
    let running = pool.workers.len() + pool.spares.load(Ordering::Acquire);
    if blocked >= running && !pool.stop.load(Ordering::Acquire) {
        pool.start_spare();
    }
    let result = wait();
    pool.blocked.fetch_sub(1, Ordering::AcqRel);
    if let Some(me) = me {
        pool.workers[me].lending.store(false, Ordering::Release);
    }
    result
}

/// The token of the wake-up socket (connection ids start at 1).
const WAKE_TOKEN: u64 = 0;
/// Read buffer of each worker.
const READ_BUFFER_BYTES: usize = 64 * 1024;
/// How often at most a worker runs the idle hook.
const IDLE_HOOK_EVERY: Duration = Duration::from_millis(100);
/// An idle worker looks for a stuck worker this often, and helps one whose turn has lasted
/// longer than this.
const HELP_AFTER: Duration = Duration::from_millis(10);
/// The longest a worker's busy poll may be set to (`--bolt-busy-poll-us`).
pub const MAX_BUSY_POLL: Duration = Duration::from_millis(10);

/// Whether a worker's busy polls catch requests (see [`Pool::work`]). After
/// [`BusyPoll::MISSES`] polls in a row that ended without one (the clients take longer than the
/// poll to send their next request), the worker sleeps at once and tries a poll again only
/// every [`BusyPoll::RETRY_EVERY`] requests, so slow clients cost no spinning.
#[derive(Default)]
struct BusyPoll {
    misses: u32,
    skipped: u32,
}

impl BusyPoll {
    const MISSES: u32 = 4;
    const RETRY_EVERY: u32 = 32;

    fn worth_it(&mut self, budget: Duration) -> bool {
        if budget.is_zero() {
            return false;
        }
        if self.misses < Self::MISSES {
            return true;
        }
        self.skipped += 1;
        if self.skipped >= Self::RETRY_EVERY {
            self.skipped = 0;
            return true;
        }
        false
    }

    fn record(&mut self, caught: bool) {
        if caught {
            self.misses = 0;
        } else {
            self.misses = self.misses.saturating_add(1);
        }
    }
}

/// One registered connection.
pub struct Slot {
    /// A second handle on the socket, to shut it down from outside the worker serving it
    /// (handshake timeout, server shutdown): the worker then sees EOF and closes.
    sock: TcpStream,
    conn: Mutex<Option<Connection>>,
    handshaken: AtomicBool,
    /// The worker whose epoll the connection is registered in.
    home: usize,
}

impl Slot {
    pub fn handshaken(&self) -> bool {
        self.handshaken.load(Ordering::Acquire)
    }

    pub fn shutdown(&self) {
        let _ = self.sock.shutdown(std::net::Shutdown::Both);
    }
}

struct Worker {
    epoll: Epoll,
    /// When the current turn started (microseconds since the pool started, +1); 0: no turn.
    turn_since: AtomicU64,
    /// Connections at home here.
    conns: AtomicUsize,
    /// The worker is blocked in [`while_blocked`]: others serve its connections.
    lending: AtomicBool,
}

pub struct Pool {
    workers: Vec<Worker>,
    started: Instant,
    /// Called by a worker about to sleep (at most every [`IDLE_HOOK_EVERY`]).
    on_idle: fn(),
    conns: Mutex<HashMap<u64, Arc<Slot>>>,
    stop: AtomicBool,
    /// Written once at shutdown; the read end is registered level-triggered in every epoll, so
    /// every worker sees it from then on.
    wake: Mutex<UnixStream>,
    _wake_rx: UnixStream,
    /// Threads inside [`while_blocked`].
    blocked: AtomicUsize,
    /// Spare threads running.
    spares: AtomicUsize,
    /// How long a worker that has just served a request polls for the next one before it
    /// sleeps (see [`Pool::work`]).
    busy_poll: Duration,
}

impl Pool {
    pub fn new(workers: usize, busy_poll: Duration, on_idle: fn()) -> std::io::Result<Arc<Pool>> {
        let (tx, rx) = UnixStream::pair()?;
        rx.set_nonblocking(true)?;
        tx.set_nonblocking(true)?;
        let workers = (0..workers.max(1))
            .map(|_| {
                let epoll = Epoll::new()?;
                epoll.add_level(rx.as_raw_fd(), WAKE_TOKEN, READABLE)?;
                Ok(Worker {
                    epoll,
                    turn_since: AtomicU64::new(0),
                    conns: AtomicUsize::new(0),
                    lending: AtomicBool::new(false),
                })
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Arc::new(Pool {
            workers,
            started: Instant::now(),
            on_idle,
            conns: Mutex::new(HashMap::new()),
            stop: AtomicBool::new(false),
            wake: Mutex::new(tx),
            _wake_rx: rx,
            blocked: AtomicUsize::new(0),
            spares: AtomicUsize::new(0),
            busy_poll: busy_poll.min(MAX_BUSY_POLL),
        }))
    }

    /// Starts the worker threads.
    pub fn spawn_workers(self: &Arc<Self>) -> std::io::Result<Vec<std::thread::JoinHandle<()>>> {
        (0..self.workers.len())
            .map(|i| {
                let pool = self.clone();
                std::thread::Builder::new()
                    .name(format!("bolt-worker-{i}"))
                    // Deeply nested queries parse and plan recursively (depth-capped).
                    .stack_size(8 << 20)
                    .spawn(move || {
                        CURRENT.with(|c| *c.borrow_mut() = Some((pool.clone(), Some(i))));
                        pool.work(i)
                    })
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
        let home = (0..self.workers.len())
            .min_by_key(|&i| self.workers[i].conns.load(Ordering::Relaxed))
            .unwrap_or(0);
        let slot = Arc::new(Slot {
            sock,
            conn: Mutex::new(Some(conn)),
            handshaken: AtomicBool::new(false),
            home,
        });
        let weak = Arc::downgrade(&slot);
        self.conns.lock().insert(id, slot);
        self.workers[home].conns.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = self.workers[home].epoll.add_oneshot(fd, id, READABLE) {
            self.conns.lock().remove(&id);
            self.workers[home].conns.fetch_sub(1, Ordering::Relaxed);
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

    /// How long an idle worker sleeps before looking for connections to help with: 1 ms while
    /// some worker is blocked in [`while_blocked`].
    fn nap_ms(&self) -> i32 {
        if self.blocked.load(Ordering::Acquire) > 0 {
            1
        } else {
            HELP_AFTER.as_millis() as i32
        }
    }

    fn now_micros(&self) -> u64 {
        self.started.elapsed().as_micros() as u64 + 1
    }

    /// A worker's loop. After serving a connection it polls its epoll without sleeping for up
    /// to `busy_poll`: a request/response client sends its next request a few microseconds
    /// after it read the answer, and a worker that is still awake takes it at once. Asleep, it
    /// would first have to be woken, which on a virtual machine's idle core costs tens of
    /// microseconds: that wake-up, not the query, was most of a `RETURN 1` round trip. The
    /// poll only follows work, so an idle server does not spin.
    fn work(&self, me: usize) {
        let mut buf = vec![0u8; READ_BUFFER_BYTES];
        let mut events = [Event { token: 0 }; 1];
        let mut idle_hook_at = Instant::now();
        let own = &self.workers[me].epoll;
        let mut served = false;
        let mut poll = BusyPoll::default();
        loop {
            let mut ready = own.wait(&mut events, 0);
            if served && matches!(ready, Ok(0)) && poll.worth_it(self.busy_poll) {
                let until = Instant::now() + self.busy_poll;
                while matches!(ready, Ok(0)) && Instant::now() < until {
                    for _ in 0..32 {
                        std::hint::spin_loop();
                    }
                    ready = own.wait(&mut events, 0);
                }
                poll.record(!matches!(ready, Ok(0)));
            }
            served = false;
            if matches!(ready, Ok(0)) {
                // About to sleep: run the hook, but not after every request of a
                // request/response client (a worker goes idle after each one).
                if idle_hook_at.elapsed() >= IDLE_HOOK_EVERY {
                    (self.on_idle)();
                    idle_hook_at = Instant::now();
                }
                ready = own.wait(&mut events, self.nap_ms());
                if matches!(ready, Ok(0)) {
                    self.help(Some(me), &mut buf);
                    continue;
                }
            }
            let n = match ready {
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
                self.serve(Some(me), ev.token, &mut buf);
                served = true;
            }
        }
    }

    /// Serves the ready connections of workers stuck in a long turn or blocked in
    /// [`while_blocked`] (one each per call); returns how many it served.
    fn help(&self, me: Option<usize>, buf: &mut [u8]) -> usize {
        let now = self.now_micros();
        let long = HELP_AFTER.as_micros() as u64;
        let mut served = 0;
        for (i, w) in self.workers.iter().enumerate() {
            let since = w.turn_since.load(Ordering::Relaxed);
            let stuck = since != 0 && now.saturating_sub(since) >= long;
            if Some(i) == me || !(stuck || w.lending.load(Ordering::Acquire)) {
                continue;
            }
            let mut events = [Event { token: 0 }; 1];
            if let Ok(1) = w.epoll.wait(&mut events, 0) {
                if events[0].token != WAKE_TOKEN {
                    self.serve(me, events[0].token, buf);
                    served += 1;
                }
            }
        }
        served
    }

    /// Starts a spare thread (unless [`MAX_SPARES`] run already).
    fn start_spare(self: &Arc<Self>) {
        if self
            .spares
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_SPARES).then_some(n + 1)
            })
            .is_err()
        {
            return;
        }
        let pool = self.clone();
        let started = std::thread::Builder::new()
            .name("bolt-spare".into())
            .stack_size(8 << 20)
            .spawn(move || {
                CURRENT.with(|c| *c.borrow_mut() = Some((pool.clone(), None)));
                pool.spare();
                CURRENT.with(|c| *c.borrow_mut() = None);
            });
        if let Err(e) = started {
            self.spares.fetch_sub(1, Ordering::AcqRel);
            warn!("cannot start a spare Bolt thread: {e}");
        }
    }

    /// A spare's life: serve blocked workers' connections until nothing has been blocked for a
    /// while.
    fn spare(&self) {
        let mut buf = vec![0u8; READ_BUFFER_BYTES];
        let mut quiet_since = Instant::now();
        while !self.stop.load(Ordering::Acquire) {
            if self.help(None, &mut buf) > 0 {
                quiet_since = Instant::now();
                continue;
            }
            if self.blocked.load(Ordering::Acquire) > 0 {
                quiet_since = Instant::now();
            } else if quiet_since.elapsed() >= SPARE_LINGER {
                break;
            }
            std::thread::sleep(SPARE_POLL);
        }
        self.spares.fetch_sub(1, Ordering::AcqRel);
    }

    /// One turn of one connection on worker `me` (None: a spare), then re-arm it (in its home
    /// epoll) or close.
    fn serve(&self, me: Option<usize>, id: u64, buf: &mut [u8]) {
        let Some(slot) = self.conns.lock().get(&id).cloned() else {
            return;
        };
        let mut guard = slot.conn.lock();
        let Some(conn) = guard.as_mut() else { return };
        let worker = me.map(|me| &self.workers[me]);
        if let Some(worker) = worker {
            worker
                .turn_since
                .store(self.now_micros(), Ordering::Relaxed);
        }
        let next = catch_unwind(AssertUnwindSafe(|| conn.on_ready(buf))).unwrap_or_else(|_| {
            error!(
                connection = id,
                "a request panicked; closing the connection"
            );
            Next::Close
        });
        if let Some(worker) = worker {
            worker.turn_since.store(0, Ordering::Relaxed);
        }
        if conn.handshaken() {
            slot.handshaken.store(true, Ordering::Release);
        }
        let fd = conn.stream().as_raw_fd();
        let home = &self.workers[slot.home];
        if let Next::Wait(interest) = next {
            match home.epoll.rearm(fd, id, interest) {
                Ok(()) => return,
                Err(e) => warn!(connection = id, "cannot wait for the connection: {e}"),
            }
        }
        let _ = home.epoll.delete(fd);
        let mut conn = guard.take().expect("checked above");
        drop(guard);
        let _ = catch_unwind(AssertUnwindSafe(|| conn.close()));
        drop(conn);
        home.conns.fetch_sub(1, Ordering::Relaxed);
        self.conns.lock().remove(&id);
        debug!(connection = id, "closed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_poll_that_keeps_missing_is_tried_only_now_and_then() {
        let budget = Duration::from_micros(50);
        let mut poll = BusyPoll::default();
        assert!(!poll.worth_it(Duration::ZERO), "a zero budget never polls");
        for _ in 0..BusyPoll::MISSES {
            assert!(poll.worth_it(budget));
            poll.record(false);
        }
        let tries = (0..BusyPoll::RETRY_EVERY * 3)
            .filter(|_| poll.worth_it(budget))
            .count();
        assert_eq!(tries, 3, "one try in every {}", BusyPoll::RETRY_EVERY);
        // A try that catches a request turns polling back on.
        poll.record(true);
        assert!(poll.worth_it(budget));
        assert!(poll.worth_it(budget));
    }
}
