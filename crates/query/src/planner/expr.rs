//! AST expressions -> planned expressions.

use cypher::ast::{self, Expr};

use super::{Kind, Planner, Scope, Sym};
use crate::error::{QueryError, Result};
use crate::expr::{BinOp, CmpOp, PExpr, Quant, StrOp};
use crate::functions::Function;
use crate::ops::{AggFunc, AggSpec};
use crate::value::Value;

/// Aggregation context of a projection: grouping keys (as written) and the aggregates found.
pub(crate) struct AggCtx<'a> {
    /// Grouping-key expressions and the slots their values are in after aggregation.
    pub keys: &'a [(Expr, usize)],
    pub aggs: Vec<AggSpec>,
}

pub(crate) fn translate(p: &mut Planner<'_>, scope: &Scope, e: &Expr) -> Result<PExpr> {
    Translator {
        p,
        scope,
        agg: None,
        locals: Vec::new(),
    }
    .expr(e)
}

/// Translates an expression of an aggregating projection: aggregate calls become slots filled by
/// the Aggregate operator; sub-expressions equal to a grouping key become that key's slot.
pub(crate) fn translate_aggregated(
    p: &mut Planner<'_>,
    scope: &Scope,
    e: &Expr,
    agg: &mut AggCtx<'_>,
) -> Result<PExpr> {
    Translator {
        p,
        scope,
        agg: Some(agg),
        locals: Vec::new(),
    }
    .expr(e)
}

/// Whether an expression contains an aggregate function call (outside nested subqueries).
pub(crate) fn contains_aggregate(e: &Expr) -> bool {
    match e {
        Expr::CountStar => true,
        Expr::FunctionCall { name, args, .. } => {
            AggFunc::resolve(name).is_some() || args.iter().any(contains_aggregate)
        }
        Expr::List(items) | Expr::Or(items) | Expr::Xor(items) | Expr::And(items) => {
            items.iter().any(contains_aggregate)
        }
        Expr::Map(entries) => entries.iter().any(|(_, v)| contains_aggregate(v)),
        Expr::Property { expr, .. }
        | Expr::HasLabels { expr, .. }
        | Expr::Not(expr)
        | Expr::Unary { expr, .. }
        | Expr::IsNull(expr)
        | Expr::IsNotNull(expr) => contains_aggregate(expr),
        Expr::Index { expr, index } => contains_aggregate(expr) || contains_aggregate(index),
        Expr::Slice { expr, from, to } => {
            contains_aggregate(expr)
                || from.as_deref().is_some_and(contains_aggregate)
                || to.as_deref().is_some_and(contains_aggregate)
        }
        Expr::Comparison { first, rest } => {
            contains_aggregate(first) || rest.iter().any(|(_, e)| contains_aggregate(e))
        }
        Expr::Arithmetic { first, rest } => {
            contains_aggregate(first) || rest.iter().any(|(_, e)| contains_aggregate(e))
        }
        Expr::In { lhs, rhs } | Expr::StringMatch { lhs, rhs, .. } => {
            contains_aggregate(lhs) || contains_aggregate(rhs)
        }
        Expr::ListComprehension { list, .. }
        | Expr::Quantifier { list, .. }
        | Expr::Reduce { list, .. } => contains_aggregate(list),
        Expr::Case {
            operand,
            whens,
            else_expr,
        } => {
            operand.as_deref().is_some_and(contains_aggregate)
                || whens
                    .iter()
                    .any(|(w, t)| contains_aggregate(w) || contains_aggregate(t))
                || else_expr.as_deref().is_some_and(contains_aggregate)
        }
        _ => false,
    }
}

struct Translator<'p, 's, 'a, 'b> {
    p: &'p mut Planner<'s>,
    scope: &'p Scope,
    agg: Option<&'a mut AggCtx<'b>>,
    /// Variables of enclosing comprehensions: usable inside an aggregating expression.
    locals: Vec<String>,
}

impl Translator<'_, '_, '_, '_> {
    fn sub(&mut self, e: &Expr) -> Result<Box<PExpr>> {
        self.expr(e).map(Box::new)
    }

    fn with_var<T>(
        &mut self,
        names: &[&str],
        f: impl FnOnce(&mut Translator<'_, '_, '_, '_>, &[usize]) -> Result<T>,
    ) -> Result<T> {
        let mut inner = self.scope.clone();
        let slots: Vec<usize> = names
            .iter()
            .map(|n| {
                let slot = self.p.new_slot();
                inner.vars.insert(
                    n.to_string(),
                    Sym {
                        slot,
                        kind: Kind::Any,
                    },
                );
                slot
            })
            .collect();
        let mut t = Translator {
            p: self.p,
            scope: &inner,
            agg: self.agg.as_deref_mut(),
            locals: self
                .locals
                .iter()
                .cloned()
                .chain(names.iter().map(|n| n.to_string()))
                .collect(),
        };
        f(&mut t, &slots)
    }

    fn expr(&mut self, e: &Expr) -> Result<PExpr> {
        if let Some(agg) = &self.agg {
            if let Some((_, slot)) = agg.keys.iter().find(|(k, _)| k == e) {
                return Ok(PExpr::Slot(*slot));
            }
        }
        Ok(match e {
            Expr::Integer(i) => PExpr::Const(Value::Int(*i)),
            Expr::Float(f) => PExpr::Const(Value::Float(*f)),
            Expr::String(s) => PExpr::Const(Value::String(s.clone())),
            Expr::Bool(b) => PExpr::Const(Value::Bool(*b)),
            Expr::Null => PExpr::Const(Value::Null),
            Expr::List(items) => {
                let items = items
                    .iter()
                    .map(|i| self.expr(i))
                    .collect::<Result<Vec<_>>>()?;
                if items.iter().all(|i| matches!(i, PExpr::Const(_))) {
                    PExpr::Const(Value::List(
                        items
                            .into_iter()
                            .map(|i| match i {
                                PExpr::Const(v) => v,
                                _ => Value::Null,
                            })
                            .collect(),
                    ))
                } else {
                    PExpr::List(items)
                }
            }
            Expr::Map(entries) => PExpr::Map(
                entries
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), self.expr(v)?)))
                    .collect::<Result<_>>()?,
            ),
            Expr::Parameter(name) => PExpr::Param(self.p.param(name)),
            Expr::Variable(name) => {
                if self.agg.is_some() && !self.locals.contains(name) {
                    return Err(QueryError::semantic(format!(
                        "Variable `{name}` is used in an aggregating expression but is not a grouping key."
                    )));
                }
                match self.scope.get(name) {
                    Some(sym) => PExpr::Slot(sym.slot),
                    None => {
                        return Err(QueryError::semantic(format!(
                            "Variable `{name}` not defined."
                        )))
                    }
                }
            }
            Expr::Property { expr, key } => {
                PExpr::Property(self.sub(expr)?, self.p.storage.property(key), key.clone())
            }
            Expr::Index { expr, index } => PExpr::Index(self.sub(expr)?, self.sub(index)?),
            Expr::Slice { expr, from, to } => PExpr::Slice(
                self.sub(expr)?,
                from.as_deref().map(|e| self.sub(e)).transpose()?,
                to.as_deref().map(|e| self.sub(e)).transpose()?,
            ),
            Expr::HasLabels { expr, labels } => PExpr::HasLabels(
                self.sub(expr)?,
                labels.iter().map(|l| self.p.storage.label(l)).collect(),
            ),
            Expr::Or(items) => PExpr::Or(self.list(items)?),
            Expr::Xor(items) => PExpr::Xor(self.list(items)?),
            Expr::And(items) => PExpr::And(self.list(items)?),
            Expr::Not(e) => PExpr::Not(self.sub(e)?),
            Expr::Comparison { first, rest } => PExpr::Compare(
                self.sub(first)?,
                rest.iter()
                    .map(|(op, e)| Ok((cmp_op(*op), self.expr(e)?)))
                    .collect::<Result<_>>()?,
            ),
            Expr::Arithmetic { first, rest } => PExpr::Arith(
                self.sub(first)?,
                rest.iter()
                    .map(|(op, e)| Ok((bin_op(*op), self.expr(e)?)))
                    .collect::<Result<_>>()?,
            ),
            Expr::Unary { op, expr } => match op {
                ast::UnaryOp::Minus => match self.expr(expr)? {
                    PExpr::Const(Value::Int(i)) if i != i64::MIN => PExpr::Const(Value::Int(-i)),
                    PExpr::Const(Value::Float(f)) => PExpr::Const(Value::Float(-f)),
                    other => PExpr::Neg(Box::new(other)),
                },
                ast::UnaryOp::Plus => self.expr(expr)?,
            },
            Expr::In { lhs, rhs } => PExpr::In(self.sub(lhs)?, self.sub(rhs)?),
            Expr::StringMatch { op, lhs, rhs } => {
                let (l, r) = (self.sub(lhs)?, self.sub(rhs)?);
                match op {
                    ast::StringOp::StartsWith => PExpr::Str(StrOp::StartsWith, l, r),
                    ast::StringOp::EndsWith => PExpr::Str(StrOp::EndsWith, l, r),
                    ast::StringOp::Contains => PExpr::Str(StrOp::Contains, l, r),
                    ast::StringOp::Regex => PExpr::Regex(l, r),
                }
            }
            Expr::IsNull(e) => PExpr::IsNull(self.sub(e)?, false),
            Expr::IsNotNull(e) => PExpr::IsNull(self.sub(e)?, true),
            Expr::CountStar => self.aggregate(AggFunc::CountStar, false, &[])?,
            Expr::FunctionCall {
                name,
                distinct,
                args,
            } => {
                if let Some(f) = AggFunc::resolve(name) {
                    self.aggregate(f, *distinct, args)?
                } else if name.eq_ignore_ascii_case("exists") && args.len() == 1 {
                    // Legacy `exists(n.prop)`.
                    PExpr::IsNull(self.sub(&args[0])?, true)
                } else {
                    let f = Function::resolve(name, args.len())?;
                    PExpr::Call(f, self.list(args)?)
                }
            }
            Expr::Case {
                operand,
                whens,
                else_expr,
            } => PExpr::Case {
                operand: operand.as_deref().map(|e| self.sub(e)).transpose()?,
                whens: whens
                    .iter()
                    .map(|(w, t)| Ok((self.expr(w)?, self.expr(t)?)))
                    .collect::<Result<_>>()?,
                otherwise: else_expr.as_deref().map(|e| self.sub(e)).transpose()?,
            },
            Expr::ListComprehension {
                var,
                list,
                where_clause,
                map,
            } => {
                let list = self.sub(list)?;
                self.with_var(&[var], |t, slots| {
                    Ok(PExpr::ListComp {
                        slot: slots[0],
                        list,
                        pred: where_clause.as_deref().map(|e| t.sub(e)).transpose()?,
                        map: map.as_deref().map(|e| t.sub(e)).transpose()?,
                    })
                })?
            }
            Expr::Quantifier {
                kind,
                var,
                list,
                where_clause,
            } => {
                let list = self.sub(list)?;
                let kind = match kind {
                    ast::QuantifierKind::All => Quant::All,
                    ast::QuantifierKind::Any => Quant::Any,
                    ast::QuantifierKind::None => Quant::None,
                    ast::QuantifierKind::Single => Quant::Single,
                };
                self.with_var(&[var], |t, slots| {
                    Ok(PExpr::Quantifier {
                        kind,
                        slot: slots[0],
                        list,
                        pred: match where_clause.as_deref() {
                            Some(e) => t.sub(e)?,
                            None => Box::new(PExpr::Const(Value::Bool(true))),
                        },
                    })
                })?
            }
            Expr::Reduce {
                accumulator,
                init,
                var,
                list,
                expr,
            } => {
                let init = self.sub(init)?;
                let list = self.sub(list)?;
                self.with_var(&[accumulator, var], |t, slots| {
                    Ok(PExpr::Reduce {
                        acc: slots[0],
                        init,
                        slot: slots[1],
                        list,
                        expr: t.sub(expr)?,
                    })
                })?
            }
            Expr::PatternComprehension { .. } => return Err(unsupported("Pattern comprehension")),
            Expr::Exists(_) => return Err(unsupported("EXISTS subqueries")),
            Expr::PatternPredicate(_) => return Err(unsupported("Pattern predicates")),
            Expr::MapProjection { .. } => return Err(unsupported("Map projection")),
        })
    }

    fn list(&mut self, items: &[Expr]) -> Result<Vec<PExpr>> {
        items.iter().map(|e| self.expr(e)).collect()
    }

    fn aggregate(&mut self, func: AggFunc, distinct: bool, args: &[Expr]) -> Result<PExpr> {
        if self.agg.is_none() {
            return Err(QueryError::semantic(
                "Aggregation functions are only allowed in RETURN and WITH.",
            ));
        }
        let wanted = match func {
            AggFunc::CountStar => 0,
            AggFunc::PercentileCont | AggFunc::PercentileDisc => 2,
            _ => 1,
        };
        if args.len() != wanted {
            return Err(QueryError::semantic(format!(
                "Aggregation function {func:?} takes {wanted} argument(s), got {}.",
                args.len()
            )));
        }
        // Arguments are evaluated on the input rows: plain scope, no aggregation inside.
        let mut plain = Translator {
            p: self.p,
            scope: self.scope,
            agg: None,
            locals: Vec::new(),
        };
        let arg = args.first().map(|a| plain.expr(a)).transpose()?;
        let extra = args.get(1).map(|a| plain.expr(a)).transpose()?;
        let slot = self.p.new_slot();
        if let Some(agg) = self.agg.as_deref_mut() {
            agg.aggs.push(AggSpec {
                func,
                arg,
                extra,
                distinct,
                slot,
            });
        }
        Ok(PExpr::Slot(slot))
    }
}

fn unsupported(what: &str) -> QueryError {
    QueryError::Unsupported(format!(
        "{what} are not supported by this version of ferrograph yet."
    ))
}

fn cmp_op(op: ast::ComparisonOp) -> CmpOp {
    match op {
        ast::ComparisonOp::Eq => CmpOp::Eq,
        ast::ComparisonOp::Ne => CmpOp::Ne,
        ast::ComparisonOp::Lt => CmpOp::Lt,
        ast::ComparisonOp::Gt => CmpOp::Gt,
        ast::ComparisonOp::Le => CmpOp::Le,
        ast::ComparisonOp::Ge => CmpOp::Ge,
    }
}

fn bin_op(op: ast::ArithmeticOp) -> BinOp {
    match op {
        ast::ArithmeticOp::Add => BinOp::Add,
        ast::ArithmeticOp::Sub => BinOp::Sub,
        ast::ArithmeticOp::Mul => BinOp::Mul,
        ast::ArithmeticOp::Div => BinOp::Div,
        ast::ArithmeticOp::Mod => BinOp::Mod,
        ast::ArithmeticOp::Pow => BinOp::Pow,
    }
}
