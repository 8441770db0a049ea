//! The storage's commit sink on a server with a WAL: logs every commit and hands it to
//! replication, encoded once.
//!
//! On a MAIN, [`CommitSink::on_commit`] (under the storage's commit lock, in commit order)
//! refuses the write if this instance may not write (fenced, or too few replicas for
//! `--replication-min-replicas-to-write`), runs STRICT_SYNC's two-phase commit when such
//! replicas are registered, appends the frame to the WAL and to the backlog. After the commit
//! is visible, [`CommitSink::after_commit`] wakes the replica clients and waits for the SYNC
//! replicas. On a replica (commits applied from its MAIN) it only logs, and does not wait for
//! each commit's flush: with the default flush policy the replica syncs once per batch before
//! acknowledging it; with `--storage-wal-file-flush-every-n-tx` > 1 its log flushes every n
//! commits, as a MAIN's does.

use std::sync::Arc;

use durability::codec::encode_frame;
use durability::Wal;
use storage::{CommitRecord, CommitSink, CommitWarning};

use crate::state::Mode;
use crate::Replication;

/// Runs a blocking wait (the server lends its Bolt worker's other connections meanwhile).
pub type BlockingHook = Arc<dyn Fn(&mut dyn FnMut()) + Send + Sync>;

pub struct ReplicatingSink {
    repl: Arc<Replication>,
    wal: Arc<Wal>,
    blocking: BlockingHook,
}

impl ReplicatingSink {
    pub fn new(repl: Arc<Replication>, wal: Arc<Wal>, blocking: BlockingHook) -> ReplicatingSink {
        ReplicatingSink {
            repl,
            wal,
            blocking,
        }
    }

    fn log(&self, ts: u64, frame: &[u8]) -> Result<(), String> {
        self.wal
            .append_frame(ts, frame)
            .map_err(|e| format!("the write-ahead log could not store the commit: {e}"))
    }

    /// STRICT_SYNC: prepare on every such replica, make the commit durable here, finalize.
    fn two_phase(&self, ts: u64, frame: &[u8]) -> Result<(), String> {
        let strict: Vec<_> = self
            .repl
            .clients()
            .into_iter()
            .filter(|c| c.config.mode == Mode::StrictSync)
            .collect();
        let mut prepared = Vec::new();
        let mut failure = None;
        for client in &strict {
            match client.prepare(&self.repl, frame) {
                Ok(()) => prepared.push(client.clone()),
                Err(reason) => {
                    failure = Some((client.config.name.clone(), reason));
                    break;
                }
            }
        }
        let durable = match &failure {
            None => self.log(ts, frame).and_then(|()| {
                self.wal
                    .wait_durable(ts)
                    .map_err(|e| format!("the write-ahead log could not store the commit: {e}"))
            }),
            Some(_) => Ok(()),
        };
        let commit = failure.is_none() && durable.is_ok();
        for client in &prepared {
            client.finalize(&self.repl, ts, commit);
        }
        if let Some((name, reason)) = failure {
            return Err(format!("Replication Exception: Failed to replicate to STRICT_SYNC replica '{name}': {reason}. Replica will be recovered automatically. Transaction was aborted on all instances. Check the status of the replicas using 'SHOW REPLICAS' query."));
        }
        durable
    }
}

impl CommitSink for ReplicatingSink {
    fn on_commit(&self, record: &CommitRecord) -> Result<(), String> {
        let ts = record.commit_ts;
        let mut frame = Vec::new();
        encode_frame(record, &mut frame)
            .map_err(|e| format!("the commit cannot be logged: {e}"))?;
        if !self.repl.is_main() {
            // A replica logs what its MAIN sent.
            return self.log(ts, &frame);
        }
        if let Some(refusal) = self.repl.write_refusal() {
            return Err(refusal);
        }
        if !self.repl.has_clients() {
            self.repl.backlog.skip(ts);
            return self.log(ts, &frame);
        }
        let _gate = self.repl.commit_gate.lock();
        if self.repl.has_strict() {
            self.two_phase(ts, &frame)?;
        } else {
            self.log(ts, &frame)?;
        }
        self.repl.backlog.push(ts, frame.into());
        Ok(())
    }

    fn defers_durability(&self) -> bool {
        CommitSink::defers_durability(&*self.wal)
    }

    fn wait_durable(&self, commit_ts: u64) -> Result<(), String> {
        if !self.repl.is_main() {
            // A replica makes a whole batch from its MAIN durable at once before it
            // acknowledges it (see `replica.rs`); until then the MAIN would send it again.
            return Ok(());
        }
        let mut result = Ok(());
        (self.blocking)(&mut || result = CommitSink::wait_durable(&*self.wal, commit_ts));
        result
    }

    fn is_lost(&self, commit_ts: u64) -> bool {
        self.wal.is_lost(commit_ts)
    }

    fn after_commit(&self, commit_ts: u64) -> Vec<CommitWarning> {
        if !self.repl.is_main() {
            return Vec::new();
        }
        let mut warnings = Vec::new();
        (self.blocking)(&mut || warnings = self.repl.after_commit(commit_ts));
        warnings
    }
}
