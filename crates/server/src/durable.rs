//! The data directory: its lock, recovery at startup, the write-ahead log as the storage's
//! commit sink, and the final flush at shutdown.
//!
//! Layout of `--data-directory`: `.lock` (held while a server runs; holds its pid), `wal/`
//! (segments, see the `durability` crate), and `.backup/<unix time>/` for the files a start with
//! `--data-recovery-on-startup=false` moved aside instead of deleting.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context};
use durability::{recover, DurabilityError, Recovery, Wal, WalConfig};
use storage::Storage;
use tracing::{info, warn};

use crate::config::Config;

/// What `open` set up; keeps the directory locked until dropped.
pub struct DataDir {
    _lock: File,
    pub wal: Option<Arc<Wal>>,
}

/// Locks `config.data_directory`, recovers it into `storage` (unless
/// `--data-recovery-on-startup=false`), and installs the WAL (unless
/// `--storage-wal-enabled=false`).
pub fn open(config: &Config, storage: &Arc<Storage>) -> anyhow::Result<DataDir> {
    let dir = &config.data_directory;
    fs::create_dir_all(dir)
        .map_err(|e| anyhow!("cannot use data directory {}: {e}", dir.display()))?;
    let lock = lock_directory(dir)?;
    let wal_dir = dir.join("wal");
    let recovery = if config.data_recovery_on_startup {
        recover_wal(&wal_dir, storage)?
    } else {
        move_aside(dir, &["wal", "snapshots"])?;
        Recovery::default()
    };
    let wal = if config.storage_wal_enabled {
        let wal = Wal::open(
            WalConfig {
                dir: wal_dir,
                segment_bytes: config.storage_wal_file_size_kib * 1024,
                flush_every_n_tx: config.storage_wal_file_flush_every_n_tx,
                epoch: new_epoch(),
            },
            recovery,
        )
        .context("cannot open the write-ahead log")?;
        let wal = Arc::new(wal);
        storage.set_commit_sink(wal.clone());
        Some(wal)
    } else {
        warn!("the write-ahead log is disabled (--storage-wal-enabled=false): commits are lost on restart");
        None
    };
    Ok(DataDir { _lock: lock, wal })
}

impl DataDir {
    /// Flushes what the WAL holds (at shutdown; with `--storage-wal-file-flush-every-n-tx` > 1
    /// the last commits may not be on disk yet).
    pub fn shutdown(&self) {
        if let Some(wal) = &self.wal {
            if let Err(e) = wal.sync() {
                warn!("could not flush the write-ahead log at shutdown: {e}");
            }
        }
    }
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

/// Replays every WAL record into `storage`, logging progress per segment and a summary.
fn recover_wal(wal_dir: &Path, storage: &Arc<Storage>) -> anyhow::Result<Recovery> {
    let recovery = recover(wal_dir, |record| {
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
