//! A minimal blocking Bolt client over `bolt::client`: enough to drive a server as fast as one
//! connection can, sequentially or pipelined.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;

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
                bail!("query failed: {}", failure_text(&f))
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

impl Client {
    /// Runs `count` autocommit queries pipelined on this connection: a writer thread appends
    /// request `i` (a RUN and a PULL, from `make(i, out)`) and sends them in large writes while
    /// this thread reads the answers, so the client's encoding overlaps the server's work.
    /// Returns the number of records received; the first FAILURE fails the whole call (the
    /// server ignores the rest until the RESET sent here).
    pub fn pipeline<F>(&mut self, count: usize, mut make: F) -> Result<u64>
    where
        F: FnMut(usize, &mut Vec<u8>) + Send + 'static,
    {
        let writer_stream = self.stream.try_clone()?;
        let writer = thread::spawn(move || -> Result<()> {
            let mut s = writer_stream;
            let mut out = Vec::with_capacity(1 << 20);
            for i in 0..count {
                make(i, &mut out);
                if out.len() > 256 * 1024 {
                    s.write_all(&out)?;
                    out.clear();
                }
            }
            s.write_all(&out)?;
            Ok(())
        });
        let (mut records, mut summaries, mut failure) = (0u64, 0usize, None);
        while summaries < 2 * count {
            match self.next()? {
                Response::Record(_) => records += 1,
                Response::Success(_) | Response::Ignored => summaries += 1,
                Response::Failure(f) => {
                    summaries += 1;
                    failure.get_or_insert_with(|| ((summaries - 1) / 2, failure_text(&f)));
                }
            }
        }
        match writer.join() {
            Ok(r) => r?,
            Err(_) => bail!("the pipeline's writer thread panicked"),
        }
        if let Some((i, text)) = failure {
            client::write_reset(&mut self.out);
            self.flush()?;
            let _ = self.next()?;
            bail!("query {i} of {count} failed: {text}");
        }
        Ok(records)
    }
}

/// "code: message" of a FAILURE's metadata.
pub fn failure_text(meta: &[(String, Value)]) -> String {
    let field = |k: &str| {
        meta.iter()
            .find(|(key, _)| key == k)
            .map_or(String::new(), |(_, v)| match v {
                Value::String(s) => s.clone(),
                other => format!("{other:?}"),
            })
    };
    format!("{}: {}", field("code"), field("message"))
}
