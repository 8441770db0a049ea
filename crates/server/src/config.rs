//! Command-line flags, with Memgraph's names and spelling rules.
//!
//! Memgraph (gflags) accepts `--flag=value`, `--flag value`, `--flag` for a true boolean, and
//! underscores in place of dashes (`--bolt_port`). clap does the parsing; [`flags::normalize_args`]
//! first rewrites underscores in flag names to dashes so both spellings reach the same flag.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{ArgAction, Parser};

/// The `--log-level` values Memgraph accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warning,
    Error,
    Critical,
}

impl LogLevel {
    pub fn to_tracing(self) -> tracing::Level {
        match self {
            LogLevel::Trace => tracing::Level::TRACE,
            LogLevel::Debug => tracing::Level::DEBUG,
            LogLevel::Info => tracing::Level::INFO,
            LogLevel::Warning => tracing::Level::WARN,
            LogLevel::Error | LogLevel::Critical => tracing::Level::ERROR,
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "ferrograph",
    version,
    about = "ferrograph: an in-memory property-graph database that speaks Bolt and Cypher"
)]
pub struct Config {
    /// Address the Bolt listener binds.
    #[arg(long, default_value = "0.0.0.0")]
    pub bolt_address: IpAddr,

    /// Port of the Bolt listener (0: let the OS choose; the startup line says which).
    #[arg(long, default_value_t = 7687)]
    pub bolt_port: u16,

    /// The `server` agent sent in the HELLO reply; must start with `Neo4j/` for the drivers.
    #[arg(
        long,
        default_value = "Neo4j/5.2.0 compatible graph database server - ferrograph"
    )]
    pub bolt_server_name_for_init: String,

    /// Directory for the database's files. The environment variable FERROGRAPH_DATA_DIRECTORY
    /// sets it when the flag is not given (the Docker image sets it to /var/lib/ferrograph).
    #[arg(
        long,
        env = "FERROGRAPH_DATA_DIRECTORY",
        default_value = "./ferrograph-data"
    )]
    pub data_directory: PathBuf,

    /// Minimum level of log messages: TRACE, DEBUG, INFO, WARNING, ERROR, CRITICAL.
    #[arg(long, value_enum, ignore_case = true, default_value = "WARNING")]
    pub log_level: LogLevel,

    /// Also write logs to this file ("" = no log file).
    #[arg(long, default_value = "")]
    pub log_file: String,

    /// Write logs to stderr as well.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true",
          default_value_t = false)]
    pub also_log_to_stderr: bool,

    /// Queries running longer than this many seconds are aborted (0 = no limit).
    #[arg(long, default_value_t = 600)]
    pub query_execution_timeout_sec: u64,

    /// Most memory the server may allocate, in MiB (0 = no limit): a query that would go over
    /// it fails with a memory-limit error and releases what it allocated.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=(1 << 40)))]
    pub memory_limit: u64,

    /// Seconds between periodic garbage collection passes (old versions, deleted objects,
    /// stale index entries); 0 disables the timer (commits still trigger GC by volume).
    #[arg(long, default_value_t = 30)]
    pub storage_gc_cycle_sec: u64,

    /// Recover the data directory's snapshot and write-ahead log at startup. When false, the
    /// server starts empty and moves any existing durable files aside into `<data>/.backup/`.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true",
          default_value_t = true)]
    pub data_recovery_on_startup: bool,

    /// Write every commit to the write-ahead log (required on a MAIN with replicas).
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true",
          default_value_t = true)]
    pub storage_wal_enabled: bool,

    /// fsync the WAL every this many commits. 1 (the default): a commit is on disk before its
    /// client hears SUCCESS, and concurrent commits share one fsync (group commit). n > 1: a
    /// crash can lose the last n - 1 acknowledged commits (never part of one).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub storage_wal_file_flush_every_n_tx: u64,

    /// A WAL segment is closed and a new one started past this size, in KiB.
    #[arg(long, default_value_t = 20480, value_parser = clap::value_parser!(u64).range(1..=(1 << 30)))]
    pub storage_wal_file_size_kib: u64,

    /// Seconds between periodic snapshots (0 = none).
    #[arg(long, default_value_t = 300)]
    pub storage_snapshot_interval_sec: u64,

    /// How many snapshots to keep (older ones are deleted after each new one).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    pub storage_snapshot_retention_count: u64,

    /// Take a snapshot when the server shuts down (SIGTERM, SIGINT).
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true",
          default_value_t = true)]
    pub storage_snapshot_on_exit: bool,

    /// Worker threads that serve the Bolt connections and run their queries (0 = one per
    /// core). A worker running a long query holds only that connection; the others keep
    /// serving the rest.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=1024))]
    pub bolt_num_workers: u16,

    /// Microseconds a Bolt worker that has just answered a request keeps polling for the next
    /// one before it sleeps (0: sleep at once). A request/response client's next request then
    /// finds the worker awake instead of waiting for it to be woken; the cost is up to this
    /// much CPU after each request, and none while the server is idle.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub bolt_busy_poll_us: u64,

    /// Keep the replication role, the registered replicas and the MAIN a replica follows
    /// across restarts (`<data>/replication/state.json`).
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true",
          default_value_t = true)]
    pub replication_restore_state_on_startup: bool,

    /// Seconds between a MAIN's heartbeats to each replica; a replica silent for three
    /// periods is "invalid" (at least 1).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub replication_replica_check_frequency_sec: u64,

    /// A MAIN refuses writes unless at least this many replicas are ready and answered within
    /// --replication-min-replicas-max-lag-sec (0: off; Redis's min-replicas-to-write).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=1000))]
    pub replication_min_replicas_to_write: u64,

    /// A user name must match this regular expression (whole), as in Memgraph.
    #[arg(long, default_value = crate::auth::DEFAULT_NAME_REGEX)]
    pub auth_user_or_role_regex: String,

    /// Allow users with a null password (`CREATE USER x` without `IDENTIFIED BY`); such a
    /// user logs in with any password.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true",
          default_value_t = true)]
    pub auth_password_permit_null: bool,

    /// PEM certificate chain for Bolt; with --bolt-key-file every Bolt connection is TLS.
    #[arg(long)]
    pub bolt_cert_file: Option<PathBuf>,

    /// PEM private key for --bolt-cert-file.
    #[arg(long)]
    pub bolt_key_file: Option<PathBuf>,

    /// Shared secret for replication traffic: when set, a MAIN and a replica prove to each
    /// other that they know it (HMAC-SHA256 challenge-response; the secret is never sent)
    /// before any data flows. Both sides must have the same secret. Prefer the environment
    /// variable to the flag (command lines are visible to other local users).
    #[arg(long, env = "FERROGRAPH_REPLICATION_SECRET", hide_env_values = true)]
    pub replication_secret: Option<String>,

    /// See --replication-min-replicas-to-write.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub replication_min_replicas_max_lag_sec: u64,
}

impl Config {
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<Config, clap::Error> {
        Config::try_parse_from(flags::normalize_args(args))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Held while parsing: clap reads FERROGRAPH_DATA_DIRECTORY, which one test sets.
    static ENV_LOCK: Mutex<()> = Mutex::new(());

    fn parse(args: &[&str]) -> Config {
        let _env = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let mut v = vec!["ferrograph".to_string()];
        v.extend(args.iter().map(|s| s.to_string()));
        Config::from_args(v).expect("valid flags")
    }

    #[test]
    fn defaults_match_the_spec() {
        let c = parse(&[]);
        assert_eq!(c.bolt_port, 7687);
        assert_eq!(c.bolt_address.to_string(), "0.0.0.0");
        assert_eq!(c.data_directory, PathBuf::from("./ferrograph-data"));
        assert_eq!(c.log_level, LogLevel::Warning);
        assert!(!c.also_log_to_stderr);
        assert!(c.bolt_server_name_for_init.starts_with("Neo4j/"));
        assert_eq!(c.query_execution_timeout_sec, 600);
        assert_eq!(c.memory_limit, 0);
        assert!(c.data_recovery_on_startup);
        assert!(c.storage_wal_enabled);
        assert_eq!(c.storage_wal_file_flush_every_n_tx, 1);
        assert_eq!(c.storage_wal_file_size_kib, 20480);
        assert_eq!(c.storage_snapshot_interval_sec, 300);
        assert_eq!(c.storage_snapshot_retention_count, 3);
        assert!(c.storage_snapshot_on_exit);
        assert_eq!(c.bolt_num_workers, 0);
    }

    #[test]
    fn durability_flags_parse_in_memgraph_spelling() {
        let c = parse(&[
            "--storage_wal_enabled=false",
            "--storage-wal-file-flush-every-n-tx=100000",
            "--storage_snapshot_on_exit",
            "false",
            "--data-recovery-on-startup=false",
        ]);
        assert!(!c.storage_wal_enabled);
        assert_eq!(c.storage_wal_file_flush_every_n_tx, 100000);
        assert!(!c.storage_snapshot_on_exit);
        assert!(!c.data_recovery_on_startup);
        let mut v = vec!["ferrograph".to_string()];
        v.push("--storage-wal-file-flush-every-n-tx=0".into());
        assert!(
            Config::from_args(v).is_err(),
            "0 commits per flush is refused"
        );
    }

    #[test]
    fn security_flags_default_off_and_parse_in_memgraph_spelling() {
        let c = parse(&[]);
        assert!(c.bolt_cert_file.is_none() && c.bolt_key_file.is_none());
        assert_eq!(c.auth_user_or_role_regex, "[a-zA-Z0-9_.+-@]+");
        assert!(c.auth_password_permit_null);
        let c = parse(&[
            "--bolt_cert_file=/c.pem",
            "--bolt-key-file",
            "/k.pem",
            "--auth_password_permit_null=false",
            "--auth-user-or-role-regex=[a-z]+",
            "--replication-secret=s",
        ]);
        assert_eq!(c.bolt_cert_file, Some(PathBuf::from("/c.pem")));
        assert_eq!(c.bolt_key_file, Some(PathBuf::from("/k.pem")));
        assert!(!c.auth_password_permit_null);
        assert_eq!(c.auth_user_or_role_regex, "[a-z]+");
        assert_eq!(c.replication_secret.as_deref(), Some("s"));
    }

    #[test]
    fn bolt_num_workers_is_bounded() {
        assert_eq!(parse(&["--bolt_num_workers=3"]).bolt_num_workers, 3);
        let too_many = ["ferrograph", "--bolt-num-workers=5000"].map(String::from);
        assert!(Config::from_args(too_many).is_err());
    }

    #[test]
    fn bolt_busy_poll_is_bounded() {
        assert_eq!(parse(&[]).bolt_busy_poll_us, 200);
        assert_eq!(parse(&["--bolt-busy-poll-us=0"]).bolt_busy_poll_us, 0);
        let too_long = ["ferrograph", "--bolt-busy-poll-us=10001"].map(String::from);
        assert!(Config::from_args(too_long).is_err());
    }

    #[test]
    fn memgraph_spellings_are_accepted() {
        let c = parse(&[
            "--bolt_port=7688",
            "--also_log_to_stderr",
            "--log-level",
            "info",
        ]);
        assert_eq!(c.bolt_port, 7688);
        assert!(c.also_log_to_stderr);
        assert_eq!(c.log_level, LogLevel::Info);
        let c = parse(&["--bolt-port", "7689", "--also-log-to-stderr=false"]);
        assert_eq!(c.bolt_port, 7689);
        assert!(!c.also_log_to_stderr);
    }

    #[test]
    fn bad_flags_are_errors() {
        for bad in [
            &["--bolt-port=70000"][..],
            &["--no-such-flag"],
            &["--log-level=LOUD"],
        ] {
            let mut v = vec!["ferrograph".to_string()];
            v.extend(bad.iter().map(|s| s.to_string()));
            assert!(Config::from_args(v).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn data_directory_comes_from_the_environment_unless_the_flag_is_given() {
        let _env = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let from_args = |args: &[&str]| {
            let mut v = vec!["ferrograph".to_string()];
            v.extend(args.iter().map(|s| s.to_string()));
            Config::from_args(v).expect("valid flags").data_directory
        };
        std::env::set_var("FERROGRAPH_DATA_DIRECTORY", "/var/lib/ferrograph");
        let from_env = from_args(&[]);
        let flag_wins = from_args(&["--data-directory=/srv/graph"]);
        let underscore_flag_wins = from_args(&["--data_directory", "/srv/other"]);
        std::env::remove_var("FERROGRAPH_DATA_DIRECTORY");
        assert_eq!(from_env, PathBuf::from("/var/lib/ferrograph"));
        assert_eq!(flag_wins, PathBuf::from("/srv/graph"));
        assert_eq!(underscore_flag_wins, PathBuf::from("/srv/other"));
        assert_eq!(from_args(&[]), PathBuf::from("./ferrograph-data"));
    }
}
