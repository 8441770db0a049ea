"""A tiny PackStream v1 codec and Bolt framing client for raw-socket tests.

The driver suites see the server through real clients; this module sees it byte by byte, so
tests can send what no well-behaved client sends (bad magic, garbage chunks, lying sizes) and
assert exact replies (the handshake version, message order, no NOOP chunks).

Layout:
* `pack` / `unpack`: PackStream v1 values <-> bytes. `Structure` is a tagged struct, `Raw` is
  pre-encoded bytes spliced in verbatim (to send non-minimal or malformed encodings).
* `chunk` / `message`: Bolt chunking (`u16 size` + payload ..., then `00 00`).
* `BoltConn`: one socket with deadlines on every read. `read_message` refuses a NOOP (empty)
  chunk where a message should start, because mgclient cannot survive one; every test that
  reads through it checks that rule for free.
"""

from __future__ import annotations

import math
import socket
import struct
import time

MAGIC = b"\x60\x60\xb0\x17"

# Request signatures (client -> server).
HELLO = 0x01
GOODBYE = 0x02
RESET = 0x0F
RUN = 0x10
BEGIN = 0x11
COMMIT = 0x12
ROLLBACK = 0x13
DISCARD = 0x2F
PULL = 0x3F
LOGON = 0x6A

# Response signatures (server -> client).
SUCCESS = 0x70
RECORD = 0x71
IGNORED = 0x7E
FAILURE = 0x7F

SIGNATURE_NAMES = {
    SUCCESS: "SUCCESS",
    RECORD: "RECORD",
    IGNORED: "IGNORED",
    FAILURE: "FAILURE",
}

DEFAULT_TIMEOUT_S = 10.0


class Structure:
    """A PackStream structure: a one-byte tag and up to 15 fields."""

    __slots__ = ("tag", "fields")

    def __init__(self, tag: int, *fields):
        self.tag = tag
        self.fields = list(fields)

    def __eq__(self, other):
        return (
            isinstance(other, Structure)
            and self.tag == other.tag
            and self.fields == other.fields
        )

    def __repr__(self):
        name = SIGNATURE_NAMES.get(self.tag, f"0x{self.tag:02X}")
        return f"Structure({name}, {self.fields!r})"


class Raw:
    """Bytes that `pack` copies verbatim (a value we encode by hand)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes):
        self.data = bytes(data)


# --------------------------------------------------------------------------------------------
# PackStream encoding


def pack(value) -> bytes:
    out = bytearray()
    _pack_into(value, out)
    return bytes(out)


def _pack_size(out: bytearray, size: int, tiny: int | None, markers: tuple[int, int, int]):
    if tiny is not None and size < 16:
        out.append(tiny + size)
    elif size < 0x100:
        out.append(markers[0])
        out.append(size)
    elif size < 0x10000:
        out.append(markers[1])
        out += struct.pack(">H", size)
    else:
        out.append(markers[2])
        out += struct.pack(">I", size)


def _pack_into(value, out: bytearray):
    if isinstance(value, Raw):
        out += value.data
    elif value is None:
        out.append(0xC0)
    elif value is True:
        out.append(0xC3)
    elif value is False:
        out.append(0xC2)
    elif isinstance(value, int):
        if -16 <= value <= 127:
            out += struct.pack(">b", value)
        elif -128 <= value <= 127:
            out.append(0xC8)
            out += struct.pack(">b", value)
        elif -32768 <= value <= 32767:
            out.append(0xC9)
            out += struct.pack(">h", value)
        elif -(2**31) <= value < 2**31:
            out.append(0xCA)
            out += struct.pack(">i", value)
        elif -(2**63) <= value < 2**63:
            out.append(0xCB)
            out += struct.pack(">q", value)
        else:
            raise ValueError(f"integer out of range: {value}")
    elif isinstance(value, float):
        out.append(0xC1)
        out += struct.pack(">d", value)
    elif isinstance(value, (bytes, bytearray)):
        if len(value) < 0x100:
            out.append(0xCC)
            out.append(len(value))
        elif len(value) < 0x10000:
            out.append(0xCD)
            out += struct.pack(">H", len(value))
        else:
            out.append(0xCE)
            out += struct.pack(">I", len(value))
        out += value
    elif isinstance(value, str):
        data = value.encode("utf-8")
        _pack_size(out, len(data), 0x80, (0xD0, 0xD1, 0xD2))
        out += data
    elif isinstance(value, (list, tuple)):
        _pack_size(out, len(value), 0x90, (0xD4, 0xD5, 0xD6))
        for item in value:
            _pack_into(item, out)
    elif isinstance(value, dict):
        _pack_size(out, len(value), 0xA0, (0xD8, 0xD9, 0xDA))
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError("map keys must be strings")
            _pack_into(key, out)
            _pack_into(item, out)
    elif isinstance(value, Structure):
        if len(value.fields) > 15:
            raise ValueError("a structure has at most 15 fields")
        out.append(0xB0 + len(value.fields))
        out.append(value.tag)
        for item in value.fields:
            _pack_into(item, out)
    else:
        raise TypeError(f"cannot pack {type(value).__name__}")


# --------------------------------------------------------------------------------------------
# PackStream decoding


class DecodeError(ValueError):
    pass


class _Unpacker:
    def __init__(self, data: bytes):
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise DecodeError(f"truncated value: need {n} bytes at {self.pos}")
        chunk = self.data[self.pos : self.pos + n].tobytes()
        self.pos += n
        return chunk

    def u(self, fmt: str) -> int:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def value(self):
        marker = self.take(1)[0]
        if marker <= 0x7F:
            return marker
        if marker >= 0xF0:
            return marker - 0x100
        high = marker & 0xF0
        if high == 0x80:
            return self.string(marker & 0x0F)
        if high == 0x90:
            return self.list(marker & 0x0F)
        if high == 0xA0:
            return self.map(marker & 0x0F)
        if high == 0xB0:
            tag = self.take(1)[0]
            return Structure(tag, *[self.value() for _ in range(marker & 0x0F)])
        simple = {
            0xC0: lambda: None,
            0xC1: lambda: self.u(">d"),
            0xC2: lambda: False,
            0xC3: lambda: True,
            0xC8: lambda: self.u(">b"),
            0xC9: lambda: self.u(">h"),
            0xCA: lambda: self.u(">i"),
            0xCB: lambda: self.u(">q"),
            0xCC: lambda: self.take(self.u(">B")),
            0xCD: lambda: self.take(self.u(">H")),
            0xCE: lambda: self.take(self.u(">I")),
            0xD0: lambda: self.string(self.u(">B")),
            0xD1: lambda: self.string(self.u(">H")),
            0xD2: lambda: self.string(self.u(">I")),
            0xD4: lambda: self.list(self.u(">B")),
            0xD5: lambda: self.list(self.u(">H")),
            0xD6: lambda: self.list(self.u(">I")),
            0xD8: lambda: self.map(self.u(">B")),
            0xD9: lambda: self.map(self.u(">H")),
            0xDA: lambda: self.map(self.u(">I")),
        }
        if marker in simple:
            return simple[marker]()
        raise DecodeError(f"invalid marker 0x{marker:02X}")

    def string(self, size: int) -> str:
        return self.take(size).decode("utf-8")

    def list(self, size: int) -> list:
        return [self.value() for _ in range(size)]

    def map(self, size: int) -> dict:
        out = {}
        for _ in range(size):
            key = self.value()
            if not isinstance(key, str):
                raise DecodeError("map key is not a string")
            out[key] = self.value()
        return out


def unpack(data: bytes):
    """Decodes exactly one value; trailing bytes are an error."""
    unpacker = _Unpacker(data)
    value = unpacker.value()
    if unpacker.pos != len(data):
        raise DecodeError(f"{len(data) - unpacker.pos} trailing bytes")
    return value


def same_value(a, b) -> bool:
    """Equality that treats NaN as equal to NaN and tells 0.0 from -0.0 and 1 from True."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if isinstance(a, (bytes, bytearray)) and isinstance(b, (bytes, bytearray)):
        return bytes(a) == bytes(b)
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, Structure):
        return a.tag == b.tag and same_value(a.fields, b.fields)
    return a == b


# --------------------------------------------------------------------------------------------
# Handshake and framing


def version(major: int, minor: int, back: int = 0) -> bytes:
    """One 4-byte proposal slot: `00 back minor major` (back = how many minors below `minor`)."""
    return bytes([0, back, minor, major])


def handshake_bytes(*slots: bytes, magic: bytes = MAGIC) -> bytes:
    """The 20 bytes a client sends: the magic, then exactly four slots (zero-filled)."""
    if len(slots) > 4:
        raise ValueError("at most four proposals")
    body = b"".join(slots) + b"\x00\x00\x00\x00" * (4 - len(slots))
    return magic + body


def chunk(payload: bytes, max_chunk: int = 0xFFFF) -> bytes:
    """Frames one message: chunks of at most `max_chunk` bytes, then the `00 00` end marker."""
    out = bytearray()
    for start in range(0, len(payload), max_chunk):
        part = payload[start : start + max_chunk]
        out += struct.pack(">H", len(part)) + part
    out += b"\x00\x00"
    return bytes(out)


def message(signature: int, *fields) -> bytes:
    return chunk(pack(Structure(signature, *fields)))


def hello_message(major: int, user_agent: str = "ferrograph-raw-tests/1.0") -> bytes:
    """HELLO for the version; on 5.1+ auth moves to LOGON, which follows in the same bytes."""
    if major >= 5:
        return message(HELLO, {"user_agent": user_agent}) + message(
            LOGON, {"scheme": "none"}
        )
    return message(HELLO, {"user_agent": user_agent, "scheme": "none"})


class Closed(Exception):
    """The server closed the connection (EOF or reset)."""


class ProtocolError(AssertionError):
    """The server sent bytes a client must never receive."""


class BoltConn:
    """One raw connection. Every read has a deadline; nothing here sleeps."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout_s: float = DEFAULT_TIMEOUT_S):
        self.timeout_s = timeout_s
        self.sock = socket.create_connection((host, port), timeout=timeout_s)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.version: tuple[int, int] | None = None

    # -- raw bytes --------------------------------------------------------------------------

    def send(self, data: bytes):
        self.sock.sendall(data)

    def shutdown_write(self):
        self.sock.shutdown(socket.SHUT_WR)

    def _fill(self, deadline: float):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no reply from the server before the deadline")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except socket.timeout as exc:
            raise TimeoutError("no reply from the server before the deadline") from exc
        except (ConnectionResetError, BrokenPipeError) as exc:
            raise Closed(str(exc)) from exc
        if not data:
            raise Closed("EOF")
        self.buf += data

    def recv_exact(self, n: int, timeout_s: float | None = None) -> bytes:
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while len(self.buf) < n:
            self._fill(deadline)
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_until_closed(self, timeout_s: float | None = None) -> bytes:
        """Everything the server sends until it closes; TimeoutError if it never does."""
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while True:
            try:
                self._fill(deadline)
            except Closed:
                out = bytes(self.buf)
                self.buf.clear()
                return out

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- handshake --------------------------------------------------------------------------

    def handshake(self, *slots: bytes) -> bytes:
        """Sends the magic and proposals; returns the 4-byte reply."""
        self.send(handshake_bytes(*slots))
        reply = self.recv_exact(4)
        if reply != b"\x00\x00\x00\x00":
            self.version = (reply[3], reply[2])
        return reply

    # -- messages ---------------------------------------------------------------------------

    def read_message(self, timeout_s: float | None = None) -> Structure:
        """Reassembles one message. A NOOP chunk where a message starts is a protocol error."""
        timeout_s = timeout_s or self.timeout_s
        payload = bytearray()
        while True:
            size = struct.unpack(">H", self.recv_exact(2, timeout_s))[0]
            if size == 0:
                if not payload:
                    raise ProtocolError("server sent a NOOP (empty) chunk")
                break
            payload += self.recv_exact(size, timeout_s)
        value = unpack(bytes(payload))
        if not isinstance(value, Structure):
            raise ProtocolError(f"message is not a structure: {value!r}")
        return value

    def hello(self) -> dict:
        """HELLO (+LOGON on 5.1+) for the negotiated version; returns HELLO's metadata."""
        assert self.version is not None, "handshake first"
        major, minor = self.version
        uses_logon = (major, minor) >= (5, 1)
        self.send(hello_message(5 if uses_logon else 4))
        reply = self.read_message()
        assert reply.tag == SUCCESS, f"HELLO failed: {reply!r}"
        if uses_logon:
            logon = self.read_message()
            assert logon.tag == SUCCESS, f"LOGON failed: {logon!r}"
        return reply.fields[0]

    def run(self, query: str, params: dict | None = None, extra: dict | None = None):
        self.send(message(RUN, query, params or {}, extra or {}))

    def pull(self, n: int = -1, qid: int | None = None):
        meta = {"n": n}
        if qid is not None:
            meta["qid"] = qid
        self.send(message(PULL, meta))

    def read_result(self) -> tuple[list, dict]:
        """RECORDs up to and including the summary; returns (rows, summary metadata)."""
        rows = []
        while True:
            msg = self.read_message()
            if msg.tag == RECORD:
                rows.append(msg.fields[0])
                continue
            assert msg.tag == SUCCESS, f"expected SUCCESS after records, got {msg!r}"
            return rows, msg.fields[0]

    def query(self, query: str, params: dict | None = None) -> tuple[list, list, dict]:
        """RUN + PULL {n: -1} pipelined; returns (fields, rows, final summary)."""
        self.run(query, params)
        self.pull(-1)
        head = self.read_message()
        assert head.tag == SUCCESS, f"RUN failed: {head!r}"
        rows, summary = self.read_result()
        return head.fields[0]["fields"], rows, summary


def connect(port: int, *slots: bytes, timeout_s: float = DEFAULT_TIMEOUT_S) -> BoltConn:
    """Handshake (default: Bolt 4.4 exactly) and HELLO; returns a READY connection."""
    conn = BoltConn(port, timeout_s=timeout_s)
    reply = conn.handshake(*(slots or (version(4, 4),)))
    assert reply != b"\x00\x00\x00\x00", "server rejected the proposal"
    conn.hello()
    return conn


def failure_code(meta: dict) -> str | None:
    """The error code of a FAILURE: `neo4j_code` on Bolt 5.7+, `code` before."""
    return meta.get("neo4j_code") or meta.get("code")
