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
    storage: Arc<Storage>,
    config: EngineConfig,
    /// Plans by query text, with the storage's schema version they were made under (a plan
    /// chooses indexes, so an index change makes it stale). Parameter names are part of the
    /// plan; their values are not.
    cache: Mutex<HashMap<String, (u64, Arc<Plan>)>>,
    /// `CREATE SNAPSHOT`'s implementation, when the server has one.
    snapshots: parking_lot::RwLock<Option<Arc<dyn SnapshotMaker>>>,
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
            storage,
            config,
            cache: Mutex::new(HashMap::new()),
            snapshots: parking_lot::RwLock::new(None),
        })
    }

    /// Installs what `CREATE SNAPSHOT` calls.
    pub fn set_snapshot_maker(&self, maker: Arc<dyn SnapshotMaker>) {
        *self.snapshots.write() = Some(maker);
    }

    pub(crate) fn snapshot_maker(&self) -> Option<Arc<dyn SnapshotMaker>> {
        self.snapshots.read().clone()
    }

    pub fn storage(&self) -> &Arc<Storage> {
        &self.storage
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub fn session(self: &Arc<Self>) -> Session {
        Session::new(self.clone())
    }

    /// The cached plan for `text`, planning it on a miss. Errors are not cached.
    pub fn plan(&self, text: &str) -> Result<Arc<Plan>> {
        let version = self.storage.schema_version();
        if let Some((v, plan)) = self.cache.lock().get(text) {
            if *v == version {
                return Ok(plan.clone());
            }
        }
        let stmt = cypher::parse(text).map_err(|e| QueryError::Syntax(e.to_string()))?;
        let plan = Arc::new(planner::plan(&stmt, &self.storage)?);
        let mut cache = self.cache.lock();
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
