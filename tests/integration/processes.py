"""Triage services as child processes: started in their own process groups, always stopped, logs kept."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


def service_env(**triage: str) -> dict[str, str]:
    """This environment without any TRIAGE_* setting of the developer's, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env.update({"PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    env.update(triage)
    return env


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def start(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> Child:
    """`python -m triage_cli ARGS` in a new session, so stopping its group reaches anything it started."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "triage_cli", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Child(name, process, log_path)


def stop(children: list[Child], timeout: float = 15.0) -> None:
    """SIGTERM every group, wait, then SIGKILL whatever is left. Never leaves a child behind."""
    for child in children:
        _signal_group(child, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.process.wait(max(0.1, deadline - time.monotonic()))
    for child in children:
        _signal_group(child, signal.SIGKILL)  # also reaches grandchildren of an exited leader
        if child.alive():
            child.process.wait(10)


def _signal_group(child: Child, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.process.pid, signum)


def describe(children: list[Child]) -> str:
    """Exit codes and log tails, for failure messages."""
    return "\n".join(
        f"--- {c.name} (exit code {c.process.poll()}) {c.log_path}\n{c.log_tail()}" for c in children
    )


def wait_ready(children: list[Child], urls: list[str], timeout: float) -> None:
    """Until every URL answers 200; fails at once when a child exits, with its log, or after `timeout`."""
    deadline = time.monotonic() + timeout
    pending = list(urls)
    while pending:
        dead = [c for c in children if not c.alive()]
        assert not dead, describe(dead)
        for url in list(pending):
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    pending.remove(url)
            except httpx.HTTPError:
                pass
        assert time.monotonic() < deadline, f"not ready: {pending}\n{describe(children)}"
        time.sleep(0.2)
