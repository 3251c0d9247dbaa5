"""Tools for fault tests: a TCP proxy that can cut a connection on demand, and the set of comments whose
rule verdict is certain (so each one must end up as exactly one flag row, or none)."""

from __future__ import annotations

import contextlib
import json
import select
import socket
import threading
from pathlib import Path

# Texts whose `rules`-mode verdict is certain (asserted by the pipeline tests too): label, or None for benign.
CERTAIN = [
    ("My dad just collapsed in your lobby and he is not breathing", "urgent"),
    ("You are all useless clowns", "hostile"),
    ("What time does the Oak Street lab open on Saturdays?", None),
    ("Vaccines cause autism, do your own research", "misinformation"),
    ("Thank you to the nurses on the third floor, you were wonderful", None),
]


def write_comments(path: Path, prefix: str, count: int, authors: int = 24) -> tuple[list[str], list[str]]:
    """A JSONL replay file of `count` comments cycling through CERTAIN, spread over `authors` authors (and so
    over the partitions). Returns the ids expected to be flagged and the ids expected not to be."""
    flagged: list[str] = []
    benign: list[str] = []
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            text, label = CERTAIN[i % len(CERTAIN)]
            comment_id = f"{prefix}-{i}"
            record = {"id": comment_id, "text": text, "author": f"{prefix}-author-{i % authors}"}
            out.write(json.dumps(record) + "\n")
            (flagged if label else benign).append(comment_id)
    return flagged, benign


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to a target. `cut()` closes every open connection and refuses new ones (as a
    dead server would) until `restore()`. Runs in a daemon thread; `close()` stops it."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._cut = False
        self._closed = False
        self._thread = threading.Thread(target=self._accept_loop, name="cuttable-proxy", daemon=True)
        self._thread.start()

    def cut(self) -> None:
        with self._lock:
            self._cut = True
            pairs, self._pairs = self._pairs, []
        for a, b in pairs:
            _close(a)
            _close(b)

    def restore(self) -> None:
        with self._lock:
            self._cut = False

    def close(self) -> None:
        self._closed = True
        self.cut()
        _close(self._listener)
        self._thread.join(5)

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                refuse = self._cut
            if refuse:
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while True:
                readable, _, _ = select.select([a, b], [], [], 1.0)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            _close(a)
            _close(b)
            with self._lock, contextlib.suppress(ValueError):
                self._pairs.remove((a, b))


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
