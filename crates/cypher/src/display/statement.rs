//! `Display` for patterns, clauses, queries and statements.

use std::fmt::{self, Display, Formatter, Write};

use super::{
    join, write_expr, write_labels, DottedName, SchemaName, StringLiteral, Var, ATOM, POSTFIX,
};
use crate::ast::*;

// ----------------------------------------------------------------------------
// Patterns
// ----------------------------------------------------------------------------

impl Display for PatternPart {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(var) = &self.var {
            write!(f, "{} = ", Var(var))?;
        }
        match self.kind {
            PatternKind::Normal => write!(f, "{}", self.element),
            PatternKind::ShortestPath => write!(f, "shortestPath({})", self.element),
            PatternKind::AllShortestPaths => write!(f, "allShortestPaths({})", self.element),
        }
    }
}

impl Display for PatternElement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.start)?;
        for (relationship, node) in &self.chain {
            write!(f, "{relationship}{node}")?;
        }
        Ok(())
    }
}

impl Display for NodePattern {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_char('(')?;
        if let Some(var) = &self.var {
            write!(f, "{}", Var(var))?;
        }
        write_labels(f, &self.labels)?;
        if let Some(properties) = &self.properties {
            if self.var.is_some() || !self.labels.is_empty() {
                f.write_char(' ')?;
            }
            write_expr(f, properties, ATOM)?;
        }
        f.write_char(')')
    }
}

impl Display for RelationshipPattern {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(if self.direction == Direction::Left {
            "<-"
        } else {
            "-"
        })?;
        let has_detail = self.var.is_some()
            || !self.types.is_empty()
            || self.var_length.is_some()
            || self.properties.is_some();
        if has_detail {
            f.write_char('[')?;
            if let Some(var) = &self.var {
                write!(f, "{}", Var(var))?;
            }
            for (i, ty) in self.types.iter().enumerate() {
                f.write_str(if i == 0 { ":" } else { "|" })?;
                write!(f, "{}", SchemaName(ty))?;
            }
            if let Some(var_length) = &self.var_length {
                write!(f, "{var_length}")?;
            }
            if let Some(properties) = &self.properties {
                if self.var.is_some() || !self.types.is_empty() || self.var_length.is_some() {
                    f.write_char(' ')?;
                }
                write_expr(f, properties, ATOM)?;
            }
            f.write_char(']')?;
        }
        f.write_str(if self.direction == Direction::Right {
            "->"
        } else {
            "-"
        })
    }
}

impl Display for VarLength {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_char('*')?;
        match (self.min, self.max) {
            (None, None) => Ok(()),
            (Some(min), Some(max)) if min == max => write!(f, "{min}"),
            (min, max) => {
                if let Some(min) = min {
                    write!(f, "{min}")?;
                }
                f.write_str("..")?;
                if let Some(max) = max {
                    write!(f, "{max}")?;
                }
                Ok(())
            }
        }
    }
}

// ----------------------------------------------------------------------------
// Clauses and queries
// ----------------------------------------------------------------------------

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.first)?;
        for union in &self.unions {
            write!(f, " {union}")?;
        }
        Ok(())
    }
}

impl Display for Union {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let keyword = if self.all { "UNION ALL" } else { "UNION" };
        write!(f, "{keyword} {}", self.query)
    }
}

impl Display for SingleQuery {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        join(f, &self.clauses, " ")
    }
}

impl Display for Clause {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Clause::Match(clause) => write!(f, "{clause}"),
            Clause::Unwind(clause) => write!(f, "{clause}"),
            Clause::With(clause) => write!(f, "{clause}"),
            Clause::Return(clause) => write!(f, "{clause}"),
            Clause::Create(clause) => write!(f, "{clause}"),
            Clause::Merge(clause) => write!(f, "{clause}"),
            Clause::Set(clause) => write!(f, "{clause}"),
            Clause::Remove(clause) => write!(f, "{clause}"),
            Clause::Delete(clause) => write!(f, "{clause}"),
            Clause::Call(clause) => write!(f, "{clause}"),
            Clause::LoadCsv(clause) => write!(f, "{clause}"),
        }
    }
}

fn write_where(f: &mut Formatter<'_>, predicate: &Option<Expr>) -> fmt::Result {
    match predicate {
        Some(predicate) => write!(f, " WHERE {predicate}"),
        None => Ok(()),
    }
}

impl Display for Match {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.optional {
            f.write_str("OPTIONAL ")?;
        }
        f.write_str("MATCH ")?;
        join(f, &self.patterns, ", ")?;
        write_where(f, &self.where_clause)
    }
}

impl Display for Unwind {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "UNWIND {} AS {}", self.expr, Var(&self.var))
    }
}

impl Display for With {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "WITH {}", self.projection)?;
        write_where(f, &self.where_clause)
    }
}

impl Display for Return {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "RETURN {}", self.projection)
    }
}

impl Display for Projection {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.distinct {
            f.write_str("DISTINCT ")?;
        }
        if self.star {
            f.write_char('*')?;
            if !self.items.is_empty() {
                f.write_str(", ")?;
            }
        }
        join(f, &self.items, ", ")?;
        if !self.order_by.is_empty() {
            f.write_str(" ORDER BY ")?;
            join(f, &self.order_by, ", ")?;
        }
        if let Some(skip) = &self.skip {
            write!(f, " SKIP {skip}")?;
        }
        if let Some(limit) = &self.limit {
            write!(f, " LIMIT {limit}")?;
        }
        Ok(())
    }
}

impl Display for ProjectionItem {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.expr)?;
        if let Some(alias) = &self.alias {
            write!(f, " AS {}", Var(alias))?;
        }
        Ok(())
    }
}

impl Display for SortItem {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.expr)?;
        if !self.ascending {
            f.write_str(" DESC")?;
        }
        Ok(())
    }
}

impl Display for Create {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("CREATE ")?;
        join(f, &self.patterns, ", ")
    }
}

impl Display for Merge {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "MERGE {}", self.pattern)?;
        if !self.on_create.is_empty() {
            f.write_str(" ON CREATE SET ")?;
            join(f, &self.on_create, ", ")?;
        }
        if !self.on_match.is_empty() {
            f.write_str(" ON MATCH SET ")?;
            join(f, &self.on_match, ", ")?;
        }
        Ok(())
    }
}

impl Display for Set {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("SET ")?;
        join(f, &self.items, ", ")
    }
}

impl Display for SetItem {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            SetItem::Property { entity, key, value } => {
                write_expr(f, entity, POSTFIX)?;
                write!(f, ".{} = {value}", SchemaName(key))
            }
            SetItem::Replace { var, value } => write!(f, "{} = {value}", Var(var)),
            SetItem::Merge { var, value } => write!(f, "{} += {value}", Var(var)),
            SetItem::Labels { var, labels } => {
                write!(f, "{}", Var(var))?;
                write_labels(f, labels)
            }
        }
    }
}

impl Display for Remove {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("REMOVE ")?;
        join(f, &self.items, ", ")
    }
}

impl Display for RemoveItem {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            RemoveItem::Property { entity, key } => {
                write_expr(f, entity, POSTFIX)?;
                write!(f, ".{}", SchemaName(key))
            }
            RemoveItem::Labels { var, labels } => {
                write!(f, "{}", Var(var))?;
                write_labels(f, labels)
            }
        }
    }
}

impl Display for Delete {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.detach {
            f.write_str("DETACH ")?;
        }
        f.write_str("DELETE ")?;
        join(f, &self.exprs, ", ")
    }
}

impl Display for Call {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "CALL {}", DottedName(&self.procedure))?;
        if let Some(args) = &self.args {
            f.write_char('(')?;
            join(f, args, ", ")?;
            f.write_char(')')?;
        }
        match &self.yields {
            None => {}
            Some(YieldSpec::All) => f.write_str(" YIELD *")?,
            Some(YieldSpec::Items(items)) => {
                f.write_str(" YIELD ")?;
                join(f, items, ", ")?;
            }
        }
        write_where(f, &self.where_clause)
    }
}

impl Display for YieldItem {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Var(&self.field))?;
        if let Some(alias) = &self.alias {
            write!(f, " AS {}", Var(alias))?;
        }
        Ok(())
    }
}

impl Display for LoadCsv {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let header = if self.with_header {
            "WITH HEADER"
        } else {
            "NO HEADER"
        };
        write!(f, "LOAD CSV FROM {} {header}", self.path)?;
        if self.ignore_bad {
            f.write_str(" IGNORE BAD")?;
        }
        if let Some(delimiter) = &self.delimiter {
            write!(f, " DELIMITER {delimiter}")?;
        }
        if let Some(quote) = &self.quote {
            write!(f, " QUOTE {quote}")?;
        }
        if let Some(nullif) = &self.nullif {
            write!(f, " NULLIF {nullif}")?;
        }
        write!(f, " AS {}", Var(&self.var))
    }
}

// ----------------------------------------------------------------------------
// Statements
// ----------------------------------------------------------------------------

fn write_index_target(
    f: &mut Formatter<'_>,
    label: &str,
    property: &Option<String>,
) -> fmt::Result {
    write!(f, "ON :{}", SchemaName(label))?;
    if let Some(property) = property {
        write!(f, "({})", SchemaName(property))?;
    }
    Ok(())
}

impl Display for Statement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Statement::Query(query) => write!(f, "{query}"),
            Statement::Explain(inner) => write!(f, "EXPLAIN {inner}"),
            Statement::Profile(inner) => write!(f, "PROFILE {inner}"),
            Statement::PeriodicCommit { rows, inner } => {
                write!(f, "USING PERIODIC COMMIT {rows} {inner}")
            }
            Statement::Begin => f.write_str("BEGIN"),
            Statement::Commit => f.write_str("COMMIT"),
            Statement::Rollback => f.write_str("ROLLBACK"),
            Statement::CreateIndex { label, property } => {
                f.write_str("CREATE INDEX ")?;
                write_index_target(f, label, property)
            }
            Statement::DropIndex { label, property } => {
                f.write_str("DROP INDEX ")?;
                write_index_target(f, label, property)
            }
            Statement::CreateConstraint(constraint) => write!(f, "CREATE CONSTRAINT {constraint}"),
            Statement::DropConstraint(constraint) => write!(f, "DROP CONSTRAINT {constraint}"),
            Statement::ShowIndexInfo => f.write_str("SHOW INDEX INFO"),
            Statement::ShowConstraintInfo => f.write_str("SHOW CONSTRAINT INFO"),
            Statement::ShowStorageInfo => f.write_str("SHOW STORAGE INFO"),
            Statement::FreeMemory => f.write_str("FREE MEMORY"),
            Statement::DumpDatabase => f.write_str("DUMP DATABASE"),
            Statement::CreateSnapshot => f.write_str("CREATE SNAPSHOT"),
            Statement::StorageMode(mode) => write!(f, "STORAGE MODE {}", Var(mode)),
            Statement::SetReplicationRole { role, port } => {
                write!(f, "SET REPLICATION ROLE TO {role}")?;
                if let Some(port) = port {
                    write!(f, " WITH PORT {port}")?;
                }
                Ok(())
            }
            Statement::ShowReplicationRole => f.write_str("SHOW REPLICATION ROLE"),
            Statement::RegisterReplica {
                name,
                mode,
                socket_address,
            } => write!(
                f,
                "REGISTER REPLICA {} {mode} TO {}",
                Var(name),
                StringLiteral(socket_address)
            ),
            Statement::DropReplica { name } => write!(f, "DROP REPLICA {}", Var(name)),
            Statement::ShowReplicas => f.write_str("SHOW REPLICAS"),
            Statement::CreateUser {
                name,
                if_not_exists,
                password,
            } => {
                f.write_str("CREATE USER ")?;
                if *if_not_exists {
                    f.write_str("IF NOT EXISTS ")?;
                }
                write!(f, "{}", Var(name))?;
                if let Some(password) = password {
                    write!(f, " IDENTIFIED BY {password}")?;
                }
                Ok(())
            }
            Statement::SetPassword { name, password } => {
                write!(f, "SET PASSWORD FOR {} TO {password}", Var(name))
            }
            Statement::DropUser { name } => write!(f, "DROP USER {}", Var(name)),
            Statement::ShowUsers => f.write_str("SHOW USERS"),
        }
    }
}

impl Display for Constraint {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let var = Var(&self.var);
        write!(f, "ON ({var}:{}) ASSERT ", SchemaName(&self.label))?;
        match &self.kind {
            ConstraintKind::Unique { properties } => {
                for (i, property) in properties.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{var}.{}", SchemaName(property))?;
                }
                f.write_str(" IS UNIQUE")
            }
            ConstraintKind::Exists { property } => {
                write!(f, "EXISTS ({var}.{})", SchemaName(property))
            }
        }
    }
}

impl Display for ReplicationRole {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReplicationRole::Main => "MAIN",
            ReplicationRole::Replica => "REPLICA",
        })
    }
}

impl Display for ReplicationMode {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReplicationMode::Sync => "SYNC",
            ReplicationMode::Async => "ASYNC",
            ReplicationMode::StrictSync => "STRICT_SYNC",
        })
    }
}
