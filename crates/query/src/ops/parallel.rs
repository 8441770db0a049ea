//! Morsel-driven parallel aggregation over a vertex scan.
//!
//! `MATCH (p:Person) RETURN p.age / 10 AS b, count(*)` reads every vertex once and keeps a few
//! groups: the work is the scan and the per-row evaluation, and both split by gid range. The
//! planner turns an aggregation over a read-only, row-by-row pipeline (filters, projections,
//! expansions) that starts with a scan into a [`ScanAggregate`](super::ScanAggregate) whose
//! input starts with a [`MorselScan`] instead. At run time the gids `0..bound` are cut into
//! ranges ("morsels") of [`morsel_size`] gids; worker threads (the calling one and up to one per
//! other core, see [`Helpers`]) take the next morsel in turn, run their own copy of the pipeline
//! on it into a partial [`GroupTable`], and the tables merge in morsel order.
//!
//! Why the answer is the sequential one: the pipeline's rows for a morsel depend only on that
//! morsel's vertices, so the sequential input is the concatenation of the morsels' rows in gid
//! order; merging partial tables in that order keeps the groups' first-appearance order, counts,
//! integer sums, min/max (ties keep the earlier row) and `collect` order; DISTINCT aggregates
//! hand their first occurrences to the merge. Float sums and averages add per-morsel subtotals,
//! so their last bits may differ from a strictly sequential sum (deterministically: the morsels
//! are fixed by gid, not by thread timing). An error is the one of the lowest morsel that
//! failed, as a sequential run would report it: morsels are taken in ascending order and a
//! worker stops taking new ones after any failure, so every lower morsel still completes.
//!
//! Every worker reads through the query's one transaction (`&Transaction`: the same snapshot
//! and the same own writes), and nothing in the pipeline writes. All of the aggregation runs
//! within one pull of its cursor, so nothing else uses the transaction meanwhile.

use std::ops::{ControlFlow, Range};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use storage::{Gid, LabelId, PropertyId, Transaction};

use super::kernel::{Batch, Pipeline};
use super::transform::{AggSpec, GroupTable};
use super::{BoxCursor, Cursor, ExecCtx, Guard, Stats, TxRef};
use crate::error::Result;
use crate::expr::{Frame, PExpr};
use crate::plan::{Op, ProfileCounters};
use crate::value::Value;

/// What a [`MorselScan`] scans and reads.
#[derive(Debug)]
pub struct MorselScanSpec {
    /// The scanned variable's slot.
    pub slot: usize,
    pub label: Option<LabelId>,
    /// Properties of the scanned vertex read in the same visit, each into its slot (the
    /// planner rewrote the pipeline's `var.key` into reads of these slots).
    pub prefetch: Vec<(PropertyId, usize)>,
}

/// Scans the gid range in [`ExecCtx::morsel`]: each vertex is locked once, for the visibility
/// and label check and the prefetched properties together. Exhausted when no range is set.
pub struct MorselScan {
    spec: Arc<MorselScanSpec>,
    gids: Vec<Gid>,
    /// `prefetch.len()` values per gid.
    values: Vec<Value>,
    next: usize,
}

impl MorselScan {
    pub fn new(spec: Arc<MorselScanSpec>) -> MorselScan {
        MorselScan {
            spec,
            gids: Vec::new(),
            values: Vec::new(),
            next: 0,
        }
    }

    fn fill(&mut self, tx: &Transaction, range: Range<Gid>) {
        self.gids.clear();
        self.values.clear();
        self.next = 0;
        let (gids, values, prefetch) = (&mut self.gids, &mut self.values, &self.spec.prefetch);
        let _ = tx.scan_vertices::<()>(self.spec.label, range, |gid, vertex| {
            gids.push(gid);
            for (key, _) in prefetch {
                values.push(
                    vertex
                        .property(*key)
                        .map_or(Value::Null, |v| Value::from(&v)),
                );
            }
            ControlFlow::Continue(())
        });
    }
}

impl Cursor for MorselScan {
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<bool> {
        loop {
            if let Some(&gid) = self.gids.get(self.next) {
                ctx.tick()?;
                let width = self.spec.prefetch.len();
                let values = &mut self.values[self.next * width..(self.next + 1) * width];
                for ((_, slot), value) in self.spec.prefetch.iter().zip(values) {
                    frame[*slot] = std::mem::replace(value, Value::Null);
                }
                frame[self.spec.slot] = Value::Node(gid);
                self.next += 1;
                return Ok(true);
            }
            let Some(range) = ctx.morsel.take() else {
                return Ok(false);
            };
            self.fill(ctx.tx(), range);
        }
    }

    fn reset(&mut self) {
        self.gids.clear();
        self.values.clear();
        self.next = 0;
    }
}

/// Gids per morsel unless changed by [`set_morsel_size`].
const DEFAULT_MORSEL: u64 = 16 * 1024;

static MORSEL: AtomicU64 = AtomicU64::new(DEFAULT_MORSEL);

/// Gids per morsel: big enough that a worker's per-morsel costs (a reset, a partial table, a
/// merge) vanish, small enough that two workers finish close together.
pub fn morsel_size() -> u64 {
    MORSEL.load(Ordering::Relaxed)
}

/// Sets the morsel size (at least 1); for tests, which use tiny ones to get many morsels and
/// several workers on small graphs. Answers do not depend on it.
#[doc(hidden)]
pub fn set_morsel_size(gids: u64) {
    MORSEL.store(gids.max(1), Ordering::Relaxed);
}

/// Helper threads running in all queries, and the most there may be (cores - 1): aggregations
/// running at once share the other cores instead of each starting one thread per core.
static HELPERS_BUSY: AtomicUsize = AtomicUsize::new(0);

fn max_helpers() -> usize {
    static MAX: OnceLock<usize> = OnceLock::new();
    *MAX.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .saturating_sub(1)
    })
}

/// Helper threads reserved for one aggregation; released when dropped.
struct Helpers(usize);

impl Helpers {
    /// Up to `want` helpers, as many as are free (possibly none).
    fn reserve(want: usize) -> Helpers {
        let mut busy = HELPERS_BUSY.load(Ordering::Relaxed);
        loop {
            let take = want.min(max_helpers().saturating_sub(busy));
            if take == 0 {
                return Helpers(0);
            }
            match HELPERS_BUSY.compare_exchange_weak(
                busy,
                busy + take,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Helpers(take),
                Err(now) => busy = now,
            }
        }
    }
}

impl Drop for Helpers {
    fn drop(&mut self) {
        HELPERS_BUSY.fetch_sub(self.0, Ordering::AcqRel);
    }
}

/// One worker's partial tables, by morsel number.
type Parts = Vec<(u64, Result<GroupTable>)>;

/// Everything a worker shares with the others.
struct Shared<'a> {
    input: &'a Op,
    keys: &'a [(PExpr, usize)],
    aggs: &'a [AggSpec],
    profile: Option<&'a ProfileCounters>,
    tx: &'a Transaction,
    params: &'a [Value],
    bound: Gid,
    /// Gids per morsel (read once: tests change it between queries).
    size: u64,
    morsels: u64,
    next: AtomicU64,
    failed: AtomicBool,
}

impl Shared<'_> {
    /// Takes morsels until none is left (or one failed) and returns their partial tables.
    fn work(&self, mut frame: Frame, guard: &Guard) -> Parts {
        let mut stats = Stats::default();
        let mut ctx = ExecCtx::new(TxRef::Shared(self.tx), self.params, &mut stats, guard);
        let mut parts = Vec::new();
        // PROFILE counts rows per operator, which only the cursors do.
        let pipeline = match self.profile {
            None => Pipeline::of(self.input, self.keys, self.aggs, self.params),
            Some(_) => None,
        };
        if let Some(pipeline) = pipeline {
            let mut batch = Batch::default();
            while let Some((m, gids)) = self.next_morsel() {
                let part = pipeline
                    .aggregate(gids, self.keys, self.aggs, &mut frame, &mut ctx, &mut batch);
                if part.is_err() {
                    self.failed.store(true, Ordering::Release);
                }
                parts.push((m, part));
            }
            return parts;
        }
        let mut cursor: BoxCursor = match self.profile {
            Some(counters) => self.input.build_in(&mut Some(counters.clone())),
            None => self.input.build(),
        };
        while let Some((m, gids)) = self.next_morsel() {
            cursor.reset();
            ctx.morsel = Some(gids);
            let part = self.run_morsel(&mut *cursor, &mut frame, &mut ctx);
            if part.is_err() {
                self.failed.store(true, Ordering::Release);
            }
            parts.push((m, part));
        }
        parts
    }

    /// The number and gids of the next morsel to take, `None` when none is left or one failed.
    fn next_morsel(&self) -> Option<(u64, Range<Gid>)> {
        if self.failed.load(Ordering::Acquire) {
            return None;
        }
        let m = self.next.fetch_add(1, Ordering::AcqRel);
        let size = self.size;
        (m < self.morsels).then(|| (m, m * size..((m + 1) * size).min(self.bound)))
    }

    fn run_morsel(
        &self,
        cursor: &mut dyn Cursor,
        frame: &mut Frame,
        ctx: &mut ExecCtx<'_>,
    ) -> Result<GroupTable> {
        let mut table = GroupTable::new(true);
        while cursor.pull(frame, ctx)? {
            ctx.tick_buffering()?;
            table.add_row(self.keys, self.aggs, frame, &ctx.eval())?;
        }
        Ok(table)
    }
}

/// Runs `input` (whose leaf is a [`MorselScan`]) over every morsel, on this thread and any free
/// helpers, and returns the merged table.
pub(crate) fn aggregate(
    input: &Op,
    keys: &[(PExpr, usize)],
    aggs: &[AggSpec],
    profile: Option<&ProfileCounters>,
    frame: &mut Frame,
    ctx: &mut ExecCtx<'_>,
) -> Result<GroupTable> {
    let tx = ctx.tx();
    let bound = tx.vertex_gid_bound();
    let size = morsel_size();
    let morsels = bound.div_ceil(size);
    let shared = Shared {
        input,
        keys,
        aggs,
        profile,
        tx,
        params: ctx.params,
        bound,
        size,
        morsels,
        next: AtomicU64::new(0),
        failed: AtomicBool::new(false),
    };
    let want = usize::try_from(morsels.saturating_sub(1)).unwrap_or(usize::MAX);
    let helpers = Helpers::reserve(want);
    let guard = ctx.guard;
    let mut parts = if helpers.0 == 0 {
        shared.work(frame.clone(), guard)
    } else {
        // Helpers check the interrupt flag, the deadline and the memory limit; only this
        // thread runs the probe (a system call on the client's socket).
        let helper_guard = Guard {
            probe: None,
            ..guard.clone()
        };
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..helpers.0)
                .map(|_| {
                    let (shared, frame, guard) = (&shared, frame.clone(), &helper_guard);
                    scope.spawn(move || shared.work(frame, guard))
                })
                .collect();
            let mut parts = shared.work(frame.clone(), guard);
            for handle in handles {
                match handle.join() {
                    Ok(more) => parts.extend(more),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            parts
        })
    };
    drop(helpers);
    parts.sort_unstable_by_key(|(m, _)| *m);
    let mut table = GroupTable::new(false);
    for (_, part) in parts {
        table.merge(aggs, part?)?;
    }
    Ok(table)
}
