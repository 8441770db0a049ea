//! Index selection: when a pattern's first node has a label with a label+property index and the
//! pattern's property map or the clause's WHERE constrains that property, the scan becomes an
//! index seek (equality) or range. The predicates themselves stay in the plan as filters, so a
//! seek only narrows the candidates, with one exception: the equality of the pattern's own map
//! that an equality seek is built from moves into the seek (see `IndexSeekSpec::residual`),
//! which decides it without reading the property again.

use cypher::ast::{ComparisonOp, Expr};

use super::expr::translate;
use super::semantic::walk;
use super::{Planner, Scope};
use crate::expr::{CmpOp, PExpr};
use crate::ops::{IndexSeekSpec, Seek, SeekBound};

/// The best seek for a node about to be scanned, if any index applies, and the position of the
/// entry of the pattern's map whose equality the seek decides (the caller leaves it out of the
/// filters).
///
/// `var` is the node's variable (already bound in `scope` to `slot`); value expressions may use
/// only variables bound before it, parameters and constants.
pub(super) fn choose_seek(
    p: &mut Planner<'_>,
    scope: &Scope,
    var: Option<&str>,
    slot: usize,
    labels: &[String],
    props: Option<&Expr>,
    where_clause: Option<&Expr>,
) -> Option<(IndexSeekSpec, Option<usize>)> {
    let storage = p.storage;
    let indexed: Vec<_> = labels
        .iter()
        .map(|l| storage.label(l))
        .filter(|l| storage.has_any_property_index(*l))
        .collect();
    if indexed.is_empty() {
        return None;
    }
    // Equality from the pattern's own map first: `(n:L {p: v})`.
    if let Some(Expr::Map(entries)) = props {
        for (entry, (key, value)) in entries.iter().enumerate() {
            if !is_seek_value(scope, var, value) {
                continue;
            }
            let property = storage.property(key);
            if let Some(label) = indexed
                .iter()
                .find(|l| storage.has_label_property_index(**l, property))
            {
                let value = translate(p, scope, value).ok()?;
                let residual = PExpr::Compare(
                    Box::new(PExpr::Property(
                        Box::new(PExpr::Slot(slot)),
                        property,
                        key.clone(),
                    )),
                    vec![(CmpOp::Eq, value.clone())],
                );
                let spec = IndexSeekSpec {
                    slot,
                    label: *label,
                    property,
                    seek: Seek::Eq(value),
                    residual: Some(residual),
                };
                return Some((spec, Some(entry)));
            }
        }
    }
    let var = var?;
    let conjuncts = match where_clause {
        Some(Expr::And(items)) => items.iter().collect(),
        Some(e) => vec![e],
        None => vec![],
    };
    // Then `WHERE n.p = v`, then ranges `WHERE n.p > a AND n.p <= b`.
    let mut comparisons = Vec::new();
    for c in conjuncts {
        if let Some(cmp) = comparison_on(c, var) {
            if is_seek_value(scope, Some(var), cmp.value) {
                comparisons.push(cmp);
            }
        }
    }
    for want_eq in [true, false] {
        for cmp in &comparisons {
            if (cmp.op == ComparisonOp::Eq) != want_eq {
                continue;
            }
            let property = storage.property(cmp.key);
            let Some(label) = indexed
                .iter()
                .find(|l| storage.has_label_property_index(**l, property))
                .copied()
            else {
                continue;
            };
            let seek = if want_eq {
                Seek::Eq(translate(p, scope, cmp.value).ok()?)
            } else {
                range_for(p, scope, &comparisons, cmp.key)?
            };
            let spec = IndexSeekSpec {
                slot,
                label,
                property,
                seek,
                residual: None,
            };
            return Some((spec, None));
        }
    }
    None
}

/// `var.key OP value`, normalised so the property is on the left.
struct Comparison<'a> {
    key: &'a str,
    op: ComparisonOp,
    value: &'a Expr,
}

fn comparison_on<'a>(e: &'a Expr, var: &str) -> Option<Comparison<'a>> {
    let Expr::Comparison { first, rest } = e else {
        return None;
    };
    let [(op, right)] = rest.as_slice() else {
        return None;
    };
    let property_of = |e: &'a Expr| match e {
        Expr::Property { expr, key } if matches!(&**expr, Expr::Variable(v) if v == var) => {
            Some(key.as_str())
        }
        _ => None,
    };
    if let Some(key) = property_of(first) {
        return Some(Comparison {
            key,
            op: *op,
            value: right,
        });
    }
    let key = property_of(right)?;
    let flipped = match op {
        ComparisonOp::Lt => ComparisonOp::Gt,
        ComparisonOp::Gt => ComparisonOp::Lt,
        ComparisonOp::Le => ComparisonOp::Ge,
        ComparisonOp::Ge => ComparisonOp::Le,
        other => *other,
    };
    Some(Comparison {
        key,
        op: flipped,
        value: first,
    })
}

/// The range over `key` from every `<`, `<=`, `>`, `>=` on it (the first of each side).
fn range_for(
    p: &mut Planner<'_>,
    scope: &Scope,
    comparisons: &[Comparison<'_>],
    key: &str,
) -> Option<Seek> {
    let (mut lower, mut upper) = (None, None);
    for cmp in comparisons.iter().filter(|c| c.key == key) {
        let (side, inclusive) = match cmp.op {
            ComparisonOp::Gt => (&mut lower, false),
            ComparisonOp::Ge => (&mut lower, true),
            ComparisonOp::Lt => (&mut upper, false),
            ComparisonOp::Le => (&mut upper, true),
            _ => continue,
        };
        if side.is_none() {
            *side = Some(SeekBound {
                expr: translate(p, scope, cmp.value).ok()?,
                inclusive,
            });
        }
    }
    (lower.is_some() || upper.is_some()).then_some(Seek::Range { lower, upper })
}

/// Whether `value` can be evaluated before the node is bound: no reference to the node itself
/// or to variables not bound yet, nothing that introduces variables or reads patterns.
fn is_seek_value(scope: &Scope, var: Option<&str>, value: &Expr) -> bool {
    let mut ok = true;
    walk(value, &mut |e| match e {
        Expr::Variable(name) if Some(name.as_str()) == var || scope.get(name).is_none() => {
            ok = false
        }
        Expr::FunctionCall { name, .. } if name.eq_ignore_ascii_case("rand") => ok = false,
        Expr::ListComprehension { .. }
        | Expr::Quantifier { .. }
        | Expr::Reduce { .. }
        | Expr::PatternComprehension { .. }
        | Expr::Exists(_)
        | Expr::PatternPredicate(_) => ok = false,
        _ => {}
    });
    ok
}
