//! # replication: one MAIN streams every commit to its REPLICAs
//!
//! The MAIN ships the WAL's frames (one encoding for the log, the wire and recovery). Each
//! registered replica has a [`client::ReplicaClient`] with its own thread and TCP connection:
//! it says hello (epochs are compared: a replica whose history branched off is `"diverged"`
//! and never overwritten), catches the replica up from the in-memory [`backlog::Backlog`], the
//! WAL files, or a snapshot (full resync), then streams new commits as they become visible and
//! sends heartbeats when idle. A REPLICA runs [`replica::ReplicaServer`], which applies commits
//! at the MAIN's timestamps into its own storage (and its own WAL).
//!
//! | mode | a commit on the MAIN ... |
//! |---|---|
//! | ASYNC | never waits |
//! | SYNC | waits (bounded) until every ready SYNC replica has applied and committed it; a replica that fails or times out gives the client a `SyncReplicationFailure` warning, not an error |
//! | STRICT_SYNC | runs two-phase commit inside the commit: prepare on every STRICT_SYNC replica, make the MAIN's WAL durable, then finalize; if one cannot prepare, nothing is committed anywhere |
//!
//! **Fencing.** Every promotion takes a term above every term the instance has heard of. A
//! replica obeys the highest term it has accepted and answers an older MAIN with
//! [`proto::Response::Fenced`]; that MAIN then refuses writes.
//!
//! Threads, not async: each replica client and each replica-side connection is one thread with
//! blocking sockets and timeouts on every read and write; the work is sequential per peer, and
//! the commit path (SYNC waits, STRICT_SYNC prepares) runs on the committing thread anyway.

pub mod auth;
pub mod backlog;
pub mod client;
pub mod proto;
pub mod replica;
pub mod sink;
pub mod state;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use durability::Wal;
use parking_lot::Mutex;
use storage::{CommitWarning, Storage};
use tracing::{info, warn};

use client::DirectFailure;
pub use client::{ReplicaClient, Status};
pub use proto::{Epoch, EpochMark};
pub use sink::ReplicatingSink;
pub use state::{Mode, ReplicaConfig, Role, State, StateFile};

use crate::backlog::Backlog;
use crate::replica::ReplicaServer;

/// What replication needs from the server around it.
pub trait Host: Send + Sync + 'static {
    /// The current storage (a full resync replaces it).
    fn storage(&self) -> Arc<Storage>;
    /// The write-ahead log, if enabled (a MAIN needs it to register replicas).
    fn wal(&self) -> Option<Arc<Wal>>;
    /// The port clients reach this instance's Bolt server on.
    fn bolt_port(&self) -> u16;
    /// MAIN, full resync: a snapshot file to send and its commit timestamp (the newest one
    /// whose later commits the WAL still holds, or a new one).
    fn resync_snapshot(&self) -> Result<(PathBuf, u64), String>;
    /// REPLICA: a path to receive a snapshot file into (on the data directory's disk).
    fn incoming_snapshot_path(&self) -> PathBuf;
    /// REPLICA: replaces all data with the snapshot file at `path` (the old files are moved
    /// aside, not deleted).
    fn install_snapshot(&self, path: &Path) -> Result<(), String>;
}

/// Settings from the command line.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `--replication-replica-check-frequency-sec`: heartbeat period; a replica silent for
    /// three periods is `"invalid"`.
    pub check_frequency: Duration,
    /// `--replication-restore-state-on-startup`.
    pub restore_state: bool,
    /// `--replication-min-replicas-to-write` (0: off).
    pub min_replicas_to_write: usize,
    /// `--replication-min-replicas-max-lag-sec`: how recent a replica's last answer must be to
    /// count for the rule above.
    pub min_replicas_max_lag: Duration,
    /// How long a SYNC commit waits for its replicas at most.
    pub sync_timeout: Duration,
    /// Bytes of recent commits kept in memory for replicas (beyond: WAL files).
    pub backlog_bytes: usize,
    /// `--replication-secret`: both ends of a replication connection must prove they know it.
    pub secret: auth::Secret,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            check_frequency: Duration::from_secs(1),
            restore_state: true,
            min_replicas_to_write: 0,
            min_replicas_max_lag: Duration::from_secs(10),
            sync_timeout: Duration::from_secs(3),
            backlog_bytes: 64 << 20,
            secret: auth::Secret::default(),
        }
    }
}

/// Memgraph's text for a write on a replica.
pub const REPLICA_WRITE_MESSAGE: &str = "Write queries are forbidden on the replica instance. Replica instances accept only read queries, while the main instance accepts read and write queries. Please retry your query on the main instance.";

const ROLE_MAIN: u8 = 0;
const ROLE_REPLICA: u8 = 1;

/// A user-facing notification from a replication query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub severity: &'static str,
    pub code: &'static str,
    pub title: String,
}

impl Notice {
    fn info(code: &'static str, title: String) -> Notice {
        Notice {
            severity: "INFO",
            code,
            title,
        }
    }
}

/// One row of SHOW REPLICAS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaRow {
    pub name: String,
    pub socket_address: String,
    pub sync_mode: &'static str,
    pub ts: u64,
    pub behind: i64,
    pub status: &'static str,
}

/// How long a restarted MAIN waits, at most, for its replicas' first answers before it serves.
const RESTART_HELLO_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// The replication state of one instance: its role, its replicas (MAIN) or its replication
/// server (REPLICA).
pub struct Replication {
    pub(crate) host: Arc<dyn Host>,
    pub(crate) settings: Settings,
    pub(crate) file: StateFile,
    pub(crate) state: Mutex<State>,
    role: AtomicU8,
    pub(crate) clients: Mutex<Vec<Arc<ReplicaClient>>>,
    pub(crate) backlog: Backlog,
    /// Set when a replica told this MAIN that a newer one exists.
    fenced: Mutex<Option<Epoch>>,
    has_clients: AtomicBool,
    /// ASYNC replicas and SYNC or STRICT_SYNC ones are registered together (see
    /// [`Replication::async_limit`]).
    async_after_sync: AtomicBool,
    has_strict: AtomicBool,
    server: Mutex<Option<ReplicaServer>>,
    /// Serializes role changes, registrations and drops.
    admin: Mutex<()>,
    /// Held while a commit is handed to replication (in commit order); a STRICT_SYNC replica
    /// turns ready under it.
    pub(crate) commit_gate: Mutex<()>,
    /// A replica: the Bolt address of the MAIN it follows (for routing tables).
    pub(crate) main_bolt: Mutex<Option<String>>,
}

impl Replication {
    /// Loads (or creates) the state of `data_directory` and resumes it: a MAIN reconnects to
    /// its registered replicas, a REPLICA starts its server again.
    pub fn start(
        host: Arc<dyn Host>,
        data_directory: &Path,
        settings: Settings,
    ) -> Result<Arc<Replication>, String> {
        let file = StateFile::new(data_directory);
        let stored = file.load()?;
        let mut state = match stored {
            Some(state) if settings.restore_state => state,
            Some(mut state) => {
                warn!("Replication configuration will NOT be stored. When the server restarts, replication state will be forgotten.");
                // The data's lineage is a fact about the data, kept either way; a replica
                // that starts as a MAIN begins an epoch of its own (as a promotion does), so
                // that what it writes is never taken for its old MAIN's commits.
                if state.role != Role::Main {
                    let term = state.max_term + 1;
                    let last = host.storage().last_commit_ts();
                    state.enter_epoch(Epoch::new(term), last);
                }
                State {
                    role: Role::Main,
                    following: None,
                    replicas: Vec::new(),
                    ..state
                }
            }
            None => State::fresh(),
        };
        if state.role == Role::Main && state.following.is_some() {
            state.following = None;
        }
        file.save(&state)?;
        let last_ts = host.storage().last_commit_ts();
        let backlog_bytes = settings.backlog_bytes;
        let repl = Arc::new(Replication {
            host,
            settings,
            file,
            role: AtomicU8::new(ROLE_MAIN),
            state: Mutex::new(state.clone()),
            clients: Mutex::new(Vec::new()),
            backlog: Backlog::new(backlog_bytes, last_ts),
            fenced: Mutex::new(None),
            has_clients: AtomicBool::new(false),
            async_after_sync: AtomicBool::new(false),
            has_strict: AtomicBool::new(false),
            server: Mutex::new(None),
            admin: Mutex::new(()),
            commit_gate: Mutex::new(()),
            main_bolt: Mutex::new(None),
        });
        match state.role {
            Role::Main => {
                for config in state.replicas {
                    info!(replica = %config.name, address = %config.socket_address(), "resuming replication to a registered replica");
                    repl.add_client(config);
                }
                // Before this MAIN takes writes: hear from each replica once (bounded), so one
                // that follows a newer MAIN fences this one first (no write slips into the
                // window after a restart and leaves it diverged).
                let deadline = std::time::Instant::now() + RESTART_HELLO_WAIT;
                for client in repl.clients() {
                    client.wait_first_hello(deadline);
                }
            }
            Role::Replica { port } => {
                repl.role.store(ROLE_REPLICA, Ordering::Release);
                repl.host.storage().set_read_only(true);
                match ReplicaServer::start(repl.clone(), port) {
                    Ok(server) => *repl.server.lock() = Some(server),
                    Err(e) => {
                        return Err(format!(
                            "cannot listen for replication on port {port} (this instance is a replica): {e}"
                        ))
                    }
                }
            }
        }
        Ok(repl)
    }

    pub fn is_main(&self) -> bool {
        self.role.load(Ordering::Acquire) == ROLE_MAIN
    }

    /// `"main"` or `"replica"`.
    pub fn role_name(&self) -> &'static str {
        if self.is_main() {
            "main"
        } else {
            "replica"
        }
    }

    /// Why a write may not run here now, in the user's words (`None`: writes are fine).
    pub fn write_refusal(&self) -> Option<String> {
        if !self.is_main() {
            return Some(REPLICA_WRITE_MESSAGE.to_owned());
        }
        if let Some(newer) = &*self.fenced.lock() {
            return Some(format!(
                "Write queries are forbidden on this instance: it is no longer the MAIN. A replica follows a newer MAIN (epoch {newer}); demote this instance with SET REPLICATION ROLE TO REPLICA WITH PORT <port> and register it on the new MAIN."
            ));
        }
        let need = self.settings.min_replicas_to_write;
        if need > 0 {
            let now = Instant::now();
            let lag = self.settings.min_replicas_max_lag;
            let good = self
                .clients
                .lock()
                .iter()
                .filter(|c| c.is_current(now, lag))
                .count();
            if good < need {
                return Some(format!(
                    "Write refused: {good} replica(s) are ready and answered within the last {} s, and --replication-min-replicas-to-write requires {need}. Check the status of the replicas using 'SHOW REPLICAS' query.",
                    lag.as_secs()
                ));
            }
        }
        None
    }

    /// Called by a client that learned of a newer MAIN.
    pub(crate) fn fence(&self, newer: Epoch) {
        if newer.term <= self.state.lock().epoch.term {
            return;
        }
        let mut fenced = self.fenced.lock();
        if fenced.as_ref().is_none_or(|e| e.term < newer.term) {
            warn!(newer = %newer, "a replica follows a newer MAIN: this instance refuses writes from now on (fencing)");
            let mut state = self.state.lock();
            state.max_term = state.max_term.max(newer.term);
            let _ = self.file.save(&state);
            *fenced = Some(newer);
        }
    }

    /// The MAIN's epoch, history and newest commit, for a Hello.
    pub(crate) fn hello_facts(&self) -> (Epoch, Vec<EpochMark>, u64) {
        let state = self.state.lock();
        (
            state.epoch.clone(),
            state.history.clone(),
            self.host.storage().last_commit_ts(),
        )
    }

    fn save(&self, state: &State) -> Result<(), String> {
        self.file.save(state)
    }

    // ------------------------------------------------------------------ queries

    /// `SET REPLICATION ROLE TO REPLICA WITH PORT <port>`.
    pub fn set_replica(self: &Arc<Self>, port: i64) -> Result<Vec<Notice>, String> {
        let _admin = self.admin.lock();
        let port = u16::try_from(port).map_err(|_| "Port number invalid!".to_owned())?;
        if !self.is_main() {
            return Err("Couldn't set role to replica!".into());
        }
        let server = ReplicaServer::start(self.clone(), port).map_err(|e| {
            warn!("cannot listen for replication on port {port}: {e}");
            "Couldn't set role to replica!".to_owned()
        })?;
        // From here on the data only changes through replication.
        self.host.storage().set_read_only(true);
        self.role.store(ROLE_REPLICA, Ordering::Release);
        let clients = std::mem::take(&mut *self.clients.lock());
        self.refresh_flags();
        for client in clients {
            client.stop();
        }
        *self.fenced.lock() = None;
        {
            let mut state = self.state.lock();
            state.role = Role::Replica { port };
            state.replicas.clear();
            if let Err(e) = self.save(&state) {
                warn!("{e}");
            }
        }
        *self.server.lock() = Some(server);
        info!(port, "this instance is now a replica");
        let mut notices = vec![Notice::info(
            "SetReplica",
            "Replica role set to REPLICA.".into(),
        )];
        if port == self.host.bolt_port() {
            notices.push(Notice {
                severity: "WARNING",
                code: "ReplicaPortWarning",
                title: "Be careful the replication port must be different from the memgraph port!"
                    .into(),
            });
        }
        Ok(notices)
    }

    /// `SET REPLICATION ROLE TO MAIN`: a new epoch with a term above every one seen.
    pub fn set_main(&self) -> Result<Vec<Notice>, String> {
        let _admin = self.admin.lock();
        if self.is_main() {
            return Err("Couldn't set replication role to main!".into());
        }
        if let Some(server) = self.server.lock().take() {
            server.stop();
        }
        if let Some(wal) = self.host.wal() {
            // What the replica applied is durable before it writes on its own.
            if let Err(e) = wal.sync() {
                warn!("cannot flush the write-ahead log while promoting: {e}");
            }
        }
        let storage = self.host.storage();
        {
            let mut state = self.state.lock();
            let term = state
                .max_term
                .max(state.following.as_ref().map_or(0, |e| e.term))
                + 1;
            let last = storage.last_commit_ts();
            state.enter_epoch(Epoch::new(term), last);
            state.role = Role::Main;
            state.following = None;
            state.replicas.clear();
            if let Err(e) = self.save(&state) {
                warn!("{e}");
            }
            info!(epoch = %state.epoch, "this instance is now the MAIN");
        }
        self.backlog.reset(storage.last_commit_ts());
        *self.fenced.lock() = None;
        self.role.store(ROLE_MAIN, Ordering::Release);
        storage.set_read_only(false);
        Ok(vec![Notice::info(
            "SetReplica",
            "Replica role set to MAIN.".into(),
        )])
    }

    /// `REGISTER REPLICA <name> <mode> TO "<address>"`. Returns once the replica accepted this
    /// MAIN; catching it up continues in the background.
    pub fn register(
        self: &Arc<Self>,
        name: &str,
        mode: Mode,
        address: &str,
    ) -> Result<Vec<Notice>, String> {
        let _admin = self.admin.lock();
        if !self.is_main() {
            return Err("Replica can't register another replica!".into());
        }
        let fail = |code: u8, why: &str| {
            format!("Couldn't register replica {name}. Error: {code} ({why})")
        };
        if self.host.wal().is_none() {
            return Err(format!("Couldn't register replica {name}: the write-ahead log is disabled (--storage-wal-enabled=false), and replication ships the write-ahead log. Restart with --storage-wal-enabled=true."));
        }
        let (host, port) = parse_address(address)?;
        let config = ReplicaConfig {
            name: name.to_owned(),
            host,
            port,
            mode,
        };
        {
            let clients = self.clients.lock();
            if clients.iter().any(|c| c.config.name == name) {
                return Err(fail(1, "a replica with this name is already registered"));
            }
            if clients
                .iter()
                .any(|c| c.config.host == config.host && c.config.port == config.port)
            {
                return Err(fail(2, "a replica with this address is already registered"));
            }
            let mixes = |a: Mode, b: Mode| clients.iter().any(|c| c.config.mode == a) && mode == b;
            if mixes(Mode::Sync, Mode::StrictSync) || mixes(Mode::StrictSync, Mode::Sync) {
                return Err("Cluster cannot consists of both STRICT_SYNC and SYNC replicas. The valid cluster consists of either STRICT_SYNC and ASYNC or SYNC and ASYNC replicas.".into());
            }
        }
        let client = Arc::new(ReplicaClient::new(config.clone()));
        match client.connect_now(self) {
            Ok(()) => {}
            Err(client::HelloError::Diverged(why)) => {
                warn!(replica = %name, "You cannot register Replica {name} to this Main because at one point Replica {name} acted as the Main instance. Both the Main and Replica {name} now hold unique data. Please resolve data conflicts and start the replication on a clean instance. ({why})");
                return Err(fail(3, &format!("the replica's data diverged from this MAIN's: {why}; start it with an empty data directory to replicate to it")));
            }
            Err(client::HelloError::Fenced(newer)) => {
                return Err(fail(5, &format!("the replica follows a newer MAIN (epoch {newer}); this instance is no longer the MAIN")));
            }
            Err(client::HelloError::Auth(why)) => {
                warn!(replica = %name, "refusing to register the replica: {why}");
                return Err(fail(
                    5,
                    &format!("replica at {}: {why}", config.socket_address()),
                ));
            }
            Err(client::HelloError::Other(why)) => {
                return Err(fail(
                    5,
                    &format!("no replica answering at {}: {why}", config.socket_address()),
                ));
            }
        }
        {
            let mut state = self.state.lock();
            state.replicas.push(config.clone());
            if let Err(e) = self.save(&state) {
                state.replicas.pop();
                client.stop();
                return Err(fail(4, &e));
            }
        }
        self.clients.lock().push(client.clone());
        self.refresh_flags();
        client.spawn(self.clone());
        info!(replica = %name, address = %config.socket_address(), mode = mode.as_str(), "registered a replica");
        Ok(vec![Notice::info(
            "RegisterReplica",
            format!("Replica {name} is registered."),
        )])
    }

    /// `DROP REPLICA <name>`: never waits for the replica.
    pub fn drop_replica(&self, name: &str) -> Result<Vec<Notice>, String> {
        let _admin = self.admin.lock();
        if !self.is_main() {
            return Err("Replica can't unregister a replica! Please rerun the query on main in order to unregister a replica from the cluster.".into());
        }
        let client = {
            let mut clients = self.clients.lock();
            let Some(at) = clients.iter().position(|c| c.config.name == name) else {
                return Err(format!("Failed to unregister the replica {name}."));
            };
            clients.remove(at)
        };
        self.refresh_flags();
        client.stop();
        let mut state = self.state.lock();
        state.replicas.retain(|r| r.name != name);
        self.save(&state)
            .map_err(|_| format!("Failed to unregister the replica {name}."))?;
        info!(replica = %name, "dropped a replica");
        Ok(vec![Notice::info(
            "DropReplica",
            format!("Replica {name} is dropped."),
        )])
    }

    /// `SHOW REPLICAS`.
    pub fn show_replicas(&self) -> Result<Vec<ReplicaRow>, String> {
        if !self.is_main() {
            return Err("Show replicas query should only be run on the main instance.".into());
        }
        let main_ts = self.host.storage().last_commit_ts();
        Ok(self
            .clients
            .lock()
            .iter()
            .map(|c| {
                let (status, ts) = c.status();
                ReplicaRow {
                    name: c.config.name.clone(),
                    socket_address: c.config.socket_address(),
                    sync_mode: c.config.mode.as_str(),
                    ts,
                    behind: ts as i64 - main_ts as i64,
                    status: status.shown(ts, main_ts),
                }
            })
            .collect())
    }

    /// A replica: the Bolt address of the MAIN it follows, once that MAIN said hello.
    pub fn main_bolt_address(&self) -> Option<String> {
        if self.is_main() {
            return None;
        }
        self.main_bolt.lock().clone()
    }

    /// Bolt routing: the ready replicas' Bolt addresses (`host:bolt port`).
    pub fn readable_replicas(&self) -> Vec<String> {
        self.clients
            .lock()
            .iter()
            .filter_map(|c| c.bolt_address())
            .collect()
    }

    /// The registered replicas' clients.
    pub fn clients(&self) -> Vec<Arc<ReplicaClient>> {
        self.clients.lock().clone()
    }

    fn add_client(self: &Arc<Self>, config: ReplicaConfig) {
        let client = Arc::new(ReplicaClient::new(config));
        self.clients.lock().push(client.clone());
        self.refresh_flags();
        client.spawn(self.clone());
    }

    fn refresh_flags(&self) {
        let clients = self.clients.lock();
        self.has_clients
            .store(!clients.is_empty(), Ordering::Release);
        self.has_strict.store(
            clients.iter().any(|c| c.config.mode == Mode::StrictSync),
            Ordering::Release,
        );
        let has = |async_mode: bool| {
            clients
                .iter()
                .any(|c| (c.config.mode == Mode::Async) == async_mode)
        };
        self.async_after_sync
            .store(has(true) && has(false), Ordering::Release);
        if clients.is_empty() {
            self.backlog.reset(self.host.storage().last_commit_ts());
        }
    }

    pub(crate) fn has_clients(&self) -> bool {
        self.has_clients.load(Ordering::Acquire)
    }

    /// How far an ASYNC replica may be sent commits when the newest is `visible`: no further
    /// than every ready SYNC and STRICT_SYNC replica has confirmed. So an ASYNC replica never
    /// holds a commit that a ready SYNC replica lacks, and after a failover to that SYNC replica
    /// (seed 002) the ASYNC one follows it without diverging. It trails the SYNC replicas by
    /// their confirmation, which a SYNC commit waits for anyway.
    pub(crate) fn async_limit(&self, visible: u64) -> u64 {
        if !self.async_after_sync.load(Ordering::Acquire) {
            return visible;
        }
        self.clients
            .lock()
            .iter()
            .filter(|c| c.config.mode != Mode::Async)
            .filter_map(|c| match c.status() {
                (client::Status::Ready, ts) => Some(ts),
                _ => None,
            })
            .fold(visible, u64::min)
    }

    /// A SYNC or STRICT_SYNC replica confirmed commits: ASYNC replicas may be sent them now.
    pub(crate) fn sync_confirmed(&self) {
        if self.async_after_sync.load(Ordering::Acquire) {
            self.backlog.notify();
        }
    }

    pub(crate) fn has_strict(&self) -> bool {
        self.has_strict.load(Ordering::Acquire)
    }

    /// After commit `ts` became visible: wakes the clients, then waits (bounded) for the SYNC
    /// replicas that were ready; returns the warning for the ones that did not confirm.
    pub fn after_commit(&self, ts: u64) -> Vec<CommitWarning> {
        if !self.has_clients() {
            return Vec::new();
        }
        let (clients, others) = {
            let all = self.clients.lock();
            let sync: Vec<_> = all
                .iter()
                .filter(|c| c.config.mode == Mode::Sync)
                .cloned()
                .collect();
            let others = all.len() - sync.len();
            (sync, others)
        };
        if clients.is_empty() {
            self.backlog.notify();
            return Vec::new();
        }
        let deadline = Instant::now() + self.settings.sync_timeout;
        let mut failed: Vec<(String, &'static str)> = Vec::new();
        // The SYNC replicas whose threads are idle get the commit from this thread directly,
        // all before any answer is read, so they apply it in parallel.
        let mut direct = Vec::new();
        let mut waiting = Vec::new();
        for client in &clients {
            match client.send_direct(self, ts) {
                Some(sent) => direct.push((client, sent)),
                None => waiting.push(client),
            }
        }
        if !waiting.is_empty() {
            // Their threads send it (and the ASYNC replicas' threads what is confirmed).
            self.backlog.notify();
        }
        for (client, sent) in direct {
            match client.finish_direct(self, sent, deadline) {
                Ok(()) => {}
                Err(DirectFailure::Failed(reason)) => {
                    failed.push((client.config.name.clone(), reason))
                }
                Err(DirectFailure::Retry) => waiting.push(client),
            }
        }
        if others > 0 {
            // The other replicas' threads: the ASYNC ones may now be sent what the SYNC ones
            // confirmed.
            self.backlog.notify();
        }
        for client in waiting {
            if let Err(reason) = client.wait_applied(ts, deadline) {
                failed.push((client.config.name.clone(), reason));
            }
        }
        if failed.is_empty() {
            return Vec::new();
        }
        vec![CommitWarning {
            code: "SyncReplicationFailure".into(),
            title: sync_failure_title(&failed),
        }]
    }
}

/// Memgraph's `SyncReplicationFailure` title for the SYNC replicas that did not confirm.
fn sync_failure_title(failed: &[(String, &'static str)]) -> String {
    let names: Vec<String> = failed.iter().map(|(n, _)| format!("'{n}'")).collect();
    let plural = failed.len() > 1;
    let names = match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.join(""),
    };
    let mut reasons: Vec<&str> = failed.iter().map(|(_, r)| *r).collect();
    reasons.dedup();
    let reason = reasons.join("; ");
    let reason = if plural {
        reason
            .replace("replica is", "replicas are")
            .replace("replica has", "replicas have")
    } else {
        reason
    };
    let timeouts: Vec<&str> = failed
        .iter()
        .filter(|(_, r)| *r == client::TIMEOUT_REASON)
        .map(|(n, _)| n.as_str())
        .collect();
    let mut title = if plural {
        format!("Failed to replicate to SYNC replicas {names}: {reason}. Replicas will be recovered automatically.")
    } else {
        format!("Failed to replicate to SYNC replica {names}: {reason}. Replica will be recovered automatically.")
    };
    title
        .push_str(" Transaction is still committed on the main instance and other alive replicas.");
    if !timeouts.is_empty() {
        title.push_str(&format!(" Main reached an RPC timeout while replicating to [{}]. One possible reason for this error is that the replica is down and in that case make sure to recover it.", timeouts.join(", ")));
    }
    title.push_str(" Check the status of the replicas using 'SHOW REPLICAS' query.");
    title
}

/// Splits `host[:port]` (port 10000 by default). IPv6 literals are not supported (as Memgraph).
pub fn parse_address(address: &str) -> Result<(String, u16), String> {
    let invalid = || {
        "Invalid socket address. The socket address must be a string defining the address and port, delimited by a single colon. The address must be valid and the port must be an integer.".to_owned()
    };
    let parts: Vec<&str> = address.split(':').collect();
    let (host, port) = match parts.as_slice() {
        [host] => (*host, 10000),
        [host, port] => (*host, port.parse::<u16>().map_err(|_| invalid())?),
        _ => return Err(invalid()),
    };
    if host.is_empty() || host.chars().any(char::is_whitespace) {
        return Err(invalid());
    }
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            parse_address("10.0.0.2").unwrap(),
            ("10.0.0.2".into(), 10000)
        );
        assert_eq!(parse_address("rep1:10001").unwrap(), ("rep1".into(), 10001));
        assert!(parse_address("a:b:c").is_err());
        assert!(parse_address("host:99999").is_err());
        assert!(parse_address("").is_err());
    }

    #[test]
    fn sync_failure_titles_read_like_memgraphs() {
        let one = sync_failure_title(&[("R1".into(), client::UNREACHABLE_REASON)]);
        assert!(one.starts_with("Failed to replicate to SYNC replica 'R1': replica is not reachable or not in sync with the main. Replica will be recovered automatically."), "{one}");
        let two = sync_failure_title(&[
            ("R1".into(), client::UNREACHABLE_REASON),
            ("R2".into(), client::UNREACHABLE_REASON),
        ]);
        assert!(
            two.starts_with(
                "Failed to replicate to SYNC replicas 'R1' and 'R2': replicas are not reachable"
            ),
            "{two}"
        );
    }
}
