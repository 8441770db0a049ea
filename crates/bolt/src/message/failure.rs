//! [`Failure`]: what a request failed with, and the GQL metadata derived from it.

/// A failed request: a Neo4j status code (`Neo.<Classification>.<Category>.<Title>`) and a
/// human-readable message.
///
/// Drivers classify by the second dotted part (ClientError / TransientError / DatabaseError) and
/// map some full codes to exception types (`Statement.SyntaxError` to `CypherSyntaxError`,
/// `Security.Unauthorized` to `AuthError`, Transient errors are retried), so pick the code with
/// care; the message is for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

/// The error class encoded in a status code's second part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Classification {
    ClientError,
    TransientError,
    DatabaseError,
}

impl Classification {
    /// The `_classification` value of a 5.7+ diagnostic record.
    pub fn gql_name(self) -> &'static str {
        match self {
            Classification::ClientError => "CLIENT_ERROR",
            Classification::TransientError => "TRANSIENT_ERROR",
            Classification::DatabaseError => "DATABASE_ERROR",
        }
    }
}

impl Failure {
    pub const REQUEST_INVALID: &'static str = "Neo.ClientError.Request.Invalid";
    pub const REQUEST_INVALID_FORMAT: &'static str = "Neo.ClientError.Request.InvalidFormat";
    pub const UNAUTHORIZED: &'static str = "Neo.ClientError.Security.Unauthorized";
    pub const SYNTAX_ERROR: &'static str = "Neo.ClientError.Statement.SyntaxError";
    pub const UNKNOWN_ERROR: &'static str = "Neo.DatabaseError.General.UnknownError";

    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Failure {
            code: code.into(),
            message: message.into(),
        }
    }

    /// `Neo.ClientError.Request.Invalid`: a request the current state does not allow.
    pub fn request_invalid(message: impl Into<String>) -> Self {
        Failure::new(Self::REQUEST_INVALID, message)
    }

    /// `Neo.ClientError.Security.Unauthorized`: bad credentials.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Failure::new(Self::UNAUTHORIZED, message)
    }

    /// The classification from the code's second part; unknown classes count as database errors.
    pub fn classification(&self) -> Classification {
        match self.code.split('.').nth(1) {
            Some("ClientError") => Classification::ClientError,
            Some("TransientError") => Classification::TransientError,
            _ => Classification::DatabaseError,
        }
    }

    /// The GQLSTATUS and its description for the 5.7+ layout. Drivers branch on the Neo4j code,
    /// not on this, so the mapping is coarse: specific statuses for the common cases and 50N42
    /// ("unexpected error") for everything else.
    pub fn gql_status(&self) -> (&'static str, &'static str) {
        let mut parts = self.code.split('.');
        let (class, category, title) = (parts.nth(1), parts.next(), parts.next());
        match (class, category, title) {
            (Some("ClientError"), Some("Statement"), Some("SyntaxError")) => (
                "42001",
                "error: syntax error or access rule violation - invalid syntax",
            ),
            (Some("ClientError"), Some("Statement"), Some("TypeError")) => {
                ("22N01", "error: data exception - invalid type")
            }
            (Some("ClientError"), Some("Statement"), Some("ArithmeticError"))
            | (Some("ClientError"), Some("Schema"), Some("ConstraintValidationFailed")) => {
                ("22000", "error: data exception")
            }
            (Some("ClientError"), Some("Statement"), _) => {
                ("42000", "error: syntax error or access rule violation")
            }
            (Some("ClientError"), Some("Security"), _) => (
                "42NFF",
                "error: syntax error or access rule violation - permission/access denied",
            ),
            (Some("ClientError"), Some("Request"), _) => {
                ("08N06", "error: connection exception - protocol error")
            }
            (Some("DatabaseError"), _, _) => (
                "50N00",
                "error: general processing exception - internal error",
            ),
            _ => (
                "50N42",
                "error: general processing exception - unexpected error",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_and_gql() {
        let syntax = Failure::new(Failure::SYNTAX_ERROR, "bad");
        assert_eq!(syntax.classification(), Classification::ClientError);
        assert_eq!(syntax.gql_status().0, "42001");
        let deadlock = Failure::new("Neo.TransientError.Transaction.DeadlockDetected", "x");
        assert_eq!(deadlock.classification(), Classification::TransientError);
        assert_eq!(deadlock.gql_status().0, "50N42");
        assert_eq!(Failure::request_invalid("x").gql_status().0, "08N06");
        assert_eq!(Failure::unauthorized("x").gql_status().0, "42NFF");
        let memgraph = Failure::new("Memgraph.ClientError.MemgraphError.MemgraphError", "x");
        assert_eq!(memgraph.classification(), Classification::ClientError);
        let odd = Failure::new("garbage", "x");
        assert_eq!(odd.classification(), Classification::DatabaseError);
        assert_eq!(odd.gql_status().0, "50N42");
        assert_eq!(
            Failure::new(Failure::UNKNOWN_ERROR, "x").gql_status().0,
            "50N00"
        );
    }
}
