"""A TCP proxy that can turn into a black hole: it goes on accepting connections but answers
nothing, the way a database does when its host hangs. Standard library only.

`forward()`: connections are relayed to the target, and relaying resumes on connections that
were stalled. `black_hole()`: new connections are accepted and left unanswered (closed when
forwarding resumes); established ones stall mid-conversation, their bytes held back.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType

CHUNK = 65536


class BlackHoleProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._flowing = threading.Event()
        self._flowing.set()
        self._held: list[socket.socket] = []
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, name="blackhole-accept", daemon=True).start()

    def black_hole(self) -> None:
        self._flowing.clear()

    def forward(self) -> None:
        with self._lock:
            held, self._held = self._held, []
        for connection in held:
            connection.close()
        self._flowing.set()

    def close(self) -> None:
        self._closed = True
        self._flowing.set()
        self._listener.close()
        with self._lock:
            for connection in self._sockets + self._held:
                connection.close()

    def __enter__(self) -> BlackHoleProxy:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._flowing.is_set():
                with self._lock:
                    self._held.append(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._relay, args=(source, sink), daemon=True).start()

    def _relay(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(CHUNK)
                if not data:
                    break
                self._flowing.wait()  # stalled: hold the bytes until forwarding resumes
                if self._closed:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
