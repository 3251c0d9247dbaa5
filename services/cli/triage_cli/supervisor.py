"""`triage run`: the embedded broker and the three services as child processes, started and stopped together."""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from triage_bus.embedded import EmbeddedBroker, die_with_parent, free_port
from triage_bus.external import ExternalKafka

log = logging.getLogger(__name__)


@dataclass
class Service:
    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    health_url: str | None = None
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = field(default=0.0)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "triage_cli", *self.args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches the supervisor, which stops services in order
                preexec_fn=die_with_parent,  # no service outlives the supervisor
            )
        self.started_at = time.monotonic()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        if not self.alive():
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("service did not stop in time, killing name=%s", self.name)
            self.process.kill()
            self.process.wait()


def classifier_names(count: int) -> list[str]:
    return ["classifier"] if count == 1 else [f"classifier-{n}" for n in range(1, count + 1)]


def classifier_threads(count: int) -> int | None:
    """The model's threads in each of `count` workers on this machine: the cores shared out, so that their
    models do not crowd each other; None for a single worker (torch's default, every core)."""
    return max(1, (os.cpu_count() or 1) // count) if count > 1 else None


def classifier_workers_env(count: int, data_dir: Path) -> dict[str, dict[str, str]]:
    """What each of `count` workers on this machine gets on top of the shared env, by name: its folder under
    `data_dir`, a web port of its own and its share of the cores."""
    threads = classifier_threads(count)
    return {
        name: {
            **({"TRIAGE_CLASSIFIER_THREADS": str(threads)} if threads else {}),
            "TRIAGE_CLASSIFIER_DATA_DIR": str(data_dir / name),
            "TRIAGE_CLASSIFIER_WEB_PORT": str(free_port()),
        }
        for name in classifier_names(count)
    }


@dataclass
class RunOptions:
    data_dir: Path
    api_port: int = 8000
    ingest_port: int = 8001
    broker_port: int | None = None
    demo: bool = True
    classifier_mode: str = "hybrid"
    classifier_workers: int = 1
    ready_timeout: float = 180.0
    kafka: str | None = None  # HOST:PORT of an Apache Kafka cluster to use instead of the embedded broker


class Supervisor:
    def __init__(self, options: RunOptions) -> None:
        self.options = options
        self.data_dir = options.data_dir.resolve()
        # In its own session like the services: Ctrl-C reaches the supervisor alone, which stops the services
        # while the broker is still there for them to commit and leave their groups, and the broker last.
        self.broker: EmbeddedBroker | ExternalKafka = (
            ExternalKafka(options.kafka)
            if options.kafka
            else EmbeddedBroker(
                port=options.broker_port, log_path=self.data_dir / "logs" / "broker.log", own_session=True
            )
        )
        self.services: list[Service] = []
        self._stopping = False

    def admin_password(self) -> str:
        """The dashboard login for this data folder: from the environment, or generated once and kept."""
        from_env = os.environ.get("TRIAGE_BOOTSTRAP_ADMIN_PASSWORD")
        if from_env:
            return from_env
        path = self.data_dir / "admin-password"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(12) + "\n")
            path.chmod(0o600)
        return path.read_text().strip()

    def _env(self, password: str) -> dict[str, str]:
        from triage_ingest.config import demo_file

        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            **self.broker.service_env(),
            "TRIAGE_API_PORT": str(self.options.api_port),
            "TRIAGE_API_DATABASE_URL": os.environ.get(
                "TRIAGE_API_DATABASE_URL", f"sqlite:///{self.data_dir / 'triage.db'}"
            ),
            "TRIAGE_BOOTSTRAP_ADMIN_PASSWORD": password,
            "TRIAGE_INGEST_PORT": str(self.options.ingest_port),
            # Poll cursors and the YouTube units spent today, kept with the rest of this run's data.
            "TRIAGE_INGEST_POLL_STATE_FILE": os.environ.get(
                "TRIAGE_INGEST_POLL_STATE_FILE", str(self.data_dir / "ingest-poll.sqlite3")
            ),
            "TRIAGE_CLASSIFIER_MODE": self.options.classifier_mode,
        }
        if self.options.demo:
            env["TRIAGE_INGEST_REPLAY_FILE"] = str(demo_file())
        return env

    def _classifiers(self, env: dict[str, str], logs: Path) -> list[Service]:
        """One classifier worker, or several in one consumer group sharing the comments topic's partitions,
        each with its own port and folder."""
        workers = classifier_workers_env(self.options.classifier_workers, self.data_dir)
        return [
            Service(name, ["classifier"], {**env, **own}, logs / f"{name}.log")
            for name, own in workers.items()
        ]

    def check_ports(self) -> None:
        """Refuse to start when a port this run needs is taken: the dashboard would otherwise show whoever holds
        it (another instance, say) while our API crash-loops."""
        wanted = {"API": self.options.api_port, "ingest": self.options.ingest_port}
        if self.options.broker_port is not None:
            wanted["broker"] = self.options.broker_port
        for what, port in wanted.items():
            if not port_is_free(port):
                flag = {"API": "--api-port / TRIAGE_API_PORT", "ingest": "--ingest-port / TRIAGE_INGEST_PORT"}
                hint = flag.get(what, "--broker-port")
                raise RuntimeError(
                    f"port {port} ({what}) is already in use on 127.0.0.1; choose another with {hint}"
                )

    def private_data_dir(self) -> None:
        """The data folder holds comment text (the database, the broker's and services' logs, the ingest
        state): it is made 0700, its logs folder too, and the umask of this process, which the broker and
        the services inherit, becomes 077, so every file created in it is 0600 (SQLite's -wal and -shm
        files included)."""
        os.umask(0o077)
        for folder in (self.data_dir, self.data_dir / "logs"):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            folder.chmod(0o700)  # a folder made by an earlier version with 0755 too

    def start(self) -> None:
        self.check_ports()
        self.private_data_dir()
        password = self.admin_password()
        self.broker.start()
        env = self._env(password)
        logs = self.data_dir / "logs"
        api = f"http://127.0.0.1:{self.options.api_port}"
        ingest = f"http://127.0.0.1:{self.options.ingest_port}"
        self.services = [
            Service("api", ["api"], env, logs / "api.log", f"{api}/healthz"),
            *self._classifiers(env, logs),
            Service("ingest", ["ingest"], env, logs / "ingest.log", f"{ingest}/healthz"),
        ]
        for service in self.services:
            service.start()
        self._write_state(api, ingest)
        self._wait_healthy()
        print(
            f"\nTriage is running.\n"
            f"  Dashboard:  {api}/\n"
            f"  Login:      {self._username()} / {password}\n"
            f"  API:        {api}/api/flags  (docs: {api}/docs)\n"
            f"  Webhooks:   {ingest}/webhooks/...\n"
            f"  Broker:     {self.broker.bootstrap_servers}  ({self.broker.profile})\n"
            f"  Logs:       {logs}/\n"
            f"Press Ctrl-C to stop.\n",
            flush=True,
        )

    def _username(self) -> str:
        return os.environ.get("TRIAGE_BOOTSTRAP_ADMIN_USERNAME", "admin")

    def _write_state(self, api: str, ingest: str) -> None:
        state = {
            "bootstrap_servers": self.broker.bootstrap_servers,
            "api": api,
            "ingest": ingest,
            "pid": os.getpid(),
        }
        (self.data_dir / "run.json").write_text(json.dumps(state, indent=2) + "\n")

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.options.ready_timeout
        pending = [s for s in self.services if s.health_url]
        while pending:
            for service in list(pending):
                if not service.alive():
                    raise RuntimeError(f"{service.name} exited during start-up; see {service.log_path}")
                if _answers(service.health_url):
                    pending.remove(service)
            if time.monotonic() > deadline:
                raise RuntimeError(f"not healthy in time: {', '.join(s.name for s in pending)}")
            time.sleep(0.3)

    def watch(self) -> None:
        """Restart a service that dies (with back-off), until asked to stop."""
        while not self._stopping:
            for service in self.services:
                if not self._stopping and not service.alive():
                    code = service.process.returncode if service.process else None
                    backoff = min(30.0, 2.0 ** min(service.restarts, 5))
                    log.error(
                        "service exited name=%s code=%s; restarting in %.0fs (see %s)",
                        service.name,
                        code,
                        backoff,
                        service.log_path,
                    )
                    time.sleep(backoff)
                    if not self._stopping:
                        service.restarts += 1
                        service.start()
            time.sleep(0.5)

    def stop(self) -> None:
        self._stopping = True
        for service in reversed(self.services):
            service.stop()
        self.broker.stop()
        state = self.data_dir / "run.json"
        state.unlink(missing_ok=True)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on `host:port` now (the way uvicorn binds, SO_REUSEADDR included)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _answers(url: str | None) -> bool:
    if not url:
        return True
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def run(options: RunOptions) -> int:
    supervisor = Supervisor(options)

    def _on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _on_signal)
    # A shell or job runner may start us with SIGINT ignored, and children inherit that: Ctrl-C must still stop.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        supervisor.start()
        supervisor.watch()
    except KeyboardInterrupt:
        print("\nStopping Triage…", flush=True)
    except RuntimeError as exc:
        print(f"\nTriage could not start: {exc}", file=sys.stderr, flush=True)
        supervisor.stop()
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave orphans behind
        supervisor.stop()
    print("Stopped.", flush=True)
    return 0
