//! Replication's view of this server ([`replication::Host`]) and the replication queries'
//! implementation ([`query::ReplicationControl`]).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use durability::{list_snapshots, load_snapshot, segment_headers, Wal};
use query::{Engine, Notification, Value};
use replication::{Mode, Notice, Replication};
use storage::{CommitSink, Storage, StorageConfig};
use tracing::{info, warn};

use crate::durable::Snapshots;

pub struct ServerHost {
    engine: Arc<Engine>,
    wal: Option<Arc<Wal>>,
    data_directory: PathBuf,
    snapshots: Arc<Snapshots>,
    bolt_port: AtomicU16,
    sink: parking_lot::Mutex<Option<Arc<dyn CommitSink>>>,
}

impl ServerHost {
    pub fn new(
        engine: Arc<Engine>,
        wal: Option<Arc<Wal>>,
        data_directory: PathBuf,
        snapshots: Arc<Snapshots>,
        bolt_port: u16,
    ) -> ServerHost {
        ServerHost {
            engine,
            wal,
            data_directory,
            snapshots,
            bolt_port: AtomicU16::new(bolt_port),
            sink: parking_lot::Mutex::new(None),
        }
    }

    /// The Bolt port once the listener is bound (it may have been 0).
    pub fn set_bolt_port(&self, port: u16) {
        self.bolt_port.store(port, Ordering::Release);
    }

    /// Installs the commit sink on the storage (and on any storage a resync brings).
    pub fn install_sink(&self, sink: Arc<dyn CommitSink>) {
        self.engine.storage().set_commit_sink(sink.clone());
        *self.sink.lock() = Some(sink);
    }

    fn snapshot_dir(&self) -> PathBuf {
        self.data_directory.join("snapshots")
    }
}

impl replication::Host for ServerHost {
    fn storage(&self) -> Arc<Storage> {
        self.engine.storage()
    }

    fn wal(&self) -> Option<Arc<Wal>> {
        self.wal.clone()
    }

    fn bolt_port(&self) -> u16 {
        self.bolt_port.load(Ordering::Acquire)
    }

    fn resync_snapshot(&self) -> Result<(PathBuf, u64), String> {
        let dir = self.snapshot_dir();
        let newest = list_snapshots(&dir)
            .map_err(|e| e.to_string())?
            .into_iter()
            .next();
        if let (Some((ts, path)), Some(wal)) = (newest, &self.wal) {
            // Usable if the WAL still holds every commit after it.
            let headers = segment_headers(&wal.dir()).map_err(|e| e.to_string())?;
            if headers.first().is_none_or(|(_, h)| h.prev_commit_ts <= ts) {
                return Ok((path, ts));
            }
        }
        let info = self.snapshots.create().map_err(|e| e.to_string())?;
        Ok((info.path, info.commit_ts))
    }

    fn incoming_snapshot_path(&self) -> PathBuf {
        let dir = self.data_directory.join("replication");
        let _ = fs::create_dir_all(&dir);
        dir.join("incoming.snapshot")
    }

    fn install_snapshot(&self, path: &Path) -> Result<(), String> {
        let fresh = Storage::new(StorageConfig::default());
        let info = load_snapshot(path, &fresh).map_err(|e| e.to_string())?;
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let backup = self
            .data_directory
            .join(".backup")
            .join(format!("{stamp}-resync"));
        if let Some(wal) = &self.wal {
            wal.restart(&backup.join("wal"), info.commit_ts)
                .map_err(|e| e.to_string())?;
        }
        let dir = self.snapshot_dir();
        fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let old = list_snapshots(&dir).map_err(|e| e.to_string())?;
        if !old.is_empty() {
            let aside = backup.join("snapshots");
            fs::create_dir_all(&aside).map_err(|e| e.to_string())?;
            for (_, file) in old {
                let target = aside.join(file.file_name().expect("a snapshot file"));
                fs::rename(&file, &target).map_err(|e| e.to_string())?;
            }
        }
        let kept = dir.join(durability::snapshot::file_name(info.commit_ts));
        fs::rename(path, &kept).map_err(|e| e.to_string())?;
        fresh.set_read_only(true);
        if let Some(sink) = &*self.sink.lock() {
            fresh.set_commit_sink(sink.clone());
        }
        self.snapshots.set_storage(fresh.clone());
        self.engine.replace_storage(fresh);
        info!(
            snapshot = %kept.display(),
            commit_ts = info.commit_ts,
            vertices = info.vertices,
            edges = info.edges,
            moved_aside = %backup.display(),
            "replaced this replica's data with its MAIN's snapshot"
        );
        Ok(())
    }
}

/// The replication queries, on top of [`Replication`].
pub struct Control(pub Arc<Replication>);

fn notifications(notices: Vec<Notice>) -> Vec<Notification> {
    notices
        .into_iter()
        .map(|n| Notification {
            severity: n.severity.into(),
            code: n.code.into(),
            title: n.title.clone(),
            description: n.title,
        })
        .collect()
}

impl query::ReplicationControl for Control {
    fn set_replica(&self, port: i64) -> Result<Vec<Notification>, String> {
        self.0.set_replica(port).map(notifications)
    }

    fn set_main(&self) -> Result<Vec<Notification>, String> {
        self.0.set_main().map(notifications)
    }

    fn role(&self) -> &'static str {
        self.0.role_name()
    }

    fn register(&self, name: &str, mode: &str, address: &str) -> Result<Vec<Notification>, String> {
        let mode = match mode {
            "sync" => Mode::Sync,
            "async" => Mode::Async,
            "strict_sync" => Mode::StrictSync,
            other => return Err(format!("unknown replication mode {other}")),
        };
        self.0.register(name, mode, address).map(notifications)
    }

    fn drop_replica(&self, name: &str) -> Result<Vec<Notification>, String> {
        self.0.drop_replica(name).map(notifications)
    }

    fn show_replicas(&self) -> Result<Vec<Vec<Value>>, String> {
        let rows = self.0.show_replicas()?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let info = Value::Map(
                    [
                        ("behind".to_string(), Value::Int(r.behind)),
                        ("status".to_string(), Value::String(r.status.into())),
                        ("ts".to_string(), Value::Int(r.ts as i64)),
                    ]
                    .into_iter()
                    .collect(),
                );
                vec![
                    Value::String(r.name),
                    Value::String(r.socket_address),
                    Value::String(r.sync_mode.into()),
                    Value::Null,
                    Value::Map([("memgraph".to_string(), info)].into_iter().collect()),
                ]
            })
            .collect())
    }

    fn write_refusal(&self) -> Option<String> {
        self.0.write_refusal()
    }

    fn routing(&self) -> query::Routing {
        query::Routing {
            main: self.0.main_bolt_address(),
            replicas: self.0.readable_replicas(),
            is_replica: !self.0.is_main(),
        }
    }
}

/// Logs the warning Memgraph gives when a MAIN has no WAL.
pub fn warn_without_wal() {
    warn!("The instance has the MAIN replication role, but the write-ahead log is disabled (--storage-wal-enabled=false): replicas cannot be registered, because replication ships the write-ahead log.");
}
