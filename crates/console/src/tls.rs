//! `--use-ssl`: TLS without certificate verification.
//!
//! mgconsole's `--use-ssl` is mgclient's `MG_SSLMODE_REQUIRE`: the connection is encrypted,
//! but the server's certificate is **not** checked (no CA, no host name), so it protects
//! against eavesdropping, not against an active man in the middle. This module does the same
//! with rustls: [`AcceptAnyServerCert`] accepts every certificate chain, while the handshake
//! signatures are still verified (the server must hold the key of the certificate it sent).

use std::net::TcpStream;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};

/// A certificate verifier that trusts any certificate (mgclient's `MG_SSLMODE_REQUIRE`). Only
/// the proof of possession (the handshake signature) is checked, with the provider's
/// algorithms.
#[derive(Debug)]
pub struct AcceptAnyServerCert {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The client configuration `--use-ssl` uses: ring, TLS 1.2 and 1.3, any certificate.
pub fn client_config() -> Result<ClientConfig, String> {
    let provider = Arc::new(ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert { provider }))
        .with_no_client_auth())
}

/// Wraps a connected socket in TLS. The handshake itself happens on the first read or write
/// (the Bolt handshake), so its errors surface there.
pub fn connect(
    host: &str,
    tcp: TcpStream,
) -> Result<StreamOwned<ClientConnection, TcpStream>, String> {
    // The name is sent as SNI only (it is never checked); an IP address is fine.
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| format!("invalid host name {host:?} for TLS: {e}"))?;
    let conn = ClientConnection::new(Arc::new(client_config()?), name)
        .map_err(|e| format!("TLS setup: {e}"))?;
    Ok(StreamOwned::new(conn, tcp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::PrivateKeyDer;
    use rustls::{ServerConfig, ServerConnection};
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::thread;

    /// A self-signed certificate (CN=ferrograph-test, no CA anywhere) made with openssl for
    /// this test.
    const CERT: &[u8] = include_bytes!("../tests/fixtures/self-signed-cert.der");
    const KEY: &[u8] = include_bytes!("../tests/fixtures/self-signed-key.der");

    fn server_config() -> Arc<ServerConfig> {
        let provider = Arc::new(ring::default_provider());
        let key = PrivateKeyDer::try_from(KEY.to_vec()).expect("PKCS#8 key");
        Arc::new(
            ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(vec![CertificateDer::from(CERT.to_vec())], key)
                .unwrap(),
        )
    }

    /// A TLS echo server for one connection: returns the port.
    fn echo_server() -> (u16, thread::JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let config = server_config();
        let handle = thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            let conn = ServerConnection::new(config).unwrap();
            let mut tls = StreamOwned::new(conn, tcp);
            let mut got = [0u8; 4];
            tls.read_exact(&mut got).unwrap();
            tls.write_all(b"pong").unwrap();
            tls.flush().unwrap();
            got.to_vec()
        });
        (port, handle)
    }

    #[test]
    fn a_self_signed_certificate_is_accepted_and_traffic_is_encrypted() {
        let (port, server) = echo_server();
        let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
        // The host name does not match the certificate's CN either: not checked.
        let mut tls = connect("127.0.0.1", tcp).unwrap();
        tls.write_all(b"ping").unwrap();
        let mut reply = [0u8; 4];
        tls.read_exact(&mut reply).unwrap();
        assert_eq!(&reply, b"pong");
        assert_eq!(server.join().unwrap(), b"ping");
        assert!(tls.conn.negotiated_cipher_suite().is_some());
    }

    #[test]
    fn a_plain_server_fails_the_handshake_with_an_error() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = thread::spawn(move || {
            let (mut tcp, _) = listener.accept().unwrap();
            let mut hello = [0u8; 5];
            let _ = tcp.read_exact(&mut hello);
            // Not TLS: a Bolt version reply.
            let _ = tcp.write_all(&[0, 0, 4, 4, 0, 0, 0, 0]);
        });
        let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut tls = connect("localhost", tcp).unwrap();
        let mut buf = [0u8; 4];
        let err = tls
            .write_all(b"x")
            .and_then(|_| tls.read_exact(&mut buf))
            .unwrap_err();
        assert!(!err.to_string().is_empty());
        server.join().unwrap();
    }

    #[test]
    fn bad_host_names_are_refused() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let tcp = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        assert!(connect("not a host name!", tcp).is_err());
    }
}
