//! What replication keeps on disk: `<data-directory>/replication/state.json`.
//!
//! It holds the role (and a replica's port), the MAIN a replica follows, the replicas a MAIN
//! has registered, and the lineage of the data: the epoch of its newest commit and the epochs
//! it went through before. The file is replaced atomically (written to a temporary file,
//! fsynced, renamed, directory fsynced), so a crash leaves the old state or the new one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::proto::{Epoch, EpochMark};

/// How a MAIN waits for a replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Sync,
    Async,
    StrictSync,
}

impl Mode {
    /// The `sync_mode` column of SHOW REPLICAS.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sync => "sync",
            Mode::Async => "async",
            Mode::StrictSync => "strict_sync",
        }
    }
}

/// A replica as registered on a MAIN.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaConfig {
    pub name: String,
    /// The host as typed in REGISTER REPLICA (resolved at every connect).
    pub host: String,
    pub port: u16,
    pub mode: Mode,
}

impl ReplicaConfig {
    /// `host:port`, as SHOW REPLICAS prints it.
    pub fn socket_address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// The role of an instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Main,
    Replica { port: u16 },
}

/// Everything in `state.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub role: Role,
    /// The epoch of the data's newest commit: this instance's own while it is MAIN, the MAIN's
    /// it applied last while it is a replica.
    pub epoch: Epoch,
    /// Earlier epochs of the data, oldest first, each with its last commit (at most
    /// [`MAX_HISTORY`]).
    pub history: Vec<EpochMark>,
    /// A replica: the MAIN it obeys (the highest term it has accepted).
    pub following: Option<Epoch>,
    /// The highest term this instance has heard of; a promotion takes the next one.
    pub max_term: u64,
    /// A MAIN: its registered replicas, in registration order.
    pub replicas: Vec<ReplicaConfig>,
}

/// The longest history kept (as Memgraph).
pub const MAX_HISTORY: usize = 1000;

impl State {
    /// A fresh instance: MAIN of a new epoch of term 1, no history.
    pub fn fresh() -> State {
        State {
            role: Role::Main,
            epoch: Epoch::new(1),
            history: Vec::new(),
            following: None,
            max_term: 1,
            replicas: Vec::new(),
        }
    }

    /// Moves the data into `epoch`, remembering the one it leaves with its last commit.
    pub fn enter_epoch(&mut self, epoch: Epoch, last_ts: u64) {
        if epoch == self.epoch {
            return;
        }
        let old = std::mem::replace(&mut self.epoch, epoch);
        self.max_term = self.max_term.max(self.epoch.term);
        self.history.push(EpochMark {
            epoch: old,
            last_ts,
        });
        if self.history.len() > MAX_HISTORY {
            let extra = self.history.len() - MAX_HISTORY;
            self.history.drain(..extra);
        }
    }
}

/// Where a replica's history stands against a MAIN's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lineage {
    /// The replica holds a prefix of the MAIN's history: it can catch up.
    Prefix,
    /// The replica committed something the MAIN never had (it was a MAIN itself, or got
    /// commits an earlier MAIN lost): never overwritten silently.
    Diverged(String),
}

/// Compares a replica's (epoch, newest commit) with a MAIN's epoch, history and newest commit.
pub fn compare(
    main_epoch: &Epoch,
    main_history: &[EpochMark],
    main_ts: u64,
    replica_epoch: &Epoch,
    replica_ts: u64,
) -> Lineage {
    if replica_ts == 0 {
        return Lineage::Prefix;
    }
    if replica_epoch.id == main_epoch.id {
        return if replica_ts <= main_ts {
            Lineage::Prefix
        } else {
            Lineage::Diverged(format!(
                "the replica has commits up to {replica_ts} in this MAIN's epoch, the MAIN only up to {main_ts}"
            ))
        };
    }
    match main_history
        .iter()
        .rev()
        .find(|m| m.epoch.id == replica_epoch.id)
    {
        Some(mark) if replica_ts <= mark.last_ts => Lineage::Prefix,
        Some(mark) => Lineage::Diverged(format!(
            "the replica has commits up to {replica_ts} in epoch {}, which this MAIN's data left at {}",
            replica_epoch.id, mark.last_ts
        )),
        None => Lineage::Diverged(format!(
            "the replica's newest commit ({replica_ts}) belongs to epoch {}, which is not in this MAIN's history: it committed as a MAIN of its own",
            replica_epoch.id
        )),
    }
}

/// The state file of a data directory.
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    pub fn new(data_directory: &Path) -> StateFile {
        StateFile {
            path: data_directory.join("replication").join("state.json"),
        }
    }

    /// The stored state, or `None` if there is none yet.
    pub fn load(&self) -> Result<Option<State>, String> {
        match fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| format!("{} is damaged: {e}", self.path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read {}: {e}", self.path.display())),
        }
    }

    /// Replaces the stored state atomically.
    pub fn save(&self, state: &State) -> Result<(), String> {
        let dir = self.path.parent().expect("state.json is in a directory");
        let fail = |e: std::io::Error| format!("cannot write {}: {e}", self.path.display());
        fs::create_dir_all(dir).map_err(fail)?;
        let tmp = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(state).expect("the state serializes");
        let mut file = fs::File::create(&tmp).map_err(fail)?;
        file.write_all(&bytes)
            .and_then(|_| file.sync_all())
            .map_err(fail)?;
        fs::rename(&tmp, &self.path).map_err(fail)?;
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(fail)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lineage_rules() {
        let a = Epoch::new(1);
        let b = Epoch::new(2);
        let history = vec![EpochMark {
            epoch: a.clone(),
            last_ts: 10,
        }];
        // Empty replicas and replicas behind in the MAIN's own epoch catch up.
        assert_eq!(
            compare(&b, &history, 20, &Epoch::new(7), 0),
            Lineage::Prefix
        );
        assert_eq!(compare(&b, &history, 20, &b, 15), Lineage::Prefix);
        // A replica that followed the previous MAIN up to where this one took over.
        assert_eq!(compare(&b, &history, 20, &a, 10), Lineage::Prefix);
        assert_eq!(compare(&b, &history, 20, &a, 7), Lineage::Prefix);
        // It got more of the old epoch than this MAIN did (async lag at failover).
        assert!(matches!(
            compare(&b, &history, 20, &a, 11),
            Lineage::Diverged(_)
        ));
        // It was a MAIN of its own.
        assert!(matches!(
            compare(&b, &history, 20, &Epoch::new(2), 3),
            Lineage::Diverged(_)
        ));
        assert!(matches!(
            compare(&b, &history, 20, &b, 21),
            Lineage::Diverged(_)
        ));
    }

    #[test]
    fn state_survives_a_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path());
        assert_eq!(file.load().unwrap(), None);
        let mut state = State::fresh();
        state.replicas.push(ReplicaConfig {
            name: "REP1".into(),
            host: "10.0.0.2".into(),
            port: 10000,
            mode: Mode::Sync,
        });
        state.enter_epoch(Epoch::new(2), 5);
        file.save(&state).unwrap();
        assert_eq!(file.load().unwrap(), Some(state));
    }
}
