//! TLS on Bolt: the rustls server configuration from `--bolt-cert-file` / `--bolt-key-file`,
//! and [`Io`], a connection's byte stream, plain or TLS, with the semantics of a non-blocking
//! socket (`Ok(0)` at end of input, `WouldBlock` when nothing can move now), so the worker
//! pool's state machine ([`crate::connection`]) drives both the same way.
//!
//! With TLS, rustls's `ServerConnection` sits between the socket and the Bolt bytes: reads
//! pull TLS records from the socket (`read_tls`), decrypt them (`process_new_packets`) and hand
//! out plaintext (`reader`); writes encrypt into rustls's buffer (`writer`, which takes at most
//! its buffer limit, so backpressure still reaches the connection) and push records to the
//! socket (`write_tls`). TLS handshake messages are sent from either path. What rustls holds
//! that the socket has not taken is reported by [`Io::flush_pending`]; plaintext it decrypted
//! and the connection has not read yet by [`Io::buffered_input`] (the socket will not report
//! it readable again).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;

use parking_lot::Mutex;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Reads the PEM certificate chain and private key and builds the server configuration.
/// Errors name the file and say what is wrong with it, in one line.
pub fn server_config(
    cert_file: &Path,
    key_file: &Path,
) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_file)
        .map_err(|e| pem_error("--bolt-cert-file", cert_file, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| pem_error("--bolt-cert-file", cert_file, e))?;
    if certs.is_empty() {
        anyhow::bail!(
            "--bolt-cert-file {}: no PEM certificate in the file",
            cert_file.display()
        );
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| pem_error("--bolt-key-file", key_file, e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow::anyhow!("TLS setup: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            anyhow::anyhow!(
                "--bolt-cert-file {} / --bolt-key-file {}: {e}",
                cert_file.display(),
                key_file.display()
            )
        })?;
    Ok(Arc::new(config))
}

fn pem_error(flag: &str, path: &Path, e: rustls::pki_types::pem::Error) -> anyhow::Error {
    use rustls::pki_types::pem::Error;
    let why = match e {
        Error::Io(io) => io.to_string(),
        Error::NoItemsFound => "no PEM item of the expected kind in the file".to_string(),
        other => format!("not a valid PEM file ({other:?})"),
    };
    anyhow::anyhow!("{flag} {}: {why}", path.display())
}

/// One TLS connection's state: rustls and the socket under it.
pub struct TlsStream {
    conn: rustls::ServerConnection,
    sock: TcpStream,
}

impl TlsStream {
    /// Pushes rustls's pending records to the socket; `Ok(true)` when none is left.
    fn send_pending(&mut self) -> io::Result<bool> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut self.sock) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut socket_eof = false;
        loop {
            match self.conn.reader().read(buf) {
                // 0: the client closed the TLS session (close_notify).
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if socket_eof {
                        return Ok(0);
                    }
                }
                // The socket closed without close_notify: the end of input all the same.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            match self.conn.read_tls(&mut self.sock) {
                Ok(0) => socket_eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Handshake replies produced earlier may still be waiting.
                    self.send_pending()?;
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
            if let Err(e) = self.conn.process_new_packets() {
                // Not TLS (a plain-text client), or a broken peer: tell it (best effort), close.
                let _ = self.send_pending();
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("TLS: {e}"),
                ));
            }
            self.send_pending()?;
        }
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.send_pending()? {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = self.conn.writer().write(buf)?;
        self.send_pending()?;
        if n == 0 && !buf.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    fn buffered_input(&mut self) -> bool {
        self.conn
            .process_new_packets()
            .is_ok_and(|s| s.plaintext_bytes_to_read() > 0)
    }
}

/// A connection's byte stream: the socket itself, or TLS over it. Cheap to clone (the
/// interrupt probe reads through a clone); the TLS state is shared behind a mutex that only
/// the connection's current worker takes.
pub struct Io {
    sock: TcpStream,
    tls: Option<Arc<Mutex<TlsStream>>>,
}

impl Io {
    pub fn plain(sock: TcpStream) -> Io {
        Io { sock, tls: None }
    }

    pub fn tls(sock: TcpStream, config: Arc<rustls::ServerConfig>) -> io::Result<Io> {
        let conn = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
        let tls = TlsStream {
            conn,
            sock: sock.try_clone()?,
        };
        Ok(Io {
            sock,
            tls: Some(Arc::new(Mutex::new(tls))),
        })
    }

    /// The socket (for its address, its descriptor and shutting it down).
    pub fn socket(&self) -> &TcpStream {
        &self.sock
    }

    pub fn try_clone(&self) -> io::Result<Io> {
        Ok(Io {
            sock: self.sock.try_clone()?,
            tls: self.tls.clone(),
        })
    }

    pub fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match &self.tls {
            None => (&self.sock).read(buf),
            Some(t) => t.lock().read(buf),
        }
    }

    pub fn write(&self, buf: &[u8]) -> io::Result<usize> {
        match &self.tls {
            None => (&self.sock).write(buf),
            Some(t) => t.lock().write(buf),
        }
    }

    /// Sends what TLS still holds; `Ok(true)` when nothing is left (always, without TLS).
    pub fn flush_pending(&self) -> io::Result<bool> {
        match &self.tls {
            None => Ok(true),
            Some(t) => t.lock().send_pending(),
        }
    }

    /// Whether TLS holds output the socket has not taken.
    pub fn wants_write(&self) -> bool {
        self.tls
            .as_ref()
            .is_some_and(|t| t.lock().conn.wants_write())
    }

    /// Whether decrypted input is waiting to be read (the socket does not report it).
    pub fn buffered_input(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.lock().buffered_input())
    }

    /// Ends the TLS session politely (best effort), then shuts the socket down.
    pub fn shutdown(&self) {
        if let Some(t) = &self.tls {
            let mut t = t.lock();
            t.conn.send_close_notify();
            let _ = t.send_pending();
        }
        let _ = self.sock.shutdown(std::net::Shutdown::Both);
    }
}
