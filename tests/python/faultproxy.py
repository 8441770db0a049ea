"""A small TCP fault proxy for the replication tests: it forwards a listening port to a target
and can stall every connection (a partition: nothing is delivered, nothing is closed), delay
each chunk (a slow link), or cut every connection (a reset).

    proxy = FaultProxy(("127.0.0.1", target_port)).start()
    ... connect to proxy.port ...
    proxy.partition()   # bytes stop flowing both ways; sockets stay open
    proxy.heal()        # flowing again (bytes held meanwhile are delivered)
    proxy.delay(0.05)   # every chunk waits 50 ms
    proxy.cut()         # closes every connection (new ones are accepted)
    proxy.stop()
"""

from __future__ import annotations

import select
import socket
import threading
import time


class FaultProxy:
    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self._flowing = threading.Event()
        self._flowing.set()
        self._delay = 0.0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []

    def start(self) -> "FaultProxy":
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def partition(self):
        self._flowing.clear()

    def heal(self):
        self._flowing.set()

    def delay(self, seconds: float):
        self._delay = seconds

    def cut(self):
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for a, b in pairs:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def stop(self):
        self._stop.set()
        self._flowing.set()
        self.cut()
        self.listener.close()

    def _accept(self):
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket):
        peers = {a: b, b: a}
        try:
            while not self._stop.is_set():
                if not self._flowing.is_set():
                    # A partition: hold everything, read nothing (the kernel buffers fill up).
                    self._flowing.wait(0.05)
                    continue
                ready, _, _ = select.select([a, b], [], [], 0.05)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    if self._delay:
                        time.sleep(self._delay)
                    self._flowing.wait()
                    peers[s].sendall(data)
        except (OSError, ValueError):  # a socket `cut` closed meanwhile
            return
        finally:
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass
