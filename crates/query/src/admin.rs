//! Schema and storage statements: `CREATE/DROP INDEX`, `CREATE/DROP CONSTRAINT`,
//! `SHOW INDEX INFO`, `SHOW CONSTRAINT INFO`, `SHOW STORAGE INFO`, `FREE MEMORY`,
//! `STORAGE MODE`. They act on the storage directly and answer with rows computed up front, in
//! Memgraph's columns and value formats.

use std::path::Path;

use cypher::ast::{self, ConstraintKind, Statement};
use storage::{ConstraintInfo, LabelId, PropertyId, Storage};

use crate::error::{QueryError, Result};
use crate::planner::QueryType;
use crate::value::Value;
use crate::Engine;

/// A planned admin statement: names resolved to the storage's ids.
#[derive(Debug, Clone)]
pub enum Admin {
    CreateIndex {
        label: LabelId,
        property: Option<PropertyId>,
    },
    DropIndex {
        label: LabelId,
        property: Option<PropertyId>,
        text: String,
    },
    CreateConstraint(ConstraintInfo),
    DropConstraint(ConstraintInfo),
    ShowIndexInfo,
    ShowConstraintInfo,
    ShowStorageInfo,
    FreeMemory,
    StorageMode(String),
    CreateSnapshot,
    /// `SET REPLICATION ROLE TO REPLICA WITH PORT n`: the port, or the message for a bad one.
    SetReplicaRole(std::result::Result<i64, String>),
    /// `SET REPLICATION ROLE TO MAIN` (`Err`: a port was given).
    SetMainRole(std::result::Result<(), String>),
    ShowReplicationRole,
    RegisterReplica {
        name: String,
        mode: &'static str,
        address: String,
    },
    DropReplica(String),
    ShowReplicas,
    CreateUser {
        name: String,
        if_not_exists: bool,
        password: Option<ast::Expr>,
    },
    SetPassword {
        name: String,
        password: ast::Expr,
    },
    DropUser(String),
    ShowUsers,
    /// `DUMP DATABASE`: streamed by the session from its own read transaction (see
    /// [`crate::dump`]), not answered by [`Admin::run`].
    DumpDatabase,
}

/// What an admin statement answers.
pub struct AdminResult {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
    pub query_type: QueryType,
    pub notifications: Vec<crate::Notification>,
}

impl AdminResult {
    /// The rows of a SHOW statement under `columns`.
    fn read(columns: &[&str], rows: Vec<Vec<Value>>) -> AdminResult {
        AdminResult {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows,
            query_type: QueryType::Read,
            notifications: Vec::new(),
        }
    }

    fn notices(notifications: Vec<crate::Notification>) -> AdminResult {
        AdminResult {
            columns: vec![],
            rows: vec![],
            query_type: QueryType::Write,
            notifications,
        }
    }
}

/// The port of `SET REPLICATION ROLE TO REPLICA WITH PORT <expr>`: an integer literal.
fn replica_port(port: Option<&ast::Expr>) -> std::result::Result<i64, String> {
    match port {
        None => Err("Replica must set a port!".into()),
        Some(ast::Expr::Integer(n)) => {
            if (0..=65535).contains(n) {
                Ok(*n)
            } else {
                Err("Port number invalid!".into())
            }
        }
        Some(_) => Err("Port must be an integer literal!".into()),
    }
}

/// Memgraph's message for the replication queries inside an explicit transaction.
pub const MULTICOMMAND_REPLICATION: &str = "Managing replication is not allowed in multicommand transactions. A multicommand transaction, also known as an explicit transaction, groups multiple commands into a single atomic operation. Instead, please use an implicit transaction, also known as an auto committing transaction, in order to execute this particularquery. For more details, visit https://memgraph.com/docs";

/// The admin plan of `stmt`, or `None` if it is not an admin statement this module runs.
pub fn plan(stmt: &Statement, storage: &Storage) -> Option<Admin> {
    Some(match stmt {
        Statement::CreateIndex { label, property } => Admin::CreateIndex {
            label: storage.label(label),
            property: property.as_deref().map(|p| storage.property(p)),
        },
        Statement::DropIndex { label, property } => Admin::DropIndex {
            label: storage.label(label),
            property: property.as_deref().map(|p| storage.property(p)),
            text: match property {
                Some(p) => format!(":{label}({p})"),
                None => format!(":{label}"),
            },
        },
        Statement::CreateConstraint(c) => Admin::CreateConstraint(constraint(c, storage)),
        Statement::DropConstraint(c) => Admin::DropConstraint(constraint(c, storage)),
        Statement::ShowIndexInfo => Admin::ShowIndexInfo,
        Statement::ShowConstraintInfo => Admin::ShowConstraintInfo,
        Statement::ShowStorageInfo => Admin::ShowStorageInfo,
        Statement::FreeMemory => Admin::FreeMemory,
        Statement::StorageMode(mode) => Admin::StorageMode(mode.clone()),
        Statement::CreateSnapshot => Admin::CreateSnapshot,
        Statement::SetReplicationRole { role, port } => match role {
            ast::ReplicationRole::Replica => Admin::SetReplicaRole(replica_port(port.as_ref())),
            ast::ReplicationRole::Main => Admin::SetMainRole(match port {
                Some(_) => Err("Main can't set a port!".into()),
                None => Ok(()),
            }),
        },
        Statement::ShowReplicationRole => Admin::ShowReplicationRole,
        Statement::RegisterReplica {
            name,
            mode,
            socket_address,
        } => Admin::RegisterReplica {
            name: name.clone(),
            mode: match mode {
                ast::ReplicationMode::Sync => "sync",
                ast::ReplicationMode::Async => "async",
                ast::ReplicationMode::StrictSync => "strict_sync",
            },
            address: socket_address.clone(),
        },
        Statement::DropReplica { name } => Admin::DropReplica(name.clone()),
        Statement::ShowReplicas => Admin::ShowReplicas,
        Statement::CreateUser {
            name,
            if_not_exists,
            password,
        } => Admin::CreateUser {
            name: name.clone(),
            if_not_exists: *if_not_exists,
            password: password.clone(),
        },
        Statement::SetPassword { name, password } => Admin::SetPassword {
            name: name.clone(),
            password: password.clone(),
        },
        Statement::DropUser { name } => Admin::DropUser(name.clone()),
        Statement::ShowUsers => Admin::ShowUsers,
        Statement::DumpDatabase => Admin::DumpDatabase,
        _ => return None,
    })
}

fn constraint(c: &ast::Constraint, storage: &Storage) -> ConstraintInfo {
    let label = storage.label(&c.label);
    match &c.kind {
        ConstraintKind::Exists { property } => ConstraintInfo::Exists {
            label,
            property: storage.property(property),
        },
        ConstraintKind::Unique { properties } => ConstraintInfo::Unique {
            label,
            properties: properties.iter().map(|p| storage.property(p)).collect(),
        },
    }
}

impl Admin {
    /// Index and constraint changes may not run inside an explicit transaction (as Memgraph).
    pub fn refused_in_transaction(&self) -> Option<&'static str> {
        match self {
            Admin::CreateIndex { .. } | Admin::DropIndex { .. } => {
                Some("Index manipulation not allowed in multicommand transactions.")
            }
            Admin::CreateConstraint(_) | Admin::DropConstraint(_) => {
                Some("Constraint manipulation not allowed in multicommand transactions.")
            }
            Admin::FreeMemory => {
                Some("Free memory query not allowed in multicommand transactions.")
            }
            Admin::StorageMode(_) => {
                Some("Storage mode query not allowed in multicommand transactions.")
            }
            Admin::CreateSnapshot => {
                Some("Snapshot queries are not allowed in multicommand transactions.")
            }
            Admin::SetReplicaRole(_)
            | Admin::SetMainRole(_)
            | Admin::ShowReplicationRole
            | Admin::RegisterReplica { .. }
            | Admin::DropReplica(_)
            | Admin::ShowReplicas => Some(MULTICOMMAND_REPLICATION),
            Admin::CreateUser { .. }
            | Admin::SetPassword { .. }
            | Admin::DropUser(_)
            | Admin::ShowUsers => Some(MULTICOMMAND_AUTH),
            // A read like any other: Memgraph allows DUMP in a multicommand transaction, where
            // it reads what that transaction sees.
            Admin::ShowIndexInfo
            | Admin::ShowConstraintInfo
            | Admin::ShowStorageInfo
            | Admin::DumpDatabase => None,
        }
    }

    /// A user statement (its text may carry a password, so its plan is not cached).
    pub fn is_auth(&self) -> bool {
        matches!(
            self,
            Admin::CreateUser { .. }
                | Admin::SetPassword { .. }
                | Admin::DropUser(_)
                | Admin::ShowUsers
        )
    }

    /// Whether the statement changes the graph's data or schema (refused where writes are).
    pub fn writes(&self) -> bool {
        matches!(
            self,
            Admin::CreateIndex { .. }
                | Admin::DropIndex { .. }
                | Admin::CreateConstraint(_)
                | Admin::DropConstraint(_)
        )
    }

    /// Runs the statement; `param` looks a query parameter up (a password may be one).
    pub fn run(
        &self,
        engine: &Engine,
        param: &dyn Fn(&str) -> Option<Value>,
    ) -> Result<AdminResult> {
        let storage = engine.storage();
        let done = |query_type| AdminResult {
            columns: vec![],
            rows: vec![],
            query_type,
            notifications: Vec::new(),
        };
        if self.writes() {
            if let Some(refusal) = engine.write_refusal() {
                return Err(QueryError::Admin(refusal));
            }
        }
        let control = || {
            engine.replication().ok_or_else(|| {
                QueryError::Admin("Replication is not available on this server.".into())
            })
        };
        let auth = || {
            engine
                .auth()
                .ok_or_else(|| QueryError::Admin("Users are not available on this server.".into()))
        };
        match self {
            Admin::CreateUser {
                name,
                if_not_exists,
                password,
            } => {
                let password = match password {
                    Some(p) => password_value(p, param)?,
                    None => None,
                };
                auth()?
                    .create_user(name, password.as_deref(), *if_not_exists)
                    .map_err(QueryError::Admin)?;
                Ok(done(QueryType::Write))
            }
            Admin::SetPassword { name, password } => {
                let password = password_value(password, param)?;
                auth()?
                    .set_password(name, password.as_deref())
                    .map_err(QueryError::Admin)?;
                Ok(done(QueryType::Write))
            }
            Admin::DropUser(name) => {
                auth()?.drop_user(name).map_err(QueryError::Admin)?;
                Ok(done(QueryType::Write))
            }
            Admin::ShowUsers => {
                let rows = auth()?.users().into_iter().map(|u| vec![text(u)]).collect();
                Ok(AdminResult::read(&["user"], rows))
            }
            Admin::CreateIndex { label, property } => {
                storage.create_index(*label, *property)?;
                Ok(done(QueryType::Schema))
            }
            Admin::DropIndex {
                label,
                property,
                text,
            } => {
                if storage.drop_index(*label, *property)? {
                    Ok(done(QueryType::Schema))
                } else {
                    Err(QueryError::Admin(format!(
                        "Unable to drop index on {text}, it doesn't exist."
                    )))
                }
            }
            Admin::CreateConstraint(c) => {
                match c {
                    ConstraintInfo::Exists { label, property } => {
                        storage.create_existence_constraint(*label, *property)?
                    }
                    ConstraintInfo::Unique { label, properties } => {
                        storage.create_unique_constraint(*label, properties.clone())?
                    }
                };
                Ok(done(QueryType::Schema))
            }
            Admin::DropConstraint(c) => {
                storage.drop_constraint(c)?;
                Ok(done(QueryType::Schema))
            }
            Admin::ShowIndexInfo => Ok(show_index_info(&storage)),
            Admin::ShowConstraintInfo => Ok(show_constraint_info(&storage)),
            Admin::ShowStorageInfo => Ok(show_storage_info(
                &storage,
                engine.config().data_directory.as_deref(),
                engine.config().memory_limit_bytes,
            )),
            Admin::FreeMemory => {
                let stats = storage.free_memory();
                tracing::info!(?stats, "FREE MEMORY");
                Ok(done(QueryType::Write))
            }
            Admin::StorageMode(mode) if mode == "IN_MEMORY_TRANSACTIONAL" => {
                Ok(done(QueryType::Write))
            }
            Admin::CreateSnapshot => match engine.snapshot_maker() {
                Some(maker) => {
                    let path = maker.create_snapshot().map_err(QueryError::Admin)?;
                    Ok(AdminResult {
                        columns: vec!["path".to_string()],
                        rows: vec![vec![Value::String(path)]],
                        query_type: QueryType::Write,
                        notifications: Vec::new(),
                    })
                }
                None => Err(QueryError::Admin(
                    "Snapshots are not available on this server.".to_string(),
                )),
            },
            Admin::StorageMode(mode) => Err(QueryError::Admin(format!(
                "Storage mode {mode} is not supported: ferrograph runs IN_MEMORY_TRANSACTIONAL only."
            ))),
            Admin::SetReplicaRole(port) => {
                let port = port.clone().map_err(QueryError::Admin)?;
                control()?
                    .set_replica(port)
                    .map(AdminResult::notices)
                    .map_err(QueryError::Admin)
            }
            Admin::SetMainRole(ok) => {
                ok.clone().map_err(QueryError::Admin)?;
                control()?
                    .set_main()
                    .map(AdminResult::notices)
                    .map_err(QueryError::Admin)
            }
            Admin::ShowReplicationRole => {
                let role = engine.replication().map_or("main", |c| c.role());
                Ok(AdminResult::read(&["replication role"], vec![vec![text(role)]]))
            }
            Admin::RegisterReplica {
                name,
                mode,
                address,
            } => control()?
                .register(name, mode, address)
                .map(AdminResult::notices)
                .map_err(QueryError::Admin),
            Admin::DropReplica(name) => control()?
                .drop_replica(name)
                .map(AdminResult::notices)
                .map_err(QueryError::Admin),
            Admin::DumpDatabase => Err(QueryError::Admin(
                "DUMP DATABASE is streamed by a session, not run as an admin statement.".into(),
            )),
            Admin::ShowReplicas => {
                let rows = control()?.show_replicas().map_err(QueryError::Admin)?;
                Ok(AdminResult::read(
                    &["name", "socket_address", "sync_mode", "system_info", "data_info"],
                    rows,
                ))
            }
        }
    }
}

/// Memgraph's message for the user queries inside an explicit transaction.
pub const MULTICOMMAND_AUTH: &str =
    "Authentication queries are not allowed in multicommand transactions.";

/// A password in a user query: a string literal, `null`, or a parameter holding either.
fn password_value(
    expr: &ast::Expr,
    param: &dyn Fn(&str) -> Option<Value>,
) -> Result<Option<String>> {
    let value = match expr {
        ast::Expr::String(s) => return Ok(Some(s.clone())),
        ast::Expr::Null => return Ok(None),
        ast::Expr::Parameter(name) => {
            param(name).ok_or_else(|| QueryError::ParameterMissing(name.clone()))?
        }
        _ => {
            return Err(QueryError::Admin(
                "Password must be a string literal, null or a parameter.".into(),
            ))
        }
    };
    match value {
        Value::String(s) => Ok(Some(s)),
        Value::Null => Ok(None),
        _ => Err(QueryError::Admin(
            "Password must be a string or null.".into(),
        )),
    }
}

fn text(s: impl Into<String>) -> Value {
    Value::String(s.into())
}

fn show_index_info(storage: &Storage) -> AdminResult {
    let rows = storage
        .index_info()
        .into_iter()
        .map(|info| {
            vec![
                text(if info.property.is_some() {
                    "label+property"
                } else {
                    "label"
                }),
                text(&*storage.label_name(info.label)),
                info.property
                    .map_or(Value::Null, |p| text(&*storage.property_name(p))),
                Value::Int(info.count as i64),
            ]
        })
        .collect();
    AdminResult::read(&["index type", "label", "property", "count"], rows)
}

fn show_constraint_info(storage: &Storage) -> AdminResult {
    let rows = storage
        .constraint_info()
        .into_iter()
        .map(|c| match c {
            ConstraintInfo::Exists { label, property } => vec![
                text("exists"),
                text(&*storage.label_name(label)),
                text(&*storage.property_name(property)),
                text(""),
            ],
            ConstraintInfo::Unique { label, properties } => vec![
                text("unique"),
                text(&*storage.label_name(label)),
                Value::List(
                    properties
                        .iter()
                        .map(|p| text(&*storage.property_name(*p)))
                        .collect(),
                ),
                text(""),
            ],
        })
        .collect();
    AdminResult::read(
        &["constraint type", "label", "properties", "data_type"],
        rows,
    )
}

fn show_storage_info(
    storage: &Storage,
    data_directory: Option<&Path>,
    memory_limit: u64,
) -> AdminResult {
    let vertices = storage.vertex_count_approx();
    let edges = storage.edge_count_approx();
    let average_degree = if vertices == 0 {
        0.0
    } else {
        2.0 * edges as f64 / vertices as f64
    };
    let status = proc_status();
    let disk = data_directory.map_or(0, dir_size);
    let rows: Vec<(&str, Value)> = vec![
        ("name", text("memgraph")),
        ("vertex_count", Value::Int(vertices as i64)),
        ("edge_count", Value::Int(edges as i64)),
        ("average_degree", Value::Float(average_degree)),
        ("memory_res", text(readable_size(status.rss))),
        ("peak_memory_res", text(readable_size(status.peak_rss))),
        (
            "unreleased_delta_objects",
            Value::Int(storage.delta_count() as i64),
        ),
        ("disk_usage", text(readable_size(disk))),
        // What the counting allocator says is allocated and not freed (exact to 64 KiB per
        // thread), and the --memory-limit it is held to ("unlimited" when there is none).
        (
            "memory_tracked",
            text(readable_size(crate::memory::allocated_bytes())),
        ),
        (
            "allocation_limit",
            if memory_limit == 0 {
                text("unlimited")
            } else {
                text(readable_size(memory_limit))
            },
        ),
        ("global_isolation_level", text("SNAPSHOT_ISOLATION")),
        ("session_isolation_level", text("")),
        ("next_session_isolation_level", text("")),
        ("storage_mode", text("IN_MEMORY_TRANSACTIONAL")),
    ];
    AdminResult::read(
        &["storage info", "value"],
        rows.into_iter()
            .map(|(name, value)| vec![text(name), value])
            .collect(),
    )
}

/// Resident and peak resident memory of this process, in bytes (0 where /proc is missing).
#[derive(Default)]
struct ProcStatus {
    rss: u64,
    peak_rss: u64,
}

fn proc_status() -> ProcStatus {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return ProcStatus::default();
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    };
    ProcStatus {
        rss: field("VmRSS:"),
        peak_rss: field("VmHWM:"),
    }
}

/// Total size of the regular files under `dir` (not following symlinks).
fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(t) if t.is_dir() => dir_size(&entry.path()),
            Ok(t) if t.is_file() => entry.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

/// Memgraph's size format: two decimals and a binary unit, e.g. `43.16MiB`, `512.00B`.
pub fn readable_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1024.0 && unit + 1 < UNITS.len() {
        size /= 1024.0;
        unit += 1;
    }
    format!("{size:.2}{}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_memgraphs() {
        assert_eq!(readable_size(0), "0.00B");
        assert_eq!(readable_size(1536), "1.50KiB");
        assert_eq!(readable_size(45_256_704), "43.16MiB");
        assert_eq!(readable_size(3 << 30), "3.00GiB");
    }
}
