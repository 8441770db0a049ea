//! Admin statements: transaction control, schema, storage, replication and auth,
//! in Memgraph's syntax.
//!
//! [`parse_admin`] is tried before the regular query parser. It fails
//! recoverably unless the leading keywords identify an admin statement (`CREATE
//! INDEX`, `SET REPLICATION`, ...), after which the rest is committed so errors
//! point at the real mistake.

use nom::branch::alt;
use nom::combinator::{cut, opt};
use nom::multi::separated_list1;
use nom::sequence::preceded;
use nom::Parser;

use super::expr::{expr, parse_expr};
use super::lexer::{
    keyword, kw, parse_schema_name, parse_string, parse_variable, skip_ws, sym, symbol,
};
use super::{Cx, PResult};
use crate::ast::*;
use crate::error::ParseErrorKind;

/// One admin statement (without the trailing `;`).
pub(crate) fn parse_admin<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Statement> {
    alt((
        kw(cx, "BEGIN").map(|()| Statement::Begin),
        kw(cx, "COMMIT").map(|()| Statement::Commit),
        kw(cx, "ROLLBACK").map(|()| Statement::Rollback),
        |i| parse_create_admin(cx, i),
        |i| parse_drop(cx, i),
        |i| parse_show(cx, i),
        (kw(cx, "FREE"), cut(kw(cx, "MEMORY"))).map(|_| Statement::FreeMemory),
        (kw(cx, "DUMP"), cut(kw(cx, "DATABASE"))).map(|_| Statement::DumpDatabase),
        |i| parse_storage_mode(cx, i),
        |i| parse_set_admin(cx, i),
        |i| parse_register_replica(cx, i),
    ))
    .parse(i)
}

/// `CREATE INDEX ..`, `CREATE CONSTRAINT ..`, `CREATE SNAPSHOT`, `CREATE USER ..`.
fn parse_create_admin<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Statement> {
    let (i, ()) = keyword(cx, i, "CREATE")?;
    alt((
        preceded(kw(cx, "INDEX"), cut(|i| parse_index_target(cx, i)))
            .map(|(label, property)| Statement::CreateIndex { label, property }),
        preceded(kw(cx, "CONSTRAINT"), cut(|i| parse_constraint(cx, i)))
            .map(Statement::CreateConstraint),
        kw(cx, "SNAPSHOT").map(|()| Statement::CreateSnapshot),
        preceded(kw(cx, "USER"), cut(|i| parse_create_user(cx, i))),
    ))
    .parse(i)
}

/// `DROP INDEX ..`, `DROP CONSTRAINT ..`, `DROP REPLICA name`, `DROP USER name`.
fn parse_drop<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Statement> {
    let (i, ()) = keyword(cx, i, "DROP")?;
    let name = |i| parse_variable(cx, i);
    cut(alt((
        preceded(kw(cx, "INDEX"), cut(|i| parse_index_target(cx, i)))
            .map(|(label, property)| Statement::DropIndex { label, property }),
        preceded(kw(cx, "CONSTRAINT"), cut(|i| parse_constraint(cx, i)))
            .map(Statement::DropConstraint),
        preceded(kw(cx, "REPLICA"), cut(name)).map(|name| Statement::DropReplica { name }),
        preceded(kw(cx, "USER"), cut(name)).map(|name| Statement::DropUser { name }),
    )))
    .parse(i)
}

/// `SHOW INDEX INFO`, `SHOW CONSTRAINT INFO`, `SHOW STORAGE INFO`,
/// `SHOW REPLICATION ROLE`, `SHOW REPLICAS`, `SHOW USERS`.
fn parse_show<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Statement> {
    let (i, ()) = keyword(cx, i, "SHOW")?;
    cut(alt((
        (kw(cx, "INDEX"), cut(kw(cx, "INFO"))).map(|_| Statement::ShowIndexInfo),
        (kw(cx, "CONSTRAINT"), cut(kw(cx, "INFO"))).map(|_| Statement::ShowConstraintInfo),
        (kw(cx, "STORAGE"), cut(kw(cx, "INFO"))).map(|_| Statement::ShowStorageInfo),
        (kw(cx, "REPLICATION"), cut(kw(cx, "ROLE"))).map(|_| Statement::ShowReplicationRole),
        kw(cx, "REPLICAS").map(|()| Statement::ShowReplicas),
        kw(cx, "USERS").map(|()| Statement::ShowUsers),
    )))
    .parse(i)
}

/// `STORAGE MODE <mode>`
fn parse_storage_mode<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Statement> {
    let (i, ()) = keyword(cx, i, "STORAGE")?;
    let (i, ()) = cut(kw(cx, "MODE")).parse(i)?;
    let (i, mode) = cut(|i| parse_schema_name(cx, i)).parse(i)?;
    Ok((i, Statement::StorageMode(mode.to_ascii_uppercase())))
}

/// `SET REPLICATION ROLE TO MAIN|REPLICA [WITH PORT expr]`,
/// `SET PASSWORD FOR name TO expr`. Any other `SET` is the query clause.
fn parse_set_admin<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Statement> {
    let (i, ()) = keyword(cx, i, "SET")?;
    let replication = |i| {
        let (i, ()) = keyword(cx, i, "REPLICATION")?;
        let body = |i| {
            let (i, _) = (kw(cx, "ROLE"), kw(cx, "TO")).parse(i)?;
            let (i, role) = alt((
                kw(cx, "MAIN").map(|()| ReplicationRole::Main),
                kw(cx, "REPLICA").map(|()| ReplicationRole::Replica),
            ))
            .parse(i)?;
            let (i, port) = opt(preceded(
                (kw(cx, "WITH"), cut(kw(cx, "PORT"))),
                cut(expr(cx)),
            ))
            .parse(i)?;
            Ok((i, Statement::SetReplicationRole { role, port }))
        };
        cut(body).parse(i)
    };
    let password = |i| {
        let (i, _) = (kw(cx, "PASSWORD"), kw(cx, "FOR")).parse(i)?;
        let body = |i| {
            let (i, name) = parse_variable(cx, i)?;
            let (i, ()) = keyword(cx, i, "TO")?;
            let (i, password) = parse_expr(cx, i)?;
            Ok((i, Statement::SetPassword { name, password }))
        };
        cut(body).parse(i)
    };
    alt((replication, password)).parse(i)
}

/// `REGISTER REPLICA name SYNC|ASYNC|STRICT_SYNC TO "host[:port]"`
fn parse_register_replica<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Statement> {
    let (i, ()) = keyword(cx, i, "REGISTER")?;
    let body = |i| {
        let (i, ()) = keyword(cx, i, "REPLICA")?;
        let (i, name) = parse_variable(cx, i)?;
        let (i, mode) = alt((
            kw(cx, "SYNC").map(|()| ReplicationMode::Sync),
            kw(cx, "ASYNC").map(|()| ReplicationMode::Async),
            kw(cx, "STRICT_SYNC").map(|()| ReplicationMode::StrictSync),
        ))
        .parse(i)?;
        let (i, ()) = keyword(cx, i, "TO")?;
        let (i, socket_address) = parse_string(cx, i)?;
        Ok((
            i,
            Statement::RegisterReplica {
                name,
                mode,
                socket_address,
            },
        ))
    };
    cut(body).parse(i)
}

/// `ON :Label` or `ON :Label(prop)`
fn parse_index_target<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, (String, Option<String>)> {
    let (i, _) = (kw(cx, "ON"), sym(cx, ":")).parse(i)?;
    let (i, label) = parse_schema_name(cx, i)?;
    let property = (sym(cx, "("), |i| parse_schema_name(cx, i), sym(cx, ")"));
    let (i, property) = opt(property.map(|(_, p, _)| p)).parse(i)?;
    Ok((i, (label, property)))
}

/// `ON (n:Label) ASSERT n.a, n.b IS UNIQUE` or `ON (n:Label) ASSERT EXISTS (n.a)`.
fn parse_constraint<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Constraint> {
    let (i, _) = (kw(cx, "ON"), sym(cx, "(")).parse(i)?;
    let (i, var) = parse_variable(cx, i)?;
    let (i, ()) = symbol(cx, i, ":")?;
    let (i, label) = parse_schema_name(cx, i)?;
    let (i, _) = (sym(cx, ")"), kw(cx, "ASSERT")).parse(i)?;
    // `n.key`, checked to use the constraint's variable.
    let property = |i: &'s str| -> PResult<'s, String> {
        let at = skip_ws(cx, i)?;
        let (i, owner) = parse_variable(cx, at)?;
        let (i, ()) = symbol(cx, i, ".")?;
        let (i, key) = parse_schema_name(cx, i)?;
        if owner != var {
            return Err(cx.fatal(
                at,
                ParseErrorKind::InvalidStructure,
                format!("Constraint property must use the variable '{var}', not '{owner}'"),
            ));
        }
        Ok((i, key))
    };
    let exists = (kw(cx, "EXISTS"), sym(cx, "("), property, sym(cx, ")"))
        .map(|(_, _, property, _)| ConstraintKind::Exists { property });
    let unique = (
        separated_list1(sym(cx, ","), property),
        kw(cx, "IS"),
        kw(cx, "UNIQUE"),
    )
        .map(|(properties, _, _)| ConstraintKind::Unique { properties });
    let (i, kind) = alt((exists, unique)).parse(i)?;
    Ok((i, Constraint { var, label, kind }))
}

/// `[IF NOT EXISTS] name [IDENTIFIED BY expr]` after `CREATE USER`.
fn parse_create_user<'s>(cx: &Cx<'s>, i: &'s str) -> PResult<'s, Statement> {
    let (i, if_not_exists) = opt((kw(cx, "IF"), kw(cx, "NOT"), kw(cx, "EXISTS"))).parse(i)?;
    let (i, name) = parse_variable(cx, i)?;
    let (i, password) = opt(preceded(
        (kw(cx, "IDENTIFIED"), cut(kw(cx, "BY"))),
        cut(expr(cx)),
    ))
    .parse(i)?;
    Ok((
        i,
        Statement::CreateUser {
            name,
            if_not_exists: if_not_exists.is_some(),
            password,
        },
    ))
}
