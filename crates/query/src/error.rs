//! The query layer's error type and its mapping to Neo4j status codes.

use storage::StorageError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum QueryError {
    #[error("{0}")]
    Syntax(String),
    #[error("{0}")]
    Semantic(String),
    #[error("{0}")]
    Type(String),
    #[error("Parameter ${0} was not provided.")]
    ParameterMissing(String),
    #[error("{0}")]
    Arithmetic(String),
    #[error("{0}")]
    Argument(String),
    #[error("{0}")]
    EntityNotFound(String),
    #[error("{0}")]
    Storage(#[from] StorageError),
    /// Transaction-control misuse: COMMIT without BEGIN, BEGIN inside a transaction, ...
    #[error("{0}")]
    Transaction(String),
    #[error("{0}")]
    Unsupported(String),
    /// `CALL` of a name no procedure is registered under.
    #[error("{0}")]
    ProcedureNotFound(String),
    #[error("Query was interrupted.")]
    Interrupted,
    #[error("Query execution timed out after {0} seconds.")]
    Timeout(u64),
    /// Over `--memory-limit` (the message says so, Memgraph's way).
    #[error("{0}")]
    MemoryLimit(String),
    /// A schema rule would be broken (e.g. deleting a node that still has relationships).
    #[error("{0}")]
    Constraint(String),
    /// Memgraph's generic admin error class (replication, snapshots ...).
    #[error("{0}")]
    Admin(String),
    /// LOAD CSV could not open or read its file, or met a bad row (the message names both).
    #[error("{0}")]
    Csv(String),
}

pub type Result<T, E = QueryError> = std::result::Result<T, E>;

impl QueryError {
    /// The Neo4j status code sent in a Bolt FAILURE.
    pub fn code(&self) -> &'static str {
        match self {
            QueryError::Syntax(_) => "Neo.ClientError.Statement.SyntaxError",
            QueryError::Semantic(_) | QueryError::Unsupported(_) => {
                "Neo.ClientError.Statement.SemanticError"
            }
            QueryError::Type(_) => "Neo.ClientError.Statement.TypeError",
            QueryError::ParameterMissing(_) => "Neo.ClientError.Statement.ParameterMissing",
            QueryError::Arithmetic(_) => "Neo.ClientError.Statement.ArithmeticError",
            QueryError::Argument(_) => "Neo.ClientError.Statement.ArgumentError",
            QueryError::EntityNotFound(_) => "Neo.ClientError.Statement.EntityNotFound",
            QueryError::Storage(e) => {
                if e.is_retryable() {
                    "Neo.TransientError.Transaction.DeadlockDetected"
                } else {
                    match e {
                        StorageError::VertexHasEdges(_) | StorageError::Constraint(_) => {
                            "Neo.ClientError.Schema.ConstraintValidationFailed"
                        }
                        // A write on a replica: the client must send it to the main instance.
                        StorageError::ReadOnly => {
                            "Memgraph.ClientError.MemgraphError.MemgraphError"
                        }
                        _ => "Neo.DatabaseError.General.UnknownError",
                    }
                }
            }
            QueryError::ProcedureNotFound(_) => "Neo.ClientError.Procedure.ProcedureNotFound",
            QueryError::Transaction(_) => "Neo.ClientError.Transaction.TransactionNotFound",
            QueryError::Interrupted => "Neo.ClientError.Transaction.Terminated",
            QueryError::Timeout(_) => "Neo.ClientError.Transaction.TransactionTimedOut",
            QueryError::MemoryLimit(_) => "Neo.TransientError.General.MemoryPoolOutOfMemoryError",
            QueryError::Constraint(_) => "Neo.ClientError.Schema.ConstraintValidationFailed",
            QueryError::Admin(_) => "Memgraph.ClientError.MemgraphError.MemgraphError",
            QueryError::Csv(_) => "Neo.ClientError.Statement.ExternalResourceFailed",
        }
    }

    pub fn type_error(msg: impl Into<String>) -> Self {
        QueryError::Type(msg.into())
    }

    pub fn semantic(msg: impl Into<String>) -> Self {
        QueryError::Semantic(msg.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_on_a_replica_is_a_client_error() {
        let err = QueryError::from(StorageError::ReadOnly);
        assert_eq!(
            err.code(),
            "Memgraph.ClientError.MemgraphError.MemgraphError"
        );
        assert!(err
            .to_string()
            .contains("retry your query on the main instance"));
    }
}
