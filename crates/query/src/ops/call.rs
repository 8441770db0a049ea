//! `CALL procedure(args) YIELD ...`: runs a built-in procedure once per input row.

use std::sync::Arc;

use super::{BoxCursor, Cursor, ExecCtx};
use crate::error::Result;
use crate::expr::{Frame, PExpr};
use crate::procedures::Procedure;
use crate::value::Value;

/// What a call evaluates and where its results go.
#[derive(Debug)]
pub struct CallSpec {
    pub procedure: &'static Procedure,
    pub args: Vec<PExpr>,
    /// (result field index, frame slot) for every yielded field.
    pub outputs: Vec<(usize, usize)>,
}

pub struct Call {
    input: BoxCursor,
    spec: Arc<CallSpec>,
    /// The rest of the current input row's results.
    rows: std::vec::IntoIter<Vec<Value>>,
}

impl Call {
    pub fn new(input: BoxCursor, spec: Arc<CallSpec>) -> Call {
        Call {
            input,
            spec,
            rows: Vec::new().into_iter(),
        }
    }
}

impl Cursor for Call {
    fn pull(&mut self, frame: &mut Frame, ctx: &mut ExecCtx<'_>) -> Result<bool> {
        loop {
            if let Some(mut row) = self.rows.next() {
                for &(field, slot) in &self.spec.outputs {
                    frame[slot] = std::mem::replace(&mut row[field], Value::Null);
                }
                return Ok(true);
            }
            if !self.input.pull(frame, ctx)? {
                return Ok(false);
            }
            let args = self
                .spec
                .args
                .iter()
                .map(|a| a.eval(frame, &ctx.eval()))
                .collect::<Result<Vec<_>>>()?;
            self.rows = self.spec.procedure.run(ctx, &args)?.into_iter();
        }
    }

    fn reset(&mut self) {
        self.input.reset();
        self.rows = Vec::new().into_iter();
    }
}
