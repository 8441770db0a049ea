//! The typed Cypher AST.
//!
//! One [`Statement`] per query text. Regular queries are [`Query`] (a `UNION` of
//! [`SingleQuery`]s, each a flat list of [`Clause`]s); everything else (schema,
//! replication, storage, auth, transaction control) is a dedicated [`Statement`]
//! variant so the executor can dispatch without looking at clauses.
//!
//! # Invariants the parser guarantees (and hand-built ASTs should keep)
//!
//! * **Bounded depth.** The parser refuses input nested deeper than
//!   [`crate::MAX_NESTING_DEPTH`], and long operator chains (`1 + 1 + ... + 1`,
//!   `a AND b AND ...`) are stored flat ([`Expr::Arithmetic`], [`Expr::And`], ...),
//!   so recursive consumers (evaluation, printing, `Drop`) never overflow the stack.
//! * **Chains are one level.** All operators inside one [`Expr::Arithmetic`] have the
//!   same precedence ([`ArithmeticOp::precedence`]); `Or`/`Xor`/`And` hold at least two
//!   operands; `Comparison`/`Arithmetic` hold at least one `rest` entry.
//! * **No spans in equality.** Nodes carry no source positions. The one piece of source
//!   text kept ([`ProjectionItem::text`], the column name Memgraph derives from the
//!   expression as typed) is excluded from `PartialEq`.
//!
//! Every type implements `Display` (see `display.rs`) printing canonical Cypher that
//! re-parses to an equal AST. Names (variables, labels, keys) are stored unquoted;
//! the printer adds backticks where needed.
//!
//! `f64` inside [`Expr::Float`] means no type here derives `Eq` or `Hash`.

/// A whole query text: one statement (an optional trailing `;` is allowed).
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// A regular query: clauses, possibly combined with `UNION` / `UNION ALL`.
    Query(Query),
    /// `EXPLAIN <query>`: plan only, no execution. The parser only wraps a
    /// [`Statement::Query`].
    Explain(Box<Statement>),
    /// `PROFILE <query>`: execute and report per-operator statistics. The parser
    /// only wraps a [`Statement::Query`].
    Profile(Box<Statement>),
    /// `USING PERIODIC COMMIT <rows> <query>` (Memgraph's form): the query's writes are
    /// committed every `rows` rows it processes, each batch in a transaction of its own. The
    /// parser only wraps a [`Statement::Query`].
    PeriodicCommit {
        /// Rows per transaction.
        rows: u64,
        /// The query.
        inner: Box<Statement>,
    },

    // ----- transaction control (pymgclient sends these as query text) -----
    /// `BEGIN`
    Begin,
    /// `COMMIT`
    Commit,
    /// `ROLLBACK`
    Rollback,

    // ----- schema -----
    /// `CREATE INDEX ON :Label` (label index) or `CREATE INDEX ON :Label(prop)`.
    CreateIndex {
        /// The label.
        label: String,
        /// The property for a label-property index; `None` for a label index.
        property: Option<String>,
    },
    /// `DROP INDEX ON :Label` or `DROP INDEX ON :Label(prop)`.
    DropIndex {
        /// The label.
        label: String,
        /// The property for a label-property index; `None` for a label index.
        property: Option<String>,
    },
    /// `CREATE CONSTRAINT ON (n:Label) ASSERT ...`
    CreateConstraint(Constraint),
    /// `DROP CONSTRAINT ON (n:Label) ASSERT ...`
    DropConstraint(Constraint),
    /// `SHOW INDEX INFO`
    ShowIndexInfo,
    /// `SHOW CONSTRAINT INFO`
    ShowConstraintInfo,

    // ----- storage -----
    /// `SHOW STORAGE INFO`
    ShowStorageInfo,
    /// `FREE MEMORY`
    FreeMemory,
    /// `CREATE SNAPSHOT`
    CreateSnapshot,
    /// `DUMP DATABASE`: the graph and its schema as Cypher statements.
    DumpDatabase,
    /// `STORAGE MODE <mode>`; the mode name upper-cased as typed, e.g.
    /// `IN_MEMORY_TRANSACTIONAL`. The executor validates it.
    StorageMode(String),

    // ----- replication -----
    /// `SET REPLICATION ROLE TO MAIN|REPLICA [WITH PORT <expr>]`.
    SetReplicationRole {
        /// The requested role.
        role: ReplicationRole,
        /// The raw port expression, kept unevaluated so the executor can answer
        /// `Port must be an integer literal!`, `Replica must set a port!` and
        /// `Main can't set a port!` itself.
        port: Option<Expr>,
    },
    /// `SHOW REPLICATION ROLE`
    ShowReplicationRole,
    /// `REGISTER REPLICA <name> SYNC|ASYNC|STRICT_SYNC TO "<host>[:<port>]"`.
    RegisterReplica {
        /// The replica's name.
        name: String,
        /// The replication mode.
        mode: ReplicationMode,
        /// The address exactly as typed (the string literal's content); the executor
        /// applies the default port.
        socket_address: String,
    },
    /// `DROP REPLICA <name>`
    DropReplica {
        /// The replica's name.
        name: String,
    },
    /// `SHOW REPLICAS`
    ShowReplicas,

    // ----- auth -----
    /// `CREATE USER [IF NOT EXISTS] <name> [IDENTIFIED BY <password>]`.
    CreateUser {
        /// The user name.
        name: String,
        /// `IF NOT EXISTS` was given.
        if_not_exists: bool,
        /// The password expression (a string literal, `null` or a parameter).
        password: Option<Expr>,
    },
    /// `SET PASSWORD FOR <name> TO <password>`.
    SetPassword {
        /// The user name.
        name: String,
        /// The password expression (a string literal, `null` or a parameter).
        password: Expr,
    },
    /// `DROP USER <name>`
    DropUser {
        /// The user name.
        name: String,
    },
    /// `SHOW USERS`
    ShowUsers,
}

/// A replication role in `SET REPLICATION ROLE TO ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplicationRole {
    /// `MAIN`
    Main,
    /// `REPLICA`
    Replica,
}

/// A replica's mode in `REGISTER REPLICA`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplicationMode {
    /// `SYNC`
    Sync,
    /// `ASYNC`
    Async,
    /// `STRICT_SYNC`
    StrictSync,
}

/// The body of `CREATE CONSTRAINT` / `DROP CONSTRAINT`:
/// `ON (<var>:<label>) ASSERT <kind>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    /// The variable bound in `ON (n:Label)`. Every property in the assertion is
    /// checked by the parser to use this same variable.
    pub var: String,
    /// The label.
    pub label: String,
    /// What is asserted.
    pub kind: ConstraintKind,
}

/// What a constraint asserts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConstraintKind {
    /// `ASSERT n.a, n.b IS UNIQUE` (one or more properties).
    Unique {
        /// Property keys, in the order typed.
        properties: Vec<String>,
    },
    /// `ASSERT EXISTS (n.a)`
    Exists {
        /// The property key.
        property: String,
    },
}

/// A regular query: `first [UNION [ALL] next]...`.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The first single query.
    pub first: SingleQuery,
    /// The queries combined with it, in order.
    pub unions: Vec<Union>,
}

/// One `UNION [ALL] <single query>` part of a [`Query`].
#[derive(Debug, Clone, PartialEq)]
pub struct Union {
    /// `UNION ALL` (keep duplicates) rather than `UNION`.
    pub all: bool,
    /// The query after the keyword.
    pub query: SingleQuery,
}

/// A sequence of clauses (multi-part queries are split by `WITH` clauses inside).
///
/// The parser guarantees a non-empty list, that `RETURN` appears only as the last
/// clause, and that the last clause is `RETURN`, an updating clause
/// (`CREATE`, `MERGE`, `SET`, `REMOVE`, `DELETE`) or `CALL`.
#[derive(Debug, Clone, PartialEq)]
pub struct SingleQuery {
    /// The clauses in order.
    pub clauses: Vec<Clause>,
}

/// One clause of a [`SingleQuery`].
#[derive(Debug, Clone, PartialEq)]
pub enum Clause {
    /// `[OPTIONAL] MATCH pattern, ... [WHERE predicate]`
    Match(Match),
    /// `UNWIND expr AS var`
    Unwind(Unwind),
    /// `WITH projection [WHERE predicate]`
    With(With),
    /// `RETURN projection`
    Return(Return),
    /// `CREATE pattern, ...`
    Create(Create),
    /// `MERGE pattern [ON CREATE SET ...] [ON MATCH SET ...]`
    Merge(Merge),
    /// `SET item, ...`
    Set(Set),
    /// `REMOVE item, ...`
    Remove(Remove),
    /// `[DETACH] DELETE expr, ...`
    Delete(Delete),
    /// `CALL proc.name(args) [YIELD ...]`
    Call(Call),
    /// Memgraph's `LOAD CSV FROM ... AS row`.
    LoadCsv(LoadCsv),
}

/// `[OPTIONAL] MATCH pattern, ... [WHERE predicate]`
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// `OPTIONAL MATCH`.
    pub optional: bool,
    /// The comma-separated pattern parts (at least one).
    pub patterns: Vec<PatternPart>,
    /// The `WHERE` predicate.
    pub where_clause: Option<Expr>,
}

/// `UNWIND expr AS var`
#[derive(Debug, Clone, PartialEq)]
pub struct Unwind {
    /// The list expression.
    pub expr: Expr,
    /// The variable bound to each element.
    pub var: String,
}

/// `WITH projection [WHERE predicate]`
#[derive(Debug, Clone, PartialEq)]
pub struct With {
    /// What is projected, with ordering and paging.
    pub projection: Projection,
    /// The `WHERE` predicate, applied after the projection.
    pub where_clause: Option<Expr>,
}

/// `RETURN projection`
#[derive(Debug, Clone, PartialEq)]
pub struct Return {
    /// What is returned, with ordering and paging.
    pub projection: Projection,
}

/// The body shared by `WITH` and `RETURN`:
/// `[DISTINCT] (* | item, ...) [ORDER BY ...] [SKIP expr] [LIMIT expr]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    /// `DISTINCT`.
    pub distinct: bool,
    /// `*` (all variables in scope); further `items` may follow it (`RETURN *, a.x`).
    pub star: bool,
    /// The explicit items (empty only when `star`).
    pub items: Vec<ProjectionItem>,
    /// `ORDER BY` keys, in order (empty: no ordering).
    pub order_by: Vec<SortItem>,
    /// `SKIP` expression.
    pub skip: Option<Expr>,
    /// `LIMIT` expression.
    pub limit: Option<Expr>,
}

/// One projected expression: `expr [AS alias]`.
#[derive(Debug, Clone)]
pub struct ProjectionItem {
    /// The expression.
    pub expr: Expr,
    /// The `AS` alias.
    pub alias: Option<String>,
    /// The expression's source text as typed (trimmed), which Memgraph and Neo4j use
    /// as the column name when there is no alias (`RETURN n.name` → `n.name`).
    /// Not part of equality. For hand-built items, set it to `expr.to_string()`.
    pub text: String,
}

impl ProjectionItem {
    /// An item whose `text` is the canonical print of `expr`.
    pub fn new(expr: Expr, alias: Option<String>) -> Self {
        let text = expr.to_string();
        ProjectionItem { expr, alias, text }
    }

    /// The result column name: the alias if given, else the expression as typed.
    pub fn column_name(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.text)
    }
}

impl PartialEq for ProjectionItem {
    fn eq(&self, other: &Self) -> bool {
        // `text` is source fidelity, like a span: it stays out of equality.
        self.expr == other.expr && self.alias == other.alias
    }
}

/// One `ORDER BY` key.
#[derive(Debug, Clone, PartialEq)]
pub struct SortItem {
    /// The sort key.
    pub expr: Expr,
    /// `ASC`/`ASCENDING` or no keyword (true); `DESC`/`DESCENDING` (false).
    pub ascending: bool,
}

/// `CREATE pattern, ...`
#[derive(Debug, Clone, PartialEq)]
pub struct Create {
    /// The pattern parts to create (at least one).
    pub patterns: Vec<PatternPart>,
}

/// `MERGE pattern [ON CREATE SET items] [ON MATCH SET items]`.
///
/// Several `ON CREATE SET` (or `ON MATCH SET`) actions are concatenated in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Merge {
    /// The single pattern part to match or create.
    pub pattern: PatternPart,
    /// Items set when the pattern was created.
    pub on_create: Vec<SetItem>,
    /// Items set when the pattern was matched.
    pub on_match: Vec<SetItem>,
}

/// `SET item, ...`
#[derive(Debug, Clone, PartialEq)]
pub struct Set {
    /// The items (at least one).
    pub items: Vec<SetItem>,
}

/// One item of `SET` (or `ON CREATE SET` / `ON MATCH SET`).
#[derive(Debug, Clone, PartialEq)]
pub enum SetItem {
    /// `entity.key = value`; `entity` is usually a variable but may be any
    /// expression of postfix precedence (`n.a.b = 1` has entity `n.a`).
    Property {
        /// The node, relationship or map whose property is set.
        entity: Expr,
        /// The property key.
        key: String,
        /// The new value (`null` removes the property).
        value: Expr,
    },
    /// `var = map`: replace all properties.
    Replace {
        /// The node or relationship variable.
        var: String,
        /// The map (or node/relationship) whose properties are copied.
        value: Expr,
    },
    /// `var += map`: merge properties in.
    Merge {
        /// The node or relationship variable.
        var: String,
        /// The map (or node/relationship) whose properties are added.
        value: Expr,
    },
    /// `var:A:B`: add labels.
    Labels {
        /// The node variable.
        var: String,
        /// The labels to add (at least one).
        labels: Vec<String>,
    },
}

/// `REMOVE item, ...`
#[derive(Debug, Clone, PartialEq)]
pub struct Remove {
    /// The items (at least one).
    pub items: Vec<RemoveItem>,
}

/// One item of `REMOVE`.
#[derive(Debug, Clone, PartialEq)]
pub enum RemoveItem {
    /// `entity.key`
    Property {
        /// The node or relationship (usually a variable).
        entity: Expr,
        /// The property key.
        key: String,
    },
    /// `var:A:B`
    Labels {
        /// The node variable.
        var: String,
        /// The labels to remove (at least one).
        labels: Vec<String>,
    },
}

/// `[DETACH] DELETE expr, ...`
#[derive(Debug, Clone, PartialEq)]
pub struct Delete {
    /// `DETACH DELETE`: delete a node's relationships too.
    pub detach: bool,
    /// What to delete (at least one).
    pub exprs: Vec<Expr>,
}

/// `CALL proc.name[(args)] [YIELD * | YIELD field [AS alias], ... [WHERE predicate]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The dotted procedure name, case as typed (`db.labels`).
    pub procedure: String,
    /// The arguments; `None` when written without parentheses (`CALL db.labels`),
    /// which in a standalone call means "take arguments from parameters".
    pub args: Option<Vec<Expr>>,
    /// The `YIELD` part; `None` when absent.
    pub yields: Option<YieldSpec>,
    /// `WHERE` after the yielded items (only with [`YieldSpec::Items`]).
    pub where_clause: Option<Expr>,
}

/// What a `CALL` yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum YieldSpec {
    /// `YIELD *`
    All,
    /// `YIELD field [AS alias], ...` (at least one).
    Items(Vec<YieldItem>),
}

/// `field [AS alias]` in `YIELD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YieldItem {
    /// The procedure's result field.
    pub field: String,
    /// The variable it is bound to, when different from `field`.
    pub alias: Option<String>,
}

/// Memgraph's
/// `LOAD CSV FROM <path> WITH HEADER|NO HEADER [IGNORE BAD] [DELIMITER <d>] [QUOTE <q>] [NULLIF <n>] AS <var>`.
///
/// The path is read on the server. With a header each row is a map, else a list.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadCsv {
    /// The file path (a string literal or parameter).
    pub path: Expr,
    /// `WITH HEADER` (true) or `NO HEADER` (false).
    pub with_header: bool,
    /// `IGNORE BAD`: skip malformed rows instead of failing.
    pub ignore_bad: bool,
    /// `DELIMITER` (a one-character string), default `,`.
    pub delimiter: Option<Expr>,
    /// `QUOTE` (a one-character string), default `"`.
    pub quote: Option<Expr>,
    /// `NULLIF`: a field equal to this string reads as `null`.
    pub nullif: Option<Expr>,
    /// The row variable after `AS`.
    pub var: String,
}

// ----------------------------------------------------------------------------
// Patterns
// ----------------------------------------------------------------------------

/// One comma-separated part of a pattern: `[p =] [shortestPath(] element [)]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatternPart {
    /// The path variable of a named path (`p = (a)-->(b)`).
    pub var: Option<String>,
    /// Plain, `shortestPath(...)` or `allShortestPaths(...)`.
    pub kind: PatternKind,
    /// The node/relationship chain.
    pub element: PatternElement,
}

/// How a [`PatternPart`] is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatternKind {
    /// A plain pattern.
    Normal,
    /// `shortestPath(...)`: one shortest path.
    ShortestPath,
    /// `allShortestPaths(...)`: all shortest paths.
    AllShortestPaths,
}

/// A chain `(start) -[r1]- (n1) -[r2]- (n2) ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatternElement {
    /// The first node.
    pub start: NodePattern,
    /// Each relationship and the node it leads to, in order.
    pub chain: Vec<(RelationshipPattern, NodePattern)>,
}

/// `(var:Label1:Label2 {props})`; every part optional.
#[derive(Debug, Clone, PartialEq)]
pub struct NodePattern {
    /// The node variable.
    pub var: Option<String>,
    /// Labels the node must have (all of them).
    pub labels: Vec<String>,
    /// A map literal or a parameter.
    pub properties: Option<Expr>,
}

/// `-[var:T1|T2 *min..max {props}]->` and its direction variants.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationshipPattern {
    /// The relationship variable (a list of relationships when variable-length).
    pub var: Option<String>,
    /// Which way the arrow points, relative to the textual order.
    pub direction: Direction,
    /// Allowed types (`:A|B`); empty means any type.
    pub types: Vec<String>,
    /// `*` bounds; `None` for a single-hop relationship.
    pub var_length: Option<VarLength>,
    /// A map literal or a parameter.
    pub properties: Option<Expr>,
}

/// The arrow direction of a [`RelationshipPattern`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `<-[]-`: from the right node to the left node.
    Left,
    /// `-[]->`: from the left node to the right node.
    Right,
    /// `-[]-` (or `<-[]->`): either direction.
    Both,
}

/// Variable-length bounds: `*` (both `None`), `*n` (both `Some(n)`), `*n..`,
/// `*..m`, `*n..m`. Defaults (1 and unbounded) are the executor's business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VarLength {
    /// Minimum hops.
    pub min: Option<u64>,
    /// Maximum hops.
    pub max: Option<u64>,
}

// ----------------------------------------------------------------------------
// Expressions
// ----------------------------------------------------------------------------

/// A Cypher expression.
///
/// Precedence, loosest first (as Memgraph's openCypher grammar):
/// `OR` < `XOR` < `AND` < `NOT` < comparison < `+ -` < `* / %` < `^` < unary `+ -`
/// < `=~ STARTS WITH ENDS WITH CONTAINS IN IS [NOT] NULL` < label predicate `n:L`
/// < property, index and slice < atoms. A minus sign directly before a number
/// literal is part of the literal (`-1` is `Integer(-1)`, so `i64::MIN` is writable).
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// An integer literal (decimal, `0x` hex, `0o` octal).
    Integer(i64),
    /// A float literal.
    Float(f64),
    /// A string literal (escapes resolved).
    String(String),
    /// `true` / `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// `[a, b, ...]`
    List(Vec<Expr>),
    /// `{key: value, ...}` in source order.
    Map(Vec<(String, Expr)>),
    /// `$name` or `$0`.
    Parameter(String),
    /// A variable.
    Variable(String),

    /// `expr.key`
    Property {
        /// The node, relationship, map or temporal value.
        expr: Box<Expr>,
        /// The key.
        key: String,
    },
    /// `expr[index]` (list index or dynamic map/property access).
    Index {
        /// The list or map.
        expr: Box<Expr>,
        /// The index or key.
        index: Box<Expr>,
    },
    /// `expr[from..to]`; either bound may be absent.
    Slice {
        /// The list.
        expr: Box<Expr>,
        /// Start (inclusive).
        from: Option<Box<Expr>>,
        /// End (exclusive).
        to: Option<Box<Expr>>,
    },
    /// `expr:A:B`: true when the node has all labels.
    HasLabels {
        /// The node.
        expr: Box<Expr>,
        /// The labels (at least one).
        labels: Vec<String>,
    },

    /// `a OR b OR ...` (at least two operands).
    Or(Vec<Expr>),
    /// `a XOR b XOR ...` (at least two operands).
    Xor(Vec<Expr>),
    /// `a AND b AND ...` (at least two operands).
    And(Vec<Expr>),
    /// `NOT expr`
    Not(Box<Expr>),
    /// `first op1 e1 op2 e2 ...`: openCypher's chained comparison, meaning
    /// `(first op1 e1) AND (e1 op2 e2) AND ...` with each operand evaluated once.
    /// A plain `a = b` has one `rest` entry.
    Comparison {
        /// The leftmost operand.
        first: Box<Expr>,
        /// Each operator and its right operand (at least one).
        rest: Vec<(ComparisonOp, Expr)>,
    },
    /// `first op1 e1 op2 e2 ...`, left-associative:
    /// `((first op1 e1) op2 e2) ...`. All ops share one precedence level.
    Arithmetic {
        /// The leftmost operand.
        first: Box<Expr>,
        /// Each operator and its right operand (at least one).
        rest: Vec<(ArithmeticOp, Expr)>,
    },
    /// Unary `-expr` / `+expr`.
    Unary {
        /// The sign.
        op: UnaryOp,
        /// The operand.
        expr: Box<Expr>,
    },
    /// `lhs IN rhs`
    In {
        /// The element.
        lhs: Box<Expr>,
        /// The list.
        rhs: Box<Expr>,
    },
    /// `lhs STARTS WITH rhs`, `ENDS WITH`, `CONTAINS`, `=~`.
    StringMatch {
        /// Which test.
        op: StringOp,
        /// The string tested.
        lhs: Box<Expr>,
        /// The prefix, suffix, substring or regular expression.
        rhs: Box<Expr>,
    },
    /// `expr IS NULL`
    IsNull(Box<Expr>),
    /// `expr IS NOT NULL`
    IsNotNull(Box<Expr>),

    /// `name([DISTINCT] args)`; `name` may be dotted (`date.truncate`), case as typed.
    FunctionCall {
        /// The function name.
        name: String,
        /// `DISTINCT` (aggregations).
        distinct: bool,
        /// The arguments.
        args: Vec<Expr>,
    },
    /// `count(*)`
    CountStar,
    /// `CASE [operand] WHEN w THEN t ... [ELSE e] END`
    Case {
        /// The simple form's operand (`CASE x WHEN 1 ...`); `None` for the generic form.
        operand: Option<Box<Expr>>,
        /// `(when, then)` pairs (at least one).
        whens: Vec<(Expr, Expr)>,
        /// The `ELSE` result (null when absent).
        else_expr: Option<Box<Expr>>,
    },
    /// `[var IN list [WHERE predicate] [| map]]`
    ListComprehension {
        /// The element variable.
        var: String,
        /// The source list.
        list: Box<Expr>,
        /// The filter.
        where_clause: Option<Box<Expr>>,
        /// The mapping (the element itself when absent).
        map: Option<Box<Expr>>,
    },
    /// `[[p =] pattern [WHERE predicate] | map]`
    PatternComprehension {
        /// The path variable.
        var: Option<String>,
        /// The pattern (at least one relationship).
        pattern: Box<PatternElement>,
        /// The filter.
        where_clause: Option<Box<Expr>>,
        /// The value collected per match.
        map: Box<Expr>,
    },
    /// `all|any|none|single(var IN list [WHERE predicate])`
    Quantifier {
        /// Which quantifier.
        kind: QuantifierKind,
        /// The element variable.
        var: String,
        /// The list.
        list: Box<Expr>,
        /// The predicate (absent: the element itself is the predicate).
        where_clause: Option<Box<Expr>>,
    },
    /// `reduce(acc = init, var IN list | expr)`
    Reduce {
        /// The accumulator variable.
        accumulator: String,
        /// Its initial value.
        init: Box<Expr>,
        /// The element variable.
        var: String,
        /// The list.
        list: Box<Expr>,
        /// The next accumulator value.
        expr: Box<Expr>,
    },
    /// `EXISTS { ... }`
    Exists(Box<ExistsSubquery>),
    /// A relationship pattern used as a predicate: `WHERE (a)-[:KNOWS]->()`.
    /// Always has at least one relationship.
    PatternPredicate(Box<PatternElement>),
    /// `var {.key, .*, key: expr, other}`
    MapProjection {
        /// The node, relationship or map variable projected.
        var: String,
        /// The selectors, in order.
        items: Vec<MapProjectionItem>,
    },
}

/// The body of `EXISTS { ... }`.
#[derive(Debug, Clone, PartialEq)]
pub enum ExistsSubquery {
    /// `EXISTS { [MATCH] pattern, ... [WHERE predicate] }`
    Pattern {
        /// The pattern parts (at least one).
        patterns: Vec<PatternPart>,
        /// The filter.
        where_clause: Option<Expr>,
    },
    /// `EXISTS { <query> }`: a full query, e.g. with `WITH` or `RETURN`; true when
    /// it yields at least one row.
    Query(Query),
}

/// One selector in a map projection.
#[derive(Debug, Clone, PartialEq)]
pub enum MapProjectionItem {
    /// `.key`
    Property(String),
    /// `.*`
    AllProperties,
    /// `key: expr`
    Literal(String, Expr),
    /// `var` (key and value from a variable in scope)
    Variable(String),
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ComparisonOp {
    /// `=`
    Eq,
    /// `<>` (also accepted: `!=`)
    Ne,
    /// `<`
    Lt,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `>=`
    Ge,
}

/// Arithmetic operators (binary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArithmeticOp {
    /// `+` (also list and string concatenation)
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `^` (float power, left-associative)
    Pow,
}

impl ArithmeticOp {
    /// The precedence level: operators of one [`Expr::Arithmetic`] chain share it.
    /// Higher binds tighter: `+ -` 1, `* / %` 2, `^` 3.
    pub fn precedence(self) -> u8 {
        match self {
            ArithmeticOp::Add | ArithmeticOp::Sub => 1,
            ArithmeticOp::Mul | ArithmeticOp::Div | ArithmeticOp::Mod => 2,
            ArithmeticOp::Pow => 3,
        }
    }
}

/// Unary sign operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `-expr`
    Minus,
    /// `+expr`
    Plus,
}

/// String predicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StringOp {
    /// `STARTS WITH`
    StartsWith,
    /// `ENDS WITH`
    EndsWith,
    /// `CONTAINS`
    Contains,
    /// `=~` (whole-string regular expression match)
    Regex,
}

/// List quantifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuantifierKind {
    /// `all(...)`
    All,
    /// `any(...)`
    Any,
    /// `none(...)`
    None,
    /// `single(...)`
    Single,
}
