"""`triage run`: the whole product from one command, a working login, demo flags, and a clean Ctrl-C."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import httpx
import pytest
from triage_bus.embedded import free_port

from tests.integration.processes import service_env

pytestmark = pytest.mark.integration

START_TIMEOUT = 120.0
FLAGS_TIMEOUT = 60.0


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc/<pid>/task/*/children (Linux)."""
    found: set[int] = set()
    stack = [pid]
    while stack:
        parent = stack.pop()
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            try:
                kids = {int(p) for p in children.read_text().split()}
            except OSError:
                continue
            stack.extend(kids - found)
            found |= kids
    return found


def cmdline(pid: int) -> str | None:
    """The command line of a running process; None once it is gone (zombies count as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        if re.search(r"^State:\s+Z", status, re.MULTILINE):
            return None
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None


def processes_mentioning(needle: str) -> dict[int, str]:
    """Running processes (other than this one) whose command line or environment contains `needle`."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        line = cmdline(int(entry.name))
        try:
            environ = (entry / "environ").read_bytes().decode(errors="replace")
        except OSError:
            environ = ""
        if line and (needle in line or needle in environ):
            found[int(entry.name)] = line
    return found


class Lines:
    """Reads a process's output on a thread, so the test can wait for a line with a deadline."""

    def __init__(self, stream) -> None:  # type: ignore[no-untyped-def]
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream) -> None:  # type: ignore[no-untyped-def]
        for line in iter(stream.readline, ""):
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            for line in self.seen:
                if match := re.search(pattern, line):
                    return match
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line matching {pattern!r} in {timeout:.0f}s:\n{''.join(self.seen)}")
            try:
                received = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if received is None:
                raise AssertionError(f"output ended before {pattern!r}:\n{''.join(self.seen)}")
            self.seen.append(received)

    def rest(self, timeout: float = 5.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
        return "".join(self.seen)


def start_run(
    args: list[str], env: dict[str, str] | None = None, preexec_fn: Callable[[], object] | None = None
) -> subprocess.Popen[str]:
    """`python -m triage_cli run ARGS` in its own process group (as at a terminal, so cleanup reaches all of
    it), its output merged and read as text."""
    return subprocess.Popen(
        [sys.executable, "-m", "triage_cli", "run", *args],
        env=env if env is not None else service_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
        preexec_fn=preexec_fn,
    )


def kill_leftovers(process: subprocess.Popen[str], children: Iterable[int] = ()) -> None:
    """After a test, whatever it failed to stop: the run's process group, then any child outside it."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    for pid in children:
        if cmdline(pid):
            os.kill(pid, signal.SIGKILL)


def test_triage_run_serves_demo_flags_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    """Through two classifier workers sharing the comments topic, as on a machine with a core for each."""
    data_dir = tmp_path / "triage-data"
    api_port, ingest_port = free_port(), free_port()
    ports = ["--api-port", str(api_port), "--ingest-port", str(ingest_port)]
    process = start_run(
        ["--data-dir", str(data_dir), "--classifier-mode", "rules", "--classifier-workers", "2", *ports]
    )
    output = Lines(process.stdout)
    children: set[int] = set()
    try:
        dashboard = output.wait_for(r"Dashboard:\s+(http://\S+?)/?\s*$", START_TIMEOUT).group(1)
        username, password = output.wait_for(r"Login:\s+(\S+) / (\S+)", 5).groups()
        assert dashboard == f"http://127.0.0.1:{api_port}"
        assert password == (data_dir / "admin-password").read_text().strip()
        children = descendants(process.pid)
        assert len(children) >= 5, children  # broker, api, two classifier workers, ingest
        broker_address = json.loads((data_dir / "run.json").read_text())["bootstrap_servers"]
        assert processes_mentioning(broker_address)  # the broker's command line, the services' environment

        with httpx.Client(base_url=dashboard, timeout=5) as client:
            assert client.get("/api/flags").status_code == 401
            login = client.post("/login", data={"username": username, "password": password})
            assert login.status_code == 303, login.text
            assert "triage_session" in client.cookies

            deadline = time.monotonic() + FLAGS_TIMEOUT
            page: dict = {}  # type: ignore[type-arg]
            while time.monotonic() < deadline:
                page = client.get("/api/flags", params={"label": "urgent"}).json()
                if page["total"] > 0:
                    break
                time.sleep(0.5)
            assert page.get("total", 0) > 0, f"no demo flags in {FLAGS_TIMEOUT:.0f}s\n{output.rest(1)}"
            assert all("urgent" in item["labels"] for item in page["items"])
            assert all(
                item["platform"]
                in {"facebook", "instagram", "x", "youtube", "linkedin", "reddit", "tiktok", "demo"}
                for item in page["items"]
            )
            queue_page = client.get("/")
            assert queue_page.status_code == 200

        # Ctrl-C at a terminal signals the whole foreground process group, not just `triage run`.
        os.killpg(process.pid, signal.SIGINT)
        code = process.wait(60)
        text = output.rest()

        assert code == 0, text
        assert "Stopped." in text
        assert "did not stop in time" not in text  # every service stopped gracefully, the broker still up
        for worker in ("classifier-1", "classifier-2"):  # both joined the group and left it at the end
            assert "_on_partitions_assigned" in (data_dir / "logs" / f"{worker}.log").read_text(), worker
        assert not (data_dir / "run.json").exists()
        assert {pid: line for pid in children if (line := cmdline(pid))} == {}
        assert processes_mentioning(broker_address) == {}
        assert processes_mentioning(str(data_dir)) == {}
    finally:
        kill_leftovers(process, children)


def test_triage_run_refuses_a_busy_port_with_a_clear_message(tmp_path: Path) -> None:
    """Someone else's server on the API port: the run stops at once, says why and starts nothing."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "triage_cli", "run", "--data-dir", str(tmp_path / "data"), "--no-demo"],
            env={**service_env(), "TRIAGE_API_PORT": str(busy), "TRIAGE_INGEST_PORT": str(free_port())},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"port {busy} (API) is already in use" in result.stderr
    assert "TRIAGE_API_PORT" in result.stderr  # how to choose another
    assert "Triage is running" not in result.stdout
    assert not (tmp_path / "data" / "logs" / "broker.log").exists()  # nothing was started


def test_triage_run_takes_ports_from_the_environment_and_stops_on_ctrl_c_when_started_ignoring_it(
    tmp_path: Path,
) -> None:
    """Started the way some shells and job runners start background jobs (SIGINT ignored), with the ports the
    README documents as settings: it listens where told and Ctrl-C still stops it."""
    api_port, ingest_port = free_port(), free_port()
    process = start_run(
        ["--data-dir", str(tmp_path / "data"), "--no-demo", "--classifier-mode", "rules"],
        env={**service_env(), "TRIAGE_API_PORT": str(api_port), "TRIAGE_INGEST_PORT": str(ingest_port)},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    output = Lines(process.stdout)
    try:
        dashboard = output.wait_for(r"Dashboard:\s+(http://\S+?)/?\s*$", START_TIMEOUT).group(1)
        assert dashboard == f"http://127.0.0.1:{api_port}"
        assert httpx.get(f"{dashboard}/healthz", timeout=5).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{ingest_port}/healthz", timeout=5).status_code == 200
        os.killpg(process.pid, signal.SIGINT)
        code = process.wait(60)
        text = output.rest()
        assert code == 0, text
        assert "Stopped." in text
    finally:
        kill_leftovers(process)
