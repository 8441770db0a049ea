//! The Bolt listener: accepts connections on the tokio runtime and registers each with the
//! worker pool ([`crate::pool`]); on shutdown closes every open connection and waits for the
//! workers to roll them back.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use query::Engine;
use tracing::{info, warn};

use crate::connection::{Connection, ConnectionSettings};
use crate::pool::Pool;

/// Connections beyond this are refused (closed at once) to bound memory.
const MAX_CONNECTIONS: usize = 4096;

pub async fn run(
    listener: tokio::net::TcpListener,
    engine: Arc<Engine>,
    settings: Arc<ConnectionSettings>,
    workers: usize,
    busy_poll: Duration,
    on_idle: fn(),
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let pool = Pool::new(workers, busy_poll, on_idle)?;
    let threads = pool.spawn_workers()?;
    info!("serving Bolt with {} worker thread(s)", threads.len());
    let mut next_id: u64 = 0;
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning.
                warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if pool.len() >= MAX_CONNECTIONS {
            warn!("refusing connection from {peer}: {MAX_CONNECTIONS} connections are open");
            continue;
        }
        next_id += 1;
        let id = next_id;
        let conn = match stream
            .into_std()
            .and_then(|s| Connection::new(s, engine.clone(), settings.clone(), id))
        {
            Ok(c) => c,
            Err(e) => {
                warn!("cannot prepare connection from {peer}: {e}");
                continue;
            }
        };
        match pool.add(conn, id) {
            Ok(slot) => {
                // A client that does not finish its handshake in time is disconnected.
                let timeout = settings.handshake_timeout;
                tokio::spawn(async move {
                    tokio::time::sleep(timeout).await;
                    if let Some(slot) = slot.upgrade() {
                        if !slot.handshaken() {
                            info!(connection = id, "handshake timed out");
                            slot.shutdown();
                        }
                    }
                });
            }
            Err(e) => warn!("cannot serve connection {id} from {peer}: {e}"),
        }
    }
    // Shutdown: close every socket (queries see the client gone), roll back, wait a bounded time.
    info!("shutting down: closing {} connection(s)", pool.len());
    pool.shutdown_connections();
    let deadline = Instant::now() + Duration::from_secs(10);
    while pool.len() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    pool.stop_workers();
    for thread in threads {
        while !thread.is_finished() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    Ok(())
}
