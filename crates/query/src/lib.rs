//! # query: Cypher planning and execution
//!
//! The path of one query through this crate:
//!
//! 1. [`Engine::plan`] looks the text up in the plan cache, or parses it with the `cypher` crate
//!    and plans it ([`planner`]): variables become frame slots, parameters positions, names
//!    interned ids; clauses become an operator tree ([`plan::Op`]).
//! 2. [`Session::run`] instantiates a fresh cursor tree ([`ops`]) for the plan and returns a
//!    [`Stream`]; autocommit streams own a storage transaction, streams inside an explicit
//!    transaction use the session's.
//! 3. [`Session::pull`] pulls rows through the cursors (Volcano style, one row at a time) into
//!    a sink: the Bolt layer encodes each row as it comes, so results are never materialised
//!    as a whole (except where an operator must: sort, aggregation, eager barriers).
//!
//! Values ([`Value`]) carry graph elements by id; their labels and properties are read from the
//! transaction when an expression or the encoder needs them.
//! Temporal values (dates, times, durations) are [`storage::Temporal`]s; [`temporal`] parses,
//! constructs, compares, formats and computes with them.
//!
//! Not here yet: EXISTS bodies beyond MATCH / RETURN.
//! the operator list, indexes.

pub mod admin;
pub mod dump;
pub mod error;
pub mod expr;
pub mod functions;
pub mod memory;
pub mod ops;
pub mod plan;
pub mod planner;
pub mod procedures;
pub mod session;
pub mod subplan;
pub mod temporal;
pub mod value;

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use storage::Storage;

pub use error::{QueryError, Result};
pub use ops::Stats;
pub use planner::{Plan, QueryType};
pub use session::{Notification, PullOutcome, Session, Stream, Summary};
pub use value::{PathValue, Value};

#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// `--query-execution-timeout-sec`; 0 = no limit.
    pub query_timeout_sec: u64,
    /// Plans kept in the cache before it is cleared.
    pub plan_cache_size: usize,
    /// `--data-directory`, for `SHOW STORAGE INFO`'s `disk_usage` (`None`: report 0).
    pub data_directory: Option<std::path::PathBuf>,
    /// `--memory-limit` in bytes; 0 = no limit. Needs [`memory::Counting`] as the global
    /// allocator to take effect.
    pub memory_limit_bytes: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            query_timeout_sec: 600,
            plan_cache_size: 1000,
            data_directory: None,
            memory_limit_bytes: 0,
        }
    }
}

/// One per database: the storage, the configuration and the plan cache shared by all sessions.
pub struct Engine {
    /// Replaced as a whole when a replica loads its MAIN's snapshot (full resync): running
    /// transactions finish on the storage they began on.
    storage: parking_lot::RwLock<Arc<Storage>>,
    config: EngineConfig,
    /// Plans by query text, with the storage's schema version they were made under (a plan
    /// chooses indexes, so an index change makes it stale). Parameter names are part of the
    /// plan; their values are not.
    cache: Mutex<HashMap<String, (u64, Arc<Plan>)>>,
    /// `CREATE SNAPSHOT`'s implementation, when the server has one.
    snapshots: parking_lot::RwLock<Option<Arc<dyn SnapshotMaker>>>,
    /// The replication queries' implementation, when the server has one.
    replication: parking_lot::RwLock<Option<Arc<dyn ReplicationControl>>>,
    /// The user queries' implementation, when the server has one.
    auth: parking_lot::RwLock<Option<Arc<dyn AuthControl>>>,
}

/// What the user queries act on (`CREATE USER`, `SET PASSWORD`, `DROP USER`, `SHOW USERS`); the
/// server installs one that keeps the users on disk. Errors are the user-facing messages.
/// A password of `None` is a null password (`CREATE USER x` without `IDENTIFIED BY`).
pub trait AuthControl: Send + Sync {
    /// `CREATE USER [IF NOT EXISTS] <name> [IDENTIFIED BY <password>]`.
    fn create_user(
        &self,
        name: &str,
        password: Option<&str>,
        if_not_exists: bool,
    ) -> std::result::Result<(), String>;
    /// `SET PASSWORD FOR <name> TO <password>`.
    fn set_password(&self, name: &str, password: Option<&str>) -> std::result::Result<(), String>;
    /// `DROP USER <name>`.
    fn drop_user(&self, name: &str) -> std::result::Result<(), String>;
    /// `SHOW USERS`: the user names, sorted.
    fn users(&self) -> Vec<String>;
}

/// What the replication queries act on (the server installs one; see the `replication`
/// crate). Errors are the user-facing messages.
pub trait ReplicationControl: Send + Sync {
    /// `SET REPLICATION ROLE TO REPLICA WITH PORT <port>`.
    fn set_replica(&self, port: i64) -> std::result::Result<Vec<Notification>, String>;
    /// `SET REPLICATION ROLE TO MAIN`.
    fn set_main(&self) -> std::result::Result<Vec<Notification>, String>;
    /// `"main"` or `"replica"`.
    fn role(&self) -> &'static str;
    /// `REGISTER REPLICA <name> <mode> TO "<address>"`; `mode` is `sync`, `async` or
    /// `strict_sync`.
    fn register(
        &self,
        name: &str,
        mode: &str,
        address: &str,
    ) -> std::result::Result<Vec<Notification>, String>;
    /// `DROP REPLICA <name>`.
    fn drop_replica(&self, name: &str) -> std::result::Result<Vec<Notification>, String>;
    /// `SHOW REPLICAS`: rows of `name`, `socket_address`, `sync_mode`, `system_info`,
    /// `data_info`.
    fn show_replicas(&self) -> std::result::Result<Vec<Vec<Value>>, String>;
    /// Why writes are refused here now (a replica, a fenced MAIN, too few replicas).
    fn write_refusal(&self) -> Option<String>;
    /// Bolt routing: the writer's Bolt address when it is another instance (a replica's MAIN),
    /// and the Bolt addresses of the ready replicas (a MAIN's).
    fn routing(&self) -> Routing;
}

/// What [`ReplicationControl::routing`] knows of the other instances.
#[derive(Clone, Debug, Default)]
pub struct Routing {
    /// This instance is a replica: its MAIN's Bolt address, if known.
    pub main: Option<String>,
    /// This instance is a MAIN: its ready replicas' Bolt addresses.
    pub replicas: Vec<String>,
    /// This instance is a replica.
    pub is_replica: bool,
}

/// Takes a snapshot for `CREATE SNAPSHOT` (the server installs one when durability is on).
pub trait SnapshotMaker: Send + Sync {
    /// Writes a snapshot of the current committed state; returns the new file's path, or a
    /// message for the user.
    fn create_snapshot(&self) -> std::result::Result<String, String>;
}

impl Engine {
    pub fn new(storage: Arc<Storage>, config: EngineConfig) -> Arc<Engine> {
        Arc::new(Engine {
            storage: parking_lot::RwLock::new(storage),
            config,
            cache: Mutex::new(HashMap::new()),
            snapshots: parking_lot::RwLock::new(None),
            replication: parking_lot::RwLock::new(None),
            auth: parking_lot::RwLock::new(None),
        })
    }

    /// Installs what the replication queries call.
    pub fn set_replication(&self, control: Arc<dyn ReplicationControl>) {
        *self.replication.write() = Some(control);
    }

    pub fn replication(&self) -> Option<Arc<dyn ReplicationControl>> {
        self.replication.read().clone()
    }

    /// Installs what the user queries call.
    pub fn set_auth(&self, control: Arc<dyn AuthControl>) {
        *self.auth.write() = Some(control);
    }

    pub fn auth(&self) -> Option<Arc<dyn AuthControl>> {
        self.auth.read().clone()
    }

    /// Why a write may not start here now, if it may not.
    pub fn write_refusal(&self) -> Option<String> {
        if let Some(control) = &*self.replication.read() {
            return control.write_refusal();
        }
        None
    }

    /// Installs what `CREATE SNAPSHOT` calls.
    pub fn set_snapshot_maker(&self, maker: Arc<dyn SnapshotMaker>) {
        *self.snapshots.write() = Some(maker);
    }

    pub(crate) fn snapshot_maker(&self) -> Option<Arc<dyn SnapshotMaker>> {
        self.snapshots.read().clone()
    }

    /// The current storage.
    pub fn storage(&self) -> Arc<Storage> {
        self.storage.read().clone()
    }

    /// Replaces the storage (a replica's full resync); new transactions and plans use `new`.
    pub fn replace_storage(&self, new: Arc<Storage>) {
        let mut cache = self.cache.lock();
        *self.storage.write() = new;
        cache.clear();
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub fn session(self: &Arc<Self>) -> Session {
        Session::new(self.clone())
    }

    /// The cached plan for `text`, planning it on a miss. Errors are not cached.
    pub fn plan(&self, text: &str) -> Result<Arc<Plan>> {
        let storage = self.storage();
        let version = storage.schema_version();
        if let Some((v, plan)) = self.cache.lock().get(text) {
            if *v == version {
                return Ok(plan.clone());
            }
        }
        let stmt = cypher::parse(text).map_err(|e| QueryError::Syntax(e.to_string()))?;
        let plan = Arc::new(planner::plan(&stmt, &storage)?);
        if matches!(&*plan, Plan::Admin(a) if a.is_auth()) {
            // The text may hold a password: it is not kept in the cache.
            return Ok(plan);
        }
        let mut cache = self.cache.lock();
        if !Arc::ptr_eq(&storage, &self.storage.read()) {
            // Planned against a storage replaced meanwhile: use it once, do not cache it.
            return Ok(plan);
        }
        if cache.len() >= self.config.plan_cache_size {
            cache.clear();
        }
        cache.insert(text.to_string(), (version, plan.clone()));
        Ok(plan)
    }

    /// Runs a query to completion in its own transaction and returns the column names and rows.
    /// A convenience for tests and tools; graph elements stay as ids.
    pub fn execute(
        self: &Arc<Self>,
        text: &str,
        params: &HashMap<String, Value>,
    ) -> Result<(Vec<String>, Vec<Vec<Value>>, Summary)> {
        let mut session = self.session();
        let mut stream = session.run(text, params, false)?;
        let mut rows = Vec::new();
        let out = session.pull(&mut stream, -1, &mut |row, _| {
            rows.push(row.to_vec());
            Ok(())
        })?;
        Ok((
            stream.columns().to_vec(),
            rows,
            out.summary.unwrap_or_default(),
        ))
    }
}
