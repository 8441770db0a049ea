//! The Bolt listener: accepts connections on the tokio runtime and hands each to its own
//! thread ([`connection::serve`]); on shutdown closes every open connection and waits for them.

use std::collections::HashMap;
use std::future::Future;
use std::net::TcpStream;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use query::Engine;
use tracing::{info, warn};

use crate::connection::{self, ConnectionSettings};

/// Connections beyond this are refused (closed at once) to bound threads and memory.
const MAX_CONNECTIONS: usize = 4096;

/// Open connections: a handle to shut each socket down, and its thread.
type Registry = Arc<Mutex<HashMap<u64, (TcpStream, JoinHandle<()>)>>>;

pub async fn run(
    listener: tokio::net::TcpListener,
    engine: Arc<Engine>,
    settings: Arc<ConnectionSettings>,
    shutdown: impl Future<Output = ()>,
) {
    let registry: Registry = Arc::new(Mutex::new(HashMap::new()));
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
        let stream = match stream.into_std().and_then(|s| {
            s.set_nonblocking(false)?;
            Ok(s)
        }) {
            Ok(s) => s,
            Err(e) => {
                warn!("cannot prepare connection from {peer}: {e}");
                continue;
            }
        };
        registry.lock().retain(|_, (_, t)| !t.is_finished());
        if registry.lock().len() >= MAX_CONNECTIONS {
            warn!("refusing connection from {peer}: {MAX_CONNECTIONS} connections are open");
            continue;
        }
        next_id += 1;
        let id = next_id;
        let Ok(handle) = stream.try_clone() else {
            continue;
        };
        let (engine, settings, reg) = (engine.clone(), settings.clone(), registry.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("bolt-{id}"))
            // Deeply nested queries parse and plan recursively (depth-capped): room to spare.
            .stack_size(8 << 20)
            .spawn(move || {
                connection::serve(stream, engine, settings, id);
                reg.lock().remove(&id);
            });
        match spawned {
            Ok(thread) => {
                registry.lock().insert(id, (handle, thread));
            }
            Err(e) => warn!("cannot start a thread for connection {id}: {e}"),
        }
    }
    // Shutdown: close every socket (blocked reads return), roll back, wait a bounded time.
    let open: Vec<(TcpStream, JoinHandle<()>)> = registry.lock().drain().map(|(_, v)| v).collect();
    info!("shutting down: closing {} connection(s)", open.len());
    for (sock, _) in &open {
        let _ = sock.shutdown(std::net::Shutdown::Both);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for (_, thread) in open {
        while !thread.is_finished() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}
