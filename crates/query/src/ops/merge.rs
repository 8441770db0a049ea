//! MERGE: match a pattern, or create it when nothing matches.
//!
//! For every input row the match side (a sub-plan over the same frame, reading the variables the
//! pattern shares with earlier clauses) is reset and run to exhaustion first; only then are the
//! matches emitted (each after its ON MATCH items) or, when there were none, the pattern's
//! unbound parts created (then its ON CREATE items). Running the match side fresh per row is
//! what lets a later row see what an earlier row of the same MERGE created: the storage
//! iterators are opened on the transaction as it is at that row.

use std::sync::Arc;

use super::write::{apply_set, eval_props, run_create_steps};
use super::{BoxCursor, CreateStep, Cursor, ExecCtx, SetItem};
use crate::error::{QueryError, Result};
use crate::expr::Frame;
use crate::value::Value;

#[derive(Debug)]
pub struct MergeSpec {
    /// Creates the pattern's unbound parts into their own slots.
    pub create: Vec<CreateStep>,
    /// (create slot, match slot) for every named variable the pattern introduces: after a
    /// creation the values move to where the match side (and the rest of the query) reads them.
    pub moves: Vec<(usize, usize)>,
    pub on_match: Vec<SetItem>,
    pub on_create: Vec<SetItem>,
}

pub struct Merge {
    input: BoxCursor,
    sub: BoxCursor,
    spec: Arc<MergeSpec>,
    /// Matched rows of the current input row, consumed from the back.
    pending: Vec<Frame>,
}

impl Merge {
    pub fn new(input: BoxCursor, sub: BoxCursor, spec: Arc<MergeSpec>) -> Merge {
        Merge {
            input,
            sub,
            spec,
            pending: Vec::new(),
        }
    }

    fn create(&self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<()> {
        // A null property value can never be matched: creating it anyway would make the MERGE
        // succeed on data it cannot find again.
        for step in &self.spec.create {
            let (props, what) = match step {
                CreateStep::Node { props, .. } => (props, "node"),
                CreateStep::Edge { props, .. } => (props, "relationship"),
                CreateStep::Path { .. } => continue,
            };
            let Some(props) = props else { continue };
            if let Value::Map(m) = props.eval(frame, &ctx.eval())? {
                if let Some((k, _)) = m.iter().find(|(_, v)| v.is_null()) {
                    return Err(QueryError::semantic(format!(
                        "Cannot merge {what} using null property value for {k}."
                    )));
                }
            } else {
                eval_props(props, frame, ctx)?;
            }
        }
        run_create_steps(&self.spec.create, frame, ctx)?;
        for (from, to) in &self.spec.moves {
            frame[*to] = frame[*from].clone();
        }
        for item in &self.spec.on_create {
            apply_set(item, frame, ctx)?;
        }
        Ok(())
    }
}

impl Cursor for Merge {
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<bool> {
        if let Some(row) = self.pending.pop() {
            *frame = row;
            for item in &self.spec.on_match {
                apply_set(item, frame, ctx)?;
            }
            return Ok(true);
        }
        if !self.input.pull(frame, ctx)? {
            return Ok(false);
        }
        let outer = frame.clone();
        self.sub.reset();
        while self.sub.pull(frame, ctx)? {
            self.pending.push(frame.clone());
        }
        if self.pending.is_empty() {
            *frame = outer;
            self.create(frame, ctx)?;
            return Ok(true);
        }
        self.pending.reverse();
        self.pull(frame, ctx)
    }

    fn reset(&mut self) {
        self.pending.clear();
        self.input.reset();
        self.sub.reset();
    }
}
