//! Physical operators: a pull-based cursor tree (Volcano style).
//!
//! Every cursor implements [`Cursor::pull`]: it writes the next row into the shared [`Frame`]
//! (one slot per symbol, resolved at plan time) and returns `true`, or returns `false` when it is
//! exhausted. Cursors own their state and no borrow of the transaction, so a half-consumed cursor
//! tree can wait between two Bolt PULLs; the transaction is lent to it for each pull through
//! [`ExecCtx`]. `reset` rewinds a cursor so it can run again for the next row of an outer
//! operator (OPTIONAL MATCH, subqueries).

mod call;
mod kernel;
mod load_csv;
mod merge;
mod parallel;
mod read;
mod shortest;
mod transform;
mod varlen;
mod write;

pub use call::{Call, CallSpec};
pub use load_csv::{LoadCsv, LoadCsvSpec, MAX_RECORD_BYTES};
pub use merge::{Merge, MergeSpec};
pub use parallel::{morsel_size, set_morsel_size, MorselScan, MorselScanSpec};
pub use read::{
    Direction, Expand, ExpandSpec, IndexSeek, IndexSeekSpec, ScanAll, ScanLabel, Seek, SeekBound,
};
pub use shortest::{shortest_paths, ShortestPath, ShortestSpec, Step, TxGraph};
pub use transform::{
    AggFunc, AggSpec, Aggregate, ConstructPath, Distinct, Eager, Filter, Limit, Once, Optional,
    OrderBy, Project, ScanAggregate, Skip, Union, Unwind,
};
pub use varlen::{EdgesDistinct, VarExpand, VarExpandSpec};
pub use write::{Create, CreateStep, Delete, RemoveItem, SetItem, Update, UpdateItem};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use storage::Transaction;

use crate::error::{QueryError, Result};
use crate::expr::{EvalCtx, Frame};
use crate::value::Value;

/// Counters reported in the Bolt summary's `stats`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub nodes_created: u64,
    pub nodes_deleted: u64,
    pub relationships_created: u64,
    pub relationships_deleted: u64,
    pub properties_set: u64,
    pub labels_added: u64,
    pub labels_removed: u64,
    pub indexes_added: u64,
    pub indexes_removed: u64,
    pub constraints_added: u64,
    pub constraints_removed: u64,
}

impl Stats {
    pub fn contains_updates(&self) -> bool {
        *self != Stats::default()
    }

    /// The non-zero counters with Neo4j's hyphenated names.
    pub fn entries(&self) -> Vec<(&'static str, i64)> {
        [
            ("nodes-created", self.nodes_created),
            ("nodes-deleted", self.nodes_deleted),
            ("relationships-created", self.relationships_created),
            ("relationships-deleted", self.relationships_deleted),
            ("properties-set", self.properties_set),
            ("labels-added", self.labels_added),
            ("labels-removed", self.labels_removed),
            ("indexes-added", self.indexes_added),
            ("indexes-removed", self.indexes_removed),
            ("constraints-added", self.constraints_added),
            ("constraints-removed", self.constraints_removed),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| (k, n as i64))
        .collect()
    }
}

/// Looks for a reason to stop (e.g. a RESET that arrived on the client's socket); called by
/// [`Guard::check`] every few thousand rows, so it may do a cheap non-blocking system call.
pub type InterruptProbe = Arc<dyn Fn() -> bool + Send + Sync>;

/// Cancellation and time limit of one query, checked by long-running cursors.
#[derive(Clone)]
pub struct Guard {
    pub interrupt: Arc<AtomicBool>,
    pub deadline: Option<(Instant, u64)>,
    pub probe: Option<InterruptProbe>,
    /// The process's allocation limit in bytes (0 = none), see [`crate::memory`].
    pub memory_limit: u64,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("interrupt", &self.interrupt)
            .field("deadline", &self.deadline)
            .field("probe", &self.probe.is_some())
            .field("memory_limit", &self.memory_limit)
            .finish()
    }
}

impl Guard {
    pub fn unlimited() -> Guard {
        Guard {
            interrupt: Arc::new(AtomicBool::new(false)),
            deadline: None,
            probe: None,
            memory_limit: 0,
        }
    }

    /// The interrupt flag, the deadline and the memory limit (cheap).
    pub fn check(&self) -> Result<()> {
        crate::memory::check(self.memory_limit)?;
        if self.interrupt.load(Ordering::Relaxed) {
            return Err(QueryError::Interrupted);
        }
        if let Some((deadline, secs)) = self.deadline {
            if Instant::now() >= deadline {
                return Err(QueryError::Timeout(secs));
            }
        }
        Ok(())
    }

    /// Also runs the probe (a system call or so): for the periodic checks of long loops.
    pub fn check_with_probe(&self) -> Result<()> {
        if let Some(probe) = &self.probe {
            if probe() {
                self.interrupt.store(true, Ordering::Relaxed);
            }
        }
        self.check()
    }
}

/// How often (in rows) loops check the guard.
pub(crate) const GUARD_EVERY: u32 = 1024;

/// The transaction as a cursor tree may use it: exclusively for a query (which may write), or
/// shared for a read-only sub-plan evaluated inside an expression (a pattern predicate, EXISTS,
/// a pattern comprehension), where only a `&Transaction` is at hand.
pub enum TxRef<'a> {
    Exclusive(&'a mut Transaction),
    Shared(&'a Transaction),
}

/// Everything a cursor may use during one pull.
pub struct ExecCtx<'a> {
    tx: TxRef<'a>,
    pub params: &'a [Value],
    pub stats: &'a mut Stats,
    pub guard: &'a Guard,
    pub ticks: u32,
    /// The gid range a [`MorselScan`] is to scan next (set by its parallel aggregation).
    pub morsel: Option<std::ops::Range<storage::Gid>>,
}

impl<'a> ExecCtx<'a> {
    pub fn new(
        tx: TxRef<'a>,
        params: &'a [Value],
        stats: &'a mut Stats,
        guard: &'a Guard,
    ) -> ExecCtx<'a> {
        ExecCtx {
            tx,
            params,
            stats,
            guard,
            ticks: 0,
            morsel: None,
        }
    }
}

impl ExecCtx<'_> {
    /// The transaction, for reading.
    pub fn tx(&self) -> &Transaction {
        match &self.tx {
            TxRef::Exclusive(t) => t,
            TxRef::Shared(t) => t,
        }
    }

    /// The transaction, for writing; an error in a read-only sub-plan (the planner never puts a
    /// write there, so this is a bug guard, not a user-facing path).
    pub fn tx_mut(&mut self) -> Result<&mut Transaction> {
        match &mut self.tx {
            TxRef::Exclusive(t) => Ok(t),
            TxRef::Shared(_) => Err(QueryError::semantic(
                "A write cannot run inside an expression's read-only sub-query.",
            )),
        }
    }

    /// The transaction for writing and the statistics to count the writes in.
    pub fn tx_mut_and_stats(&mut self) -> Result<(&mut Transaction, &mut Stats)> {
        match &mut self.tx {
            TxRef::Exclusive(t) => Ok((t, self.stats)),
            TxRef::Shared(_) => Err(QueryError::semantic(
                "A write cannot run inside an expression's read-only sub-query.",
            )),
        }
    }

    pub fn eval(&self) -> EvalCtx<'_> {
        EvalCtx {
            tx: self.tx(),
            params: self.params,
            memory_limit: self.guard.memory_limit,
        }
    }

    /// Cheap periodic guard check for loops.
    pub fn tick(&mut self) -> Result<()> {
        self.ticks = self.ticks.wrapping_add(1);
        if self.ticks.is_multiple_of(GUARD_EVERY) {
            self.guard.check_with_probe()?;
        }
        Ok(())
    }

    /// [`ExecCtx::tick`] for loops that buffer every row (sort, aggregation, DISTINCT, eager
    /// barriers): the memory limit is also checked on every row (an atomic load), as each row
    /// may hold a large value.
    pub fn tick_buffering(&mut self) -> Result<()> {
        crate::memory::check(self.guard.memory_limit)?;
        self.tick()
    }
}

pub trait Cursor: Send {
    /// Writes the next row into `frame`; `Ok(false)` when exhausted.
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<bool>;
    /// Rewinds to the state right after construction (the input is reset too).
    fn reset(&mut self);
}

pub type BoxCursor = Box<dyn Cursor>;

/// For operators that buffer their input (eager barriers, sorts, DELETE): moves the next
/// buffered row into `frame`; `false` when none is left.
pub(crate) fn replay(rows: &mut Option<std::vec::IntoIter<Frame>>, frame: &mut Frame) -> bool {
    match rows.as_mut().and_then(Iterator::next) {
        Some(row) => {
            *frame = row;
            true
        }
        None => false,
    }
}
