//! `ferrograph`: the server binary.
//!
//! Parses Memgraph-style flags ([`config`]), sets up logging ([`logging`]), opens the storage and
//! the query engine, binds the Bolt listener and serves connections ([`listener`],
//! [`connection`]) until SIGTERM or SIGINT.

mod auth;
mod backend;
mod config;
mod connection;
mod convert;
mod convert_temporal;
mod durable;
mod epoll;
mod listener;
mod logging;
mod pool;
mod replicated;
mod tls;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use query::{Engine, EngineConfig};
use tracing::info;

use crate::config::Config;
use crate::connection::ConnectionSettings;

/// Queries allocate many small, short-lived values on every connection thread at once;
/// mimalloc's thread-local free lists handle that far better than glibc's malloc (measured
/// with the pipelined-create benchmark, see docs/benchmarks.md). The counting wrapper keeps the
/// total `--memory-limit` is checked against (batched per thread, see `query::memory`).
#[global_allocator]
static GLOBAL: query::memory::Counting<mimalloc::MiMalloc> =
    query::memory::Counting(mimalloc::MiMalloc);

/// Run by an idle Bolt worker: a connection is served by whichever worker is free, so memory
/// one worker allocated is often freed by another, and mimalloc returns it to the allocating
/// thread's pages only when that thread next collects. Collecting when a worker goes idle
/// keeps such memory from staying resident (measured: ~30 MiB of RSS after the 1M/5M load).
fn release_freed_memory() {
    extern "C" {
        // mimalloc's C API (linked in through the `mimalloc` crate).
        fn mi_collect(force: bool);
    }
    // SAFETY: mi_collect has no preconditions; it only tidies the calling thread's heap.
    unsafe { mi_collect(false) }
}

fn main() -> ExitCode {
    let config = match Config::from_args(std::env::args()) {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // One line: the reason, without clap's usage block.
            let text = e.to_string();
            let line = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("ferrograph: {line} (see --help)");
            return ExitCode::from(2);
        }
    };
    match run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ferrograph: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// SIGTERM or SIGINT before the server serves (during recovery, which may take a while): exit
/// at once. Nothing has been acknowledged yet, and recovery only reads (cutting a torn WAL tail
/// is repeated by the next start). Without this, a container's PID 1 would ignore `docker stop`
/// until the SIGKILL. Recovery over, the default is restored before the runtime's handlers are
/// installed.
extern "C" fn exit_during_startup(_signal: libc::c_int) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(0) }
}

fn run(config: Config) -> anyhow::Result<()> {
    // SAFETY: installing a handler that only calls _exit.
    unsafe {
        libc::signal(
            libc::SIGTERM,
            exit_during_startup as *const () as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGINT,
            exit_during_startup as *const () as libc::sighandler_t,
        );
    }
    logging::init(&config)?;
    // Before recovery: a bad certificate or key is reported at once.
    let tls = match (&config.bolt_cert_file, &config.bolt_key_file) {
        (Some(cert), Some(key)) => Some(tls::server_config(cert, key)?),
        (None, None) => None,
        _ => anyhow::bail!("TLS needs both --bolt-cert-file and --bolt-key-file"),
    };
    let (storage, data_dir) = durable::open(&config)?;
    let engine = Engine::new(
        storage,
        EngineConfig {
            query_timeout_sec: config.query_execution_timeout_sec,
            data_directory: Some(config.data_directory.clone()),
            memory_limit_bytes: config.memory_limit << 20,
            ..EngineConfig::default()
        },
    );
    engine.set_snapshot_maker(data_dir.snapshots.clone());
    let host = Arc::new(replicated::ServerHost::new(
        engine.clone(),
        data_dir.wal.clone(),
        config.data_directory.clone(),
        data_dir.snapshots.clone(),
        config.bolt_port,
    ));
    let repl = replication::Replication::start(
        host.clone(),
        &config.data_directory,
        replication::Settings {
            check_frequency: Duration::from_secs(config.replication_replica_check_frequency_sec),
            restore_state: config.replication_restore_state_on_startup,
            min_replicas_to_write: config.replication_min_replicas_to_write as usize,
            min_replicas_max_lag: Duration::from_secs(config.replication_min_replicas_max_lag_sec),
            secret: replication::auth::Secret::new(config.replication_secret.as_deref()),
            ..replication::Settings::default()
        },
    )
    .map_err(|e| anyhow::anyhow!("cannot restore the replication state: {e}"))?;
    match &data_dir.wal {
        Some(wal) => {
            // A Bolt worker waiting for a flush or for SYNC replicas lends its other
            // connections (see pool::while_blocked).
            let blocking: replication::sink::BlockingHook =
                Arc::new(|wait: &mut dyn FnMut()| pool::while_blocked(wait));
            host.install_sink(Arc::new(replication::ReplicatingSink::new(
                repl.clone(),
                wal.clone(),
                blocking,
            )));
        }
        None if repl.is_main() => replicated::warn_without_wal(),
        None => {}
    }
    engine.set_replication(Arc::new(replicated::Control(repl.clone())));
    let users = Arc::new(auth::UserStore::open(
        &config.data_directory,
        &config.auth_user_or_role_regex,
        config.auth_password_permit_null,
    )?);
    auth::create_user_from_env(&users)?;
    engine.set_auth(users.clone());
    let settings = Arc::new(ConnectionSettings {
        users,
        tls,
        server_agent: config.bolt_server_name_for_init.clone(),
        max_message_bytes: 64 << 20,
        handshake_timeout: Duration::from_secs(30),
    });

    // Recovery is done. The runtime's handlers take over: they chain to whatever handler was
    // installed before them, so the default goes back first (else every SIGTERM would _exit
    // instead of shutting down cleanly).
    // SAFETY: restoring the default disposition.
    unsafe {
        libc::signal(libc::SIGTERM, libc::SIG_DFL);
        libc::signal(libc::SIGINT, libc::SIG_DFL);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("ferrograph-io")
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let addr = std::net::SocketAddr::new(config.bolt_address, config.bolt_port);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen for Bolt on {addr}: {e}"))?;
        let local = listener.local_addr()?;
        host.set_bolt_port(local.port());
        info!(
            target: logging::STARTUP_TARGET,
            "ferrograph {} listening for Bolt on {local}, data directory {}, role {}",
            env!("CARGO_PKG_VERSION"),
            config.data_directory.display(),
            repl.role_name()
        );
        let gc_engine = engine.clone();
        // GC takes object locks briefly and never awaits.
        every(config.storage_gc_cycle_sec, move || {
            let stats = gc_engine.storage().free_memory();
            tracing::debug!(?stats, "periodic garbage collection");
        });
        if let Some(wal) = data_dir.wal.clone() {
            // Under --storage-wal-file-flush-every-n-tx > 1 commits are written to the log in
            // batches: at least once a second, so a crash of the process (not of the machine)
            // loses at most the last second's commits.
            every(1, move || {
                if let Err(e) = wal.write_out() {
                    tracing::warn!("cannot write the write-ahead log out: {e}");
                }
            });
        }
        let snapshots = data_dir.snapshots.clone();
        every(config.storage_snapshot_interval_sec, move || {
            if let Err(e) = snapshots.create() {
                tracing::warn!("periodic snapshot failed: {e}");
            }
        });
        let workers = match config.bolt_num_workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => usize::from(n),
        };
        listener::run(
            listener,
            engine,
            settings,
            workers,
            std::time::Duration::from_micros(config.bolt_busy_poll_us),
            release_freed_memory,
            shutdown_signal(),
        )
        .await?;
        data_dir.shutdown();
        info!(target: logging::STARTUP_TARGET, "ferrograph shut down");
        Ok(())
    })
}

/// Runs `work` every `seconds` (0: never) on a blocking thread, off the I/O thread; the first
/// run is one period after the start. Must be called inside the runtime.
fn every(seconds: u64, work: impl Fn() + Send + Sync + 'static) {
    if seconds == 0 {
        return;
    }
    let work = Arc::new(work);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(seconds));
        tick.tick().await;
        loop {
            tick.tick().await;
            let work = work.clone();
            let _ = tokio::task::spawn_blocking(move || work()).await;
        }
    });
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
