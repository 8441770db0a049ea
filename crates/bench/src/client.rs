//! A minimal blocking Bolt client over `bolt::client`: enough to drive a server as fast as one
//! connection can, sequentially or pipelined.

use std::io::{Read, Write};
use std::net::TcpStream;

use anyhow::{bail, Context, Result};
use bolt::client::{self, Auth, ResponseDecoder};
use bolt::{Response, Value, Version};

pub struct Client {
    pub stream: TcpStream,
    pub version: Version,
    decoder: ResponseDecoder,
    buf: Vec<u8>,
    pub out: Vec<u8>,
}

impl Client {
    pub fn connect(addr: &str) -> Result<Client> {
        let mut stream =
            TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        stream.write_all(&client::handshake(&[
            (Version::V5_4, 4),
            (Version::V4_4, 0),
        ]))?;
        let mut reply = [0u8; 4];
        stream.read_exact(&mut reply)?;
        let version =
            client::parse_version_reply(reply).context("the server refused every version")?;
        let mut c = Client {
            stream,
            version,
            decoder: ResponseDecoder::new(),
            buf: vec![0; 256 * 1024],
            out: Vec::with_capacity(64 * 1024),
        };
        let n = client::write_hello(&mut c.out, version, "ferrograph-bench/0.1", &Auth::None);
        c.flush()?;
        for _ in 0..n {
            match c.next()? {
                Response::Success(_) => {}
                other => bail!("HELLO failed: {other:?}"),
            }
        }
        Ok(c)
    }

    pub fn flush(&mut self) -> Result<()> {
        self.stream.write_all(&self.out)?;
        self.out.clear();
        Ok(())
    }

    /// The next response, reading from the socket as needed.
    pub fn next(&mut self) -> Result<Response> {
        loop {
            if let Some(r) = self.decoder.poll_response()? {
                return Ok(r);
            }
            let n = self.stream.read(&mut self.buf)?;
            if n == 0 {
                bail!("the server closed the connection");
            }
            self.decoder.feed(&self.buf[..n]);
        }
    }

    /// Next response's signature only (no decoding), for counting at full speed.
    pub fn next_signature(&mut self) -> Result<u8> {
        loop {
            if let Some(p) = self.decoder.poll_payload()? {
                return client::response_signature(&p).context("malformed response");
            }
            let n = self.stream.read(&mut self.buf)?;
            if n == 0 {
                bail!("the server closed the connection");
            }
            self.decoder.feed(&self.buf[..n]);
        }
    }

    /// Runs a query and returns its records (autocommit).
    pub fn query(&mut self, text: &str, params: &[(String, Value)]) -> Result<Vec<Vec<Value>>> {
        client::write_run(&mut self.out, text, params, &[]);
        client::write_pull(&mut self.out, -1, None);
        self.flush()?;
        match self.next()? {
            Response::Success(_) => {}
            Response::Failure(f) => {
                client::write_reset(&mut self.out);
                self.flush()?;
                let _ = self.next()?; // IGNORED for the PULL
                let _ = self.next()?; // SUCCESS for the RESET
                bail!("query failed: {f:?}")
            }
            other => bail!("unexpected response {other:?}"),
        }
        let mut rows = Vec::new();
        loop {
            match self.next()? {
                Response::Record(r) => rows.push(r),
                Response::Success(_) => return Ok(rows),
                other => bail!("unexpected response {other:?}"),
            }
        }
    }
}
