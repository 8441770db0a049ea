//! The REPLICA's side: a TCP server on the replication port that accepts one MAIN at a time
//! and applies what it sends into this instance's storage, at the MAIN's timestamps.
//!
//! **Which MAIN.** A replica obeys the MAIN with the highest term it has accepted (persisted in
//! the state file). A hello from an older term gets [`Response::Fenced`]; a hello from the same
//! or a newer term takes over, and the connection of the MAIN it replaces is refused from then
//! on. A commit held by STRICT_SYNC's phase one is dropped when its connection ends.
//!
//! **Lineage.** The replica's data takes the MAIN's epoch only when the first commit (or
//! snapshot) of that MAIN arrives, so that a hello alone never hides a divergence.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use storage::PreparedRecord;
use tracing::{debug, info, warn};

use crate::auth;
use crate::proto::{self, Epoch, EpochMark, Request, Response, WireError, PROTOCOL_VERSION};
use crate::Replication;

/// A connection silent this long is dead (the MAIN sends heartbeats every check period).
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a replica polls for the MAIN's next request after answering one, before it sleeps.
const REQUEST_POLL: Duration = Duration::from_micros(200);

/// What the replica side keeps between requests (one MAIN connection is active at a time).
#[derive(Default)]
struct Core {
    /// The connection of the MAIN currently obeyed.
    active: u64,
    /// That MAIN's epoch and history (a full resync takes them over).
    main: Option<(Epoch, Vec<EpochMark>)>,
    prepared: Option<(u64, PreparedRecord)>,
    incoming: Option<Incoming>,
}

struct Incoming {
    path: PathBuf,
    file: BufWriter<File>,
    snapshot_ts: u64,
    expected: u64,
    received: u64,
}

pub(crate) struct ReplicaServer {
    port: u16,
    stop: Arc<AtomicBool>,
    sockets: Arc<Mutex<Vec<TcpStream>>>,
    acceptor: std::thread::JoinHandle<()>,
}

impl ReplicaServer {
    /// Binds `0.0.0.0:port` and serves MAINs on their own threads.
    pub(crate) fn start(repl: Arc<Replication>, port: u16) -> std::io::Result<ReplicaServer> {
        let listener = TcpListener::bind(("0.0.0.0", port))?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let sockets: Arc<Mutex<Vec<TcpStream>>> = Arc::new(Mutex::new(Vec::new()));
        let core = Arc::new(Mutex::new(Core::default()));
        let ids = Arc::new(AtomicU64::new(1));
        let acceptor = {
            let stop = stop.clone();
            let sockets = sockets.clone();
            std::thread::Builder::new()
                .name("repl-server".into())
                .spawn(move || {
                    for stream in listener.incoming() {
                        if stop.load(Ordering::Acquire) {
                            break;
                        }
                        let Ok(stream) = stream else { continue };
                        if let Ok(copy) = stream.try_clone() {
                            let mut list = sockets.lock();
                            list.retain(|s| s.peer_addr().is_ok());
                            list.push(copy);
                        }
                        let id = ids.fetch_add(1, Ordering::Relaxed);
                        let (repl, core, stop) = (repl.clone(), core.clone(), stop.clone());
                        let _ = std::thread::Builder::new()
                            .name("repl-conn".into())
                            .spawn(move || serve(stream, id, &repl, &core, &stop));
                    }
                    debug!("replication server stopped");
                })?
        };
        info!(port, "listening for a MAIN on the replication port");
        Ok(ReplicaServer {
            port,
            stop,
            sockets,
            acceptor,
        })
    }

    /// Stops accepting and cuts every connection (the promotion to MAIN).
    pub(crate) fn stop(self) {
        self.stop.store(true, Ordering::Release);
        for socket in self.sockets.lock().drain(..) {
            let _ = socket.shutdown(Shutdown::Both);
        }
        // Wake the accept loop so it sees the flag and closes the listener; once it has,
        // the port is free again (a new demotion may bind it right away).
        let woke = TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], self.port)),
            Duration::from_secs(1),
        );
        if woke.is_ok() {
            let _ = self.acceptor.join();
        }
    }
}

fn serve(stream: TcpStream, id: u64, repl: &Replication, core: &Mutex<Core>, stop: &AtomicBool) {
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
    let (Ok(read_half), Ok(write_half)) = (stream.try_clone(), stream.try_clone()) else {
        return;
    };
    let mut reader = BufReader::with_capacity(64 << 10, read_half);
    let mut writer = BufWriter::with_capacity(64 << 10, write_half);
    let mut rbuf = Vec::new();
    let mut wbuf = Vec::new();
    let ts = || repl.host.storage().last_commit_ts();
    let secret = &repl.settings.secret;
    let Ok(mut auth) = authenticate(
        secret,
        &ts,
        &peer,
        &mut reader,
        &mut writer,
        &mut rbuf,
        &mut wbuf,
    ) else {
        let _ = stream.shutdown(Shutdown::Both);
        return;
    };
    loop {
        if stop.load(Ordering::Acquire) {
            break;
        }
        if reader.buffer().is_empty() {
            proto::poll_readable(&stream, REQUEST_POLL);
        }
        let request: Request =
            match proto::read_message_authed(&mut reader, &mut rbuf, auth.as_mut()) {
                Ok(r) => r,
                Err(WireError::Closed) => break,
                Err(e) => {
                    warn!(peer = %peer, "replication connection dropped: {e}");
                    break;
                }
            };
        let answer = {
            let mut core = core.lock();
            handle(repl, &mut core, id, &peer, request)
        };
        if let Some(answer) = answer {
            if let Err(e) =
                proto::write_message_authed(&mut writer, &answer, &mut wbuf, auth.as_mut())
            {
                warn!(peer = %peer, "cannot answer the MAIN: {e}");
                break;
            }
        }
    }
    let mut core = core.lock();
    if core.active == id {
        core.active = 0;
        if let Some((ts, prepared)) = core.prepared.take() {
            info!(
                commit_ts = ts,
                "dropping a prepared commit: its MAIN's connection ended before phase two"
            );
            prepared.abort();
        }
        if let Some(incoming) = core.incoming.take() {
            let _ = std::fs::remove_file(&incoming.path);
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

/// The replica's half of [`crate::auth`]'s challenge-response, at the start of a connection:
/// answers the MAIN's challenge with this replica's proof, then checks the MAIN's. `Ok`: the
/// per-message authentication of the rest of the connection (`None` without a secret);
/// `Err`: the connection must end (the reason was logged and, where possible, sent).
fn authenticate(
    secret: &auth::Secret,
    ts: &dyn Fn() -> u64,
    peer: &str,
    reader: &mut impl std::io::Read,
    writer: &mut impl std::io::Write,
    rbuf: &mut Vec<u8>,
    wbuf: &mut Vec<u8>,
) -> Result<Option<auth::MessageAuth>, ()> {
    let refuse = |writer: &mut dyn std::io::Write, why: String| {
        warn!(peer = %peer, "replication connection refused: {why}");
        let answer = Response::Failed {
            reason: why,
            ts: ts(),
        };
        let _ = proto::write_message(&mut &mut *writer, &answer, &mut Vec::new());
        Err(())
    };
    let read = |reader: &mut dyn std::io::Read, rbuf: &mut Vec<u8>| -> Option<Request> {
        match proto::read_message(&mut &mut *reader, rbuf) {
            Ok(r) => Some(r),
            Err(WireError::Closed) => None,
            Err(e) => {
                warn!(peer = %peer, "replication connection dropped during authentication: {e}");
                None
            }
        }
    };
    let Some(first) = read(reader, rbuf) else {
        return Err(());
    };
    let (main_nonce, theirs) = match first {
        Request::Challenge {
            version,
            nonce,
            secret_set,
        } => {
            if version != PROTOCOL_VERSION {
                return refuse(writer, format!(
                    "this replica speaks replication protocol {PROTOCOL_VERSION}, the MAIN {version}"
                ));
            }
            if nonce.len() != auth::NONCE_BYTES {
                return refuse(writer, "a malformed authentication challenge".into());
            }
            (nonce, secret_set)
        }
        _ => {
            return refuse(
                writer,
                format!("the connection must start with the authentication challenge of replication protocol {PROTOCOL_VERSION}"),
            )
        }
    };
    let replica_nonce = auth::nonce();
    let challenge = Response::Challenge {
        version: PROTOCOL_VERSION,
        proof: secret.proof(auth::Side::Replica, &main_nonce, &replica_nonce),
        nonce: replica_nonce.clone(),
        secret_set: secret.is_set(),
    };
    if let Err(e) = proto::write_message(writer, &challenge, wbuf) {
        warn!(peer = %peer, "cannot answer the MAIN's challenge: {e}");
        return Err(());
    }
    let proof = match read(reader, rbuf) {
        Some(Request::Proof { proof }) => proof,
        Some(_) => return refuse(writer, "expected the MAIN's authentication proof".into()),
        None => {
            warn!(peer = %peer, "replication authentication failed: the MAIN hung up after this replica's proof (is --replication-secret the same on both?)");
            return Err(());
        }
    };
    if !secret.verify(auth::Side::Main, &main_nonce, &replica_nonce, &proof) {
        return refuse(writer, auth::mismatch("MAIN", secret.is_set(), theirs));
    }
    let ack = Response::Ack { ts: ts() };
    if let Err(e) = proto::write_message(writer, &ack, wbuf) {
        warn!(peer = %peer, "cannot answer the MAIN's proof: {e}");
        return Err(());
    }
    debug!(peer = %peer, "replication peer authenticated");
    Ok(auth::MessageAuth::new(
        secret,
        auth::Side::Replica,
        &main_nonce,
        &replica_nonce,
    ))
}

/// Answers one request of connection `id` (no answer to snapshot chunks).
fn handle(
    repl: &Replication,
    core: &mut Core,
    id: u64,
    peer: &str,
    request: Request,
) -> Option<Response> {
    let storage = repl.host.storage();
    let ts = storage.last_commit_ts();
    let failed = |reason: String| {
        Some(Response::Failed {
            reason,
            ts: repl.host.storage().last_commit_ts(),
        })
    };
    if repl.is_main() {
        return failed("this instance is a MAIN, not a replica".into());
    }
    if let Request::Hello {
        version,
        main,
        history,
        bolt_port,
        ..
    } = request
    {
        if version != PROTOCOL_VERSION {
            return failed(format!(
                "this replica speaks replication protocol {PROTOCOL_VERSION}, the MAIN {version}"
            ));
        }
        let mut state = repl.state.lock();
        if let Some(current) = &state.following {
            // An older MAIN is refused; so is another MAIN of the same term while the one
            // followed is connected (the same term with no MAIN connected: the last to
            // register wins, as in Memgraph).
            let rival = main.term == current.term && main.id != current.id && core.active != 0;
            if main.term < current.term || rival {
                info!(refused = %main, following = %current, "refusing a MAIN older than the one this replica follows");
                return Some(Response::Fenced {
                    newer: current.clone(),
                });
            }
        }
        if state.following.as_ref() != Some(&main) {
            info!(main = %main, "following a new MAIN");
            state.following = Some(main.clone());
            state.max_term = state.max_term.max(main.term);
            if let Err(e) = repl.file.save(&state) {
                return failed(e);
            }
        }
        if core.active != id {
            if let Some((_, prepared)) = core.prepared.take() {
                prepared.abort();
            }
            core.incoming = None;
            core.active = id;
        }
        core.main = Some((main, history));
        // The MAIN's Bolt address, for this replica's routing table: its host as this
        // connection sees it.
        if let Ok(addr) = peer.parse::<std::net::SocketAddr>() {
            *repl.main_bolt.lock() = Some(format!("{}:{bolt_port}", addr.ip()));
        }
        return Some(Response::Hello {
            version: PROTOCOL_VERSION,
            epoch: state.epoch.clone(),
            history: state.history.clone(),
            ts,
            bolt_port: repl.host.bolt_port(),
        });
    }
    if core.active != id {
        let following = repl.state.lock().following.clone();
        return match following {
            Some(newer) => Some(Response::Fenced { newer }),
            None => failed("say hello first".into()),
        };
    }
    match request {
        Request::Hello { .. } => unreachable!("handled above"),
        Request::Challenge { .. } | Request::Proof { .. } => {
            failed("authentication happens once, at the start of a connection".into())
        }
        Request::Heartbeat { .. } => Some(Response::Ack { ts }),
        Request::Append { frames } => {
            let records = match proto::decode_frames(&frames) {
                Ok(r) => r,
                Err(e) => return failed(format!("damaged commits: {e}")),
            };
            if let Err(e) = adopt_epoch(repl, core) {
                return failed(e);
            }
            for record in records {
                if record.commit_ts <= storage.last_commit_ts() {
                    continue; // sent again after a reconnect
                }
                if let Err(e) = storage.apply_record(&record) {
                    warn!(
                        commit_ts = record.commit_ts,
                        "cannot apply a replicated commit: {e}"
                    );
                    return failed(format!("commit {}: {e}", record.commit_ts));
                }
            }
            if let Err(e) = sync_batch(repl) {
                return failed(e);
            }
            Some(Response::Ack {
                ts: storage.last_commit_ts(),
            })
        }
        Request::Prepare { frame } => {
            let mut records = match proto::decode_frames(&frame) {
                Ok(r) if r.len() == 1 => r,
                Ok(_) => return failed("a prepare carries exactly one commit".into()),
                Err(e) => return failed(format!("damaged commit: {e}")),
            };
            let record = records.pop().expect("one");
            if let Some((old, prepared)) = core.prepared.take() {
                info!(
                    commit_ts = old,
                    "dropping a prepared commit the MAIN never finalized"
                );
                prepared.abort();
            }
            if let Err(e) = adopt_epoch(repl, core) {
                return failed(e);
            }
            match storage.prepare_record(&record) {
                Ok(prepared) => {
                    core.prepared = Some((record.commit_ts, prepared));
                    Some(Response::Ack { ts })
                }
                Err(e) => failed(format!("commit {}: {e}", record.commit_ts)),
            }
        }
        Request::Finalize { commit_ts, commit } => match core.prepared.take() {
            Some((held, prepared)) if held == commit_ts => {
                if commit {
                    if let Err(e) = prepared.commit() {
                        return failed(format!("commit {commit_ts}: {e}"));
                    }
                    if let Err(e) = sync_wal(repl) {
                        return failed(e);
                    }
                } else {
                    prepared.abort();
                }
                Some(Response::Ack {
                    ts: storage.last_commit_ts(),
                })
            }
            Some((held, prepared)) => {
                prepared.abort();
                failed(format!(
                    "commit {commit_ts} is not the one prepared ({held})"
                ))
            }
            None if commit && commit_ts <= ts => Some(Response::Ack { ts }),
            None => failed(format!("commit {commit_ts} was not prepared")),
        },
        Request::SnapshotBegin { snapshot_ts, bytes } => {
            let path = repl.host.incoming_snapshot_path();
            match File::create(&path) {
                Ok(file) => {
                    info!(
                        snapshot_ts,
                        bytes, "full resync: receiving a snapshot from the MAIN"
                    );
                    core.incoming = Some(Incoming {
                        path,
                        file: BufWriter::with_capacity(1 << 20, file),
                        snapshot_ts,
                        expected: bytes,
                        received: 0,
                    });
                }
                Err(e) => warn!(path = %path.display(), "cannot receive a snapshot: {e}"),
            }
            None
        }
        Request::SnapshotChunk { data } => {
            if let Some(incoming) = &mut core.incoming {
                incoming.received += data.len() as u64;
                if incoming.received > incoming.expected || incoming.file.write_all(&data).is_err()
                {
                    let _ = std::fs::remove_file(&incoming.path);
                    core.incoming = None;
                }
            }
            None
        }
        Request::SnapshotEnd => {
            let Some(incoming) = core.incoming.take() else {
                return failed("the snapshot could not be received (see the replica's log)".into());
            };
            let Incoming {
                path,
                file,
                snapshot_ts,
                expected,
                received,
            } = incoming;
            let synced = file
                .into_inner()
                .map_err(|e| e.to_string())
                .and_then(|f| f.sync_all().map_err(|e| e.to_string()));
            if received != expected || synced.is_err() {
                let _ = std::fs::remove_file(&path);
                return failed(format!(
                    "the snapshot arrived incomplete ({received} of {expected} bytes)"
                ));
            }
            if let Err(e) = repl.host.install_snapshot(&path) {
                return failed(format!("cannot load the snapshot: {e}"));
            }
            // The data is now the MAIN's, lineage included.
            if let Some((epoch, history)) = core.main.clone() {
                let mut state = repl.state.lock();
                state.epoch = epoch;
                state.history = history;
                if let Err(e) = repl.file.save(&state) {
                    warn!("{e}");
                }
            }
            let now = repl.host.storage().last_commit_ts();
            info!(snapshot_ts, commit_ts = now, "full resync: snapshot loaded");
            Some(Response::Ack { ts: now })
        }
    }
}

/// After a batch of commits was applied: with the WAL's default policy (a commit is durable
/// before it is acknowledged) one flush makes the whole batch durable before the MAIN hears of
/// it; with `--storage-wal-file-flush-every-n-tx` > 1 the replica's log flushes every n commits
/// as a MAIN's does (the operator accepted losing the newest commits in a crash; a replica
/// that restarts behind is caught up again from its MAIN).
fn sync_batch(repl: &Replication) -> Result<(), String> {
    use storage::CommitSink;
    match repl.host.wal() {
        Some(wal) if !wal.defers_durability() => Ok(()),
        _ => sync_wal(repl),
    }
}

/// Makes what was applied durable before it is acknowledged (a replica's commits do not wait
/// for their own flushes: one per batch).
fn sync_wal(repl: &Replication) -> Result<(), String> {
    match repl.host.wal() {
        Some(wal) => wal
            .sync()
            .map_err(|e| format!("the replica's write-ahead log could not store the commits: {e}")),
        None => Ok(()),
    }
}

/// The first data from a MAIN moves this replica's data into that MAIN's epoch.
fn adopt_epoch(repl: &Replication, core: &Core) -> Result<(), String> {
    let Some((epoch, _)) = &core.main else {
        return Err("say hello first".into());
    };
    let mut state = repl.state.lock();
    if &state.epoch != epoch {
        let last = repl.host.storage().last_commit_ts();
        state.enter_epoch(epoch.clone(), last);
        repl.file.save(&state)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufReader, BufWriter};
    use std::net::{TcpListener, TcpStream};

    /// Runs the replica's half on one end of a local TCP connection; returns the other end
    /// and the replica's verdict.
    fn replica_side(secret: &str) -> (TcpStream, std::thread::JoinHandle<bool>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let secret = auth::Secret::new(Some(secret));
        let replica = std::thread::spawn(move || {
            let (sock, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(sock.try_clone().unwrap());
            let mut writer = BufWriter::new(sock);
            let (mut rbuf, mut wbuf) = (Vec::new(), Vec::new());
            authenticate(
                &secret,
                &|| 7,
                "test",
                &mut reader,
                &mut writer,
                &mut rbuf,
                &mut wbuf,
            )
            .is_ok()
        });
        (TcpStream::connect(addr).unwrap(), replica)
    }

    /// The MAIN's half, as a peer that knows `secret` (or pretends to).
    fn main_side(sock: &TcpStream, secret: &str) -> (bool, Response) {
        let secret = auth::Secret::new(Some(secret));
        let mut buf = Vec::new();
        let m = auth::nonce();
        let challenge = Request::Challenge {
            version: PROTOCOL_VERSION,
            nonce: m.clone(),
            secret_set: true,
        };
        proto::write_message(&mut &*sock, &challenge, &mut buf).unwrap();
        let Response::Challenge {
            nonce: r, proof, ..
        } = proto::read_message(&mut &*sock, &mut buf).unwrap()
        else {
            panic!("expected the replica's challenge answer")
        };
        let replica_ok = secret.verify(auth::Side::Replica, &m, &r, &proof);
        // Send a proof whatever the check said: a stranger would.
        let proof = Request::Proof {
            proof: secret.proof(auth::Side::Main, &m, &r),
        };
        proto::write_message(&mut &*sock, &proof, &mut buf).unwrap();
        (
            replica_ok,
            proto::read_message(&mut &*sock, &mut buf).unwrap(),
        )
    }

    #[test]
    fn a_main_with_the_secret_is_accepted() {
        let (sock, replica) = replica_side("s3cret");
        let (replica_ok, answer) = main_side(&sock, "s3cret");
        assert!(replica_ok);
        assert_eq!(answer, Response::Ack { ts: 7 });
        assert!(replica.join().unwrap());
    }

    #[test]
    fn a_stranger_cannot_feed_a_replica() {
        let (sock, replica) = replica_side("s3cret");
        let (replica_ok, answer) = main_side(&sock, "guess");
        assert!(!replica_ok, "the stranger cannot check the replica either");
        match answer {
            Response::Failed { reason, .. } => {
                assert!(reason.contains("authentication failed"), "{reason}")
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(!replica.join().unwrap());
    }

    #[test]
    fn a_connection_must_start_with_the_challenge() {
        let (sock, replica) = replica_side("s3cret");
        let mut buf = Vec::new();
        let hello = Request::Heartbeat { main_ts: 1 };
        proto::write_message(&mut &sock, &hello, &mut buf).unwrap();
        match proto::read_message::<Response>(&mut &sock, &mut buf).unwrap() {
            Response::Failed { reason, .. } => assert!(reason.contains("challenge"), "{reason}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(!replica.join().unwrap());
    }
}
