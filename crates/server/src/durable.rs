//! The data directory: its lock, recovery at startup (newest valid snapshot, then the WAL after
//! it), the write-ahead log as the storage's commit sink, snapshots (on demand, periodic, at
//! exit) with retention, and the final flush at shutdown.
//!
//! Layout of `--data-directory`: `.lock` (held while a server runs; holds its pid), `wal/`
//! (segments), `snapshots/` (`<commit ts>.snapshot` files, see the `durability` crate), and
//! `.backup/<unix time>/` for the files a start with `--data-recovery-on-startup=false` moved
//! aside instead of deleting.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context};
use durability::{
    apply_retention, newest_valid_snapshot, recover, segment_headers, write_snapshot,
    DurabilityError, Recovery, SnapshotInfo, Wal, WalConfig,
};
use parking_lot::Mutex;
use storage::{Storage, StorageConfig};
use tracing::{info, warn};

use crate::config::Config;

/// What `open` set up; keeps the directory locked until dropped.
pub struct DataDir {
    _lock: File,
    pub wal: Option<Arc<Wal>>,
    pub snapshots: Arc<Snapshots>,
    snapshot_on_exit: bool,
}

/// Takes snapshots of one storage into `<data>/snapshots`, one at a time.
pub struct Snapshots {
    /// Replaced when a replica loads its MAIN's snapshot.
    storage: parking_lot::RwLock<Arc<Storage>>,
    dir: PathBuf,
    wal: Option<Arc<Wal>>,
    retention: usize,
    epoch: String,
    one_at_a_time: Mutex<()>,
}

/// Locks `config.data_directory`, recovers it into a new storage (unless
/// `--data-recovery-on-startup=false`), and installs the WAL (unless
/// `--storage-wal-enabled=false`).
pub fn open(config: &Config) -> anyhow::Result<(Arc<Storage>, DataDir)> {
    let dir = &config.data_directory;
    fs::create_dir_all(dir)
        .map_err(|e| anyhow!("cannot use data directory {}: {e}", dir.display()))?;
    let lock = lock_directory(dir)?;
    let wal_dir = dir.join("wal");
    let snapshot_dir = dir.join("snapshots");
    let new_storage = || Storage::new(StorageConfig::default());
    let (storage, recovery) = if config.data_recovery_on_startup {
        recover_directory(&snapshot_dir, &wal_dir, new_storage)?
    } else {
        move_aside(dir, &["wal", "snapshots"])?;
        (new_storage(), Recovery::default())
    };
    let epoch = new_epoch();
    let wal = if config.storage_wal_enabled {
        let wal = Wal::open(
            WalConfig {
                dir: wal_dir,
                segment_bytes: config.storage_wal_file_size_kib * 1024,
                flush_every_n_tx: config.storage_wal_file_flush_every_n_tx,
                epoch: epoch.clone(),
                base_ts: storage.last_commit_ts(),
            },
            recovery,
        )
        .context("cannot open the write-ahead log")?;
        // main.rs installs the commit sink (the WAL behind replication).
        Some(Arc::new(wal))
    } else {
        warn!("the write-ahead log is disabled (--storage-wal-enabled=false): commits after the last snapshot are lost on restart");
        None
    };
    let snapshots = Arc::new(Snapshots {
        storage: parking_lot::RwLock::new(storage.clone()),
        dir: snapshot_dir,
        wal: wal.clone(),
        retention: config.storage_snapshot_retention_count as usize,
        epoch,
        one_at_a_time: Mutex::new(()),
    });
    Ok((
        storage,
        DataDir {
            _lock: lock,
            wal,
            snapshots,
            snapshot_on_exit: config.storage_snapshot_on_exit,
        },
    ))
}

impl DataDir {
    /// At shutdown: the exit snapshot (`--storage-snapshot-on-exit`), then a flush of what the
    /// WAL holds (with `--storage-wal-file-flush-every-n-tx` > 1 the last commits may not be on
    /// disk yet).
    pub fn shutdown(&self) {
        if self.snapshot_on_exit {
            if let Err(e) = self.snapshots.create() {
                warn!("could not take the snapshot at exit: {e}");
            }
        }
        if let Some(wal) = &self.wal {
            if let Err(e) = wal.sync() {
                warn!("could not flush the write-ahead log at shutdown: {e}");
            }
        }
    }
}

impl Snapshots {
    /// Writes a snapshot of the committed state (writers go on meanwhile), then deletes old
    /// snapshots beyond the retention count and the WAL segments no kept snapshot needs.
    pub fn create(&self) -> Result<SnapshotInfo, DurabilityError> {
        let _turn = self.one_at_a_time.lock();
        let storage = self.storage.read().clone();
        let info = write_snapshot(&storage, &self.dir, &self.epoch)?;
        info!(
            file = %info.path.display(),
            commit_ts = info.commit_ts,
            vertices = info.vertices,
            edges = info.edges,
            bytes = info.bytes,
            elapsed_ms = info.elapsed.as_millis() as u64,
            "snapshot created"
        );
        if let Err(e) = self.retain() {
            warn!("snapshot retention failed (the snapshot itself is fine): {e}");
        }
        Ok(info)
    }

    /// The storage to snapshot from now on (a replica's full resync replaced it).
    pub fn set_storage(&self, storage: Arc<Storage>) {
        *self.storage.write() = storage;
    }

    fn retain(&self) -> Result<(), DurabilityError> {
        apply_retention(&self.dir, self.retention)?;
        let Some(wal) = &self.wal else {
            return Ok(());
        };
        // The oldest snapshot kept is the one a fallback could recover from: keep the WAL after it.
        let kept = durability::list_snapshots(&self.dir)?;
        if let Some((oldest_ts, _)) = kept.last() {
            for path in wal.prune(*oldest_ts)? {
                info!(file = %path.display(), "deleted a WAL segment older than every snapshot kept");
            }
        }
        Ok(())
    }
}

impl query::SnapshotMaker for Snapshots {
    fn create_snapshot(&self) -> Result<String, String> {
        self.create()
            .map(|info| info.path.display().to_string())
            .map_err(|e| format!("Could not create a snapshot: {e}"))
    }
}

/// Loads the newest valid snapshot (falling back to older ones if it is damaged) and replays the
/// WAL records after it, logging progress.
fn recover_directory(
    snapshot_dir: &Path,
    wal_dir: &Path,
    new_storage: impl FnMut() -> Arc<Storage>,
) -> anyhow::Result<(Arc<Storage>, Recovery)> {
    let (storage, snapshot_ts) = match newest_valid_snapshot(snapshot_dir, new_storage)
        .map_err(|e| anyhow!("recovery failed: {e}"))?
    {
        Some((storage, info)) => {
            info!(
                file = %info.path.display(),
                commit_ts = info.commit_ts,
                vertices = info.vertices,
                edges = info.edges,
                elapsed_ms = info.elapsed.as_millis() as u64,
                "recovered the snapshot"
            );
            (storage, Some(info.commit_ts))
        }
        None => (Storage::new(StorageConfig::default()), None),
    };
    if let Some(ts) = snapshot_ts {
        check_wal_reaches_back(wal_dir, ts)?;
    }
    let recovery = recover_wal(wal_dir, &storage, snapshot_ts.unwrap_or(0))?;
    Ok((storage, recovery))
}

/// After pruning, the oldest segment left must start no later than just after the snapshot:
/// otherwise the commits between them are gone and recovering would silently lose them.
fn check_wal_reaches_back(wal_dir: &Path, snapshot_ts: u64) -> anyhow::Result<()> {
    let headers = segment_headers(wal_dir).map_err(|e| anyhow!("recovery failed: {e}"))?;
    if let Some((path, oldest)) = headers.first() {
        if oldest.sequence > 1 && oldest.first_commit_ts > snapshot_ts + 1 {
            return Err(anyhow!(
                "recovery failed: the snapshot ends at commit {snapshot_ts} but the oldest WAL segment {} starts at commit {} (segments before it were deleted), so commits in between are missing",
                path.display(),
                oldest.first_commit_ts
            ));
        }
    }
    Ok(())
}

/// Takes the directory's lock file, or says which process holds it.
fn lock_directory(dir: &Path) -> anyhow::Result<File> {
    let path = dir.join(".lock");
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| anyhow!("cannot use data directory {}: {e}", dir.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = (&file).take(64).read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if holder.is_empty() {
                "another process".to_string()
            } else {
                format!("another ferrograph process (pid {holder})")
            };
            return Err(anyhow!(
                "data directory {} is in use by {who}; stop it or choose another --data-directory",
                dir.display()
            ));
        }
        Err(TryLockError::Error(e)) => {
            return Err(anyhow!("cannot lock data directory {}: {e}", dir.display()));
        }
    }
    file.set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)).map(|_| ()))
        .and_then(|()| writeln!(file, "{}", std::process::id()))
        .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(file)
}

/// Replays every WAL record after `after_ts` into `storage`, logging progress per segment and a
/// summary.
fn recover_wal(wal_dir: &Path, storage: &Arc<Storage>, after_ts: u64) -> anyhow::Result<Recovery> {
    let mut skipped = 0u64;
    let recovery = recover(wal_dir, |record| {
        if record.commit_ts <= after_ts {
            skipped += 1; // already in the snapshot
            return Ok(());
        }
        storage
            .apply_record(&record)
            .map_err(|e| DurabilityError::Replay {
                path: wal_dir.to_owned(),
                commit_ts: record.commit_ts,
                reason: e.to_string(),
            })
    })
    .map_err(|e| anyhow!("recovery failed: {e}"))?;
    if recovery.segments > 0 {
        info!(
            segments = recovery.segments,
            records = recovery.records,
            already_in_snapshot = skipped,
            last_commit_ts = recovery.last_commit_ts,
            vertices = storage.vertex_count_approx(),
            edges = storage.edge_count_approx(),
            elapsed_ms = recovery.elapsed.as_millis() as u64,
            "recovered the write-ahead log"
        );
    }
    Ok(recovery)
}

/// Moves `names` (those that exist) from `dir` into `dir/.backup/<unix seconds>/`.
fn move_aside(dir: &Path, names: &[&str]) -> anyhow::Result<()> {
    let present: Vec<PathBuf> = names
        .iter()
        .map(|n| dir.join(n))
        .filter(|p| p.exists())
        .collect();
    if present.is_empty() {
        return Ok(());
    }
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let backup = dir.join(".backup").join(stamp.to_string());
    fs::create_dir_all(&backup).map_err(|e| anyhow!("cannot create {}: {e}", backup.display()))?;
    for path in present {
        let target = backup.join(path.file_name().expect("joined name"));
        fs::rename(&path, &target).map_err(|e| {
            anyhow!(
                "cannot move {} to {}: {e}",
                path.display(),
                target.display()
            )
        })?;
        warn!(
            from = %path.display(),
            to = %target.display(),
            "--data-recovery-on-startup=false: starting empty, earlier files moved aside"
        );
    }
    Ok(())
}

/// A fresh epoch id for the segments this process writes (replication compares them).
fn new_epoch() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{nanos:032x}{:08x}", std::process::id())
}
