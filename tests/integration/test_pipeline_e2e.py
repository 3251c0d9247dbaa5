"""The whole pipeline as separate processes, on the embedded broker and on Apache Kafka: replay -> ingest/replay
CLI -> classifier (Faust, rules mode) -> API. Flags arrive once, benign comments never become flags, bad input
goes to the dead-letter topic and the stream goes on."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from triage_bench.kafka_launcher import KafkaCluster
from triage_bus.embedded import EmbeddedBroker, free_port
from triage_events import (
    ALERTS,
    COMMENTS,
    DLQ,
    FLAGS,
    AlertKind,
    AlertRaised,
    ClearReason,
    CommentChange,
    DeadLetter,
    FlagCleared,
    FlagRaised,
    Label,
    decode,
    decode_flag_event,
    encode,
)

from tests.builders import make_author, make_comment, make_comment_body, unique
from tests.integration import processes
from tests.integration.desk_support import AUTH, TOKEN
from tests.integration.helpers import committed_total, eventually, produce, read_all
from tests.kafka.fixtures import Bus, bus_env

pytestmark = pytest.mark.integration

FLOW_TIMEOUT = 90.0  # service start-up (Faust joins its group) plus processing, on a busy 2-core machine


@dataclass
class Stack:
    broker: Bus
    api_url: str
    env: dict[str, str]
    classifier_app_id: str
    api_group: str
    children: list[processes.Child]
    work_dir: Path

    async def flags(self) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=self.api_url, headers=AUTH, timeout=5) as client:
            items: list[dict[str, Any]] = []
            offset: int | None = 0
            while offset is not None:
                page = (await client.get("/api/flags", params={"limit": 200, "offset": offset})).json()
                items += page["items"]
                offset = page["next_offset"]
            return items

    def replay(self, path: Path, account_id: str) -> str:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "triage_cli",
                "replay",
                str(path),
                "--bootstrap-servers",
                self.broker.bootstrap_servers,
                "--account-id",
                account_id,
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    async def drained(self) -> None:
        """Wait until the classifier has committed every comment and the API every flag (both commit only
        after the work is done), so what is on the topics and in the API is final."""

        async def caught_up() -> bool:
            comments = len(await read_all(self.broker.bootstrap_servers, COMMENTS.name, idle=0.3))
            judged = await committed_total(
                self.broker.bootstrap_servers, self.classifier_app_id, COMMENTS.name, COMMENTS.partitions
            )
            if judged < comments:
                return False
            flags = len(await read_all(self.broker.bootstrap_servers, FLAGS.name, idle=0.3))
            stored = await committed_total(
                self.broker.bootstrap_servers, self.api_group, FLAGS.name, FLAGS.partitions
            )
            return stored >= flags

        await eventually(caught_up, FLOW_TIMEOUT, "the classifier and the API to catch up", every=0.5)
        self.check_alive()

    def check_alive(self) -> None:
        dead = [c for c in self.children if not c.alive()]
        assert not dead, processes.describe(dead)


@pytest.fixture(scope="module", params=["embedded", pytest.param("kafka", marks=pytest.mark.kafka)])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A broker of this module's own (the embedded one, or a Kafka node) and the three services, each a
    `python -m triage_cli` process using the broker's profile."""
    work = tmp_path_factory.mktemp("e2e")
    broker: Bus = (
        EmbeddedBroker().start() if request.param == "embedded" else KafkaCluster(work / "kafka").start()
    )
    api_port, ingest_port = free_port(), free_port()
    app_id, group = unique("e2e-classifier"), unique("e2e-api")
    env = processes.service_env(
        **bus_env(broker),
        TRIAGE_CLASSIFIER_MODE="rules",
        TRIAGE_CLASSIFIER_APP_ID=app_id,
        TRIAGE_CLASSIFIER_DATA_DIR=str(work / "classifier"),
        TRIAGE_CLASSIFIER_WEB_PORT=str(free_port()),
        TRIAGE_API_CONSUMER_GROUP=group,
        TRIAGE_API_DATABASE_URL=f"sqlite:///{work / 'triage.db'}",
        TRIAGE_API_PORT=str(api_port),
        TRIAGE_INGEST_PORT=str(ingest_port),
        TRIAGE_BOOTSTRAP_ADMIN_TOKEN=TOKEN,
        TRIAGE_LOG_LEVEL="INFO",
    )
    children: list[processes.Child] = []
    try:
        for name in ("api", "classifier", "ingest"):
            children.append(processes.start(name, [name], env, work / "logs"))
        processes.wait_ready(
            children,
            [f"http://127.0.0.1:{api_port}/readyz", f"http://127.0.0.1:{ingest_port}/healthz"],
            timeout=60.0,
        )
        yield Stack(broker, f"http://127.0.0.1:{api_port}", env, app_id, group, children, work)
    finally:
        processes.stop(children)
        broker.stop()
        print(processes.describe(children))  # shown by pytest when a test here failed
        if isinstance(broker, KafkaCluster):
            print(broker.describe())
    assert all(not c.alive() for c in children)


def raised(value: bytes | None) -> str | None:
    """The comment key of a `FlagRaised` on the flags topic (None for a `FlagCleared`)."""
    event = decode_flag_event(value)
    return event.comment_key if isinstance(event, FlagRaised) else None


def jsonl(*objects: dict[str, Any] | bytes) -> bytes:
    return b"".join((o if isinstance(o, bytes) else json.dumps(o).encode()) + b"\n" for o in objects)


async def test_replayed_comments_become_flags_exactly_once(stack: Stack) -> None:
    account = unique("acct")
    comments = {
        "urgent": {
            "id": "u1",
            "text": "My dad just collapsed in your lobby and he is not breathing",
            "author": "a-urgent",
            "platform": "facebook",
        },
        "benign": {
            "id": "b1",
            "text": "What time does the Oak Street lab open on Saturdays?",
            "author": "a-b1",
        },
        "privacy": {
            "id": "p1",
            "text": "Patient Walter Okafor in room 311 has lung cancer",
            "author": "a-p1",
        },
        "hostile": {"id": "h1", "text": "You are all useless clowns", "author": "a-h1"},
        "benign_es": {"id": "b2", "text": "¡Gracias a las enfermeras del tercer piso!", "author": "a-b2"},
        "misinfo": {"id": "m1", "text": "Vaccines cause autism, do your own research", "author": "a-m1"},
    }
    malformed = b'{"id": "x1", "text": "Rosa Delgado has HIV'
    path = stack.work_dir / f"{account}.jsonl"
    c = comments
    path.write_bytes(
        jsonl(
            c["urgent"],
            c["benign"],
            c["privacy"],
            malformed,
            c["urgent"],
            c["hostile"],
            c["benign_es"],
            c["misinfo"],
        )
    )

    output = stack.replay(path, account)

    assert "published 6, duplicates 1, dead letters 1" in output
    key = {name: f"{obj.get('platform', 'demo')}:{account}:{obj['id']}" for name, obj in comments.items()}
    expected = {key[n] for n in ("urgent", "privacy", "hostile", "misinfo")}

    async def all_flagged() -> set[str] | None:
        mine = {f["comment_key"] for f in await stack.flags()} & set(key.values())
        return mine if expected <= mine else None

    await eventually(all_flagged, FLOW_TIMEOUT, "the four flags in the API", every=0.5)

    # A second replay process has no memory of the first: the urgent comment is published and judged again,
    # and the API must still keep one row for it.
    again = stack.work_dir / f"{account}-again.jsonl"
    again.write_bytes(jsonl(c["urgent"]))
    assert "published 1, duplicates 0, dead letters 0" in stack.replay(again, account)

    async def judged_twice() -> bool:
        records = await read_all(stack.broker.bootstrap_servers, FLAGS.name, idle=0.3)
        return sum(raised(r.value) == key["urgent"] for r in records) == 2

    await eventually(judged_twice, FLOW_TIMEOUT, "the urgent comment to be flagged a second time")
    await stack.drained()

    flags = [f for f in await stack.flags() if f["comment_key"] in set(key.values())]
    assert sorted(f["comment_key"] for f in flags) == sorted(expected)
    by_key = {f["comment_key"]: f for f in flags}
    assert by_key[key["urgent"]]["labels"] == ["urgent"]
    assert by_key[key["urgent"]]["severity"] == "critical"
    assert by_key[key["urgent"]]["platform"] == "facebook"
    assert "privacy" in by_key[key["privacy"]]["labels"]
    assert by_key[key["hostile"]]["labels"] == ["hostile"]
    assert by_key[key["misinfo"]]["labels"] == ["misinformation"]
    assert by_key[key["misinfo"]]["model_version"] == "rules-1"

    # Every judged comment, benign ones included, is on the desk's All comments, once each.
    async def all_seen() -> dict[str, dict[str, Any]] | None:
        async with httpx.AsyncClient(base_url=stack.api_url, headers=AUTH, timeout=5) as client:
            page = (await client.get("/api/comments", params={"account": account, "limit": 200})).json()
        seen = {item["comment_key"]: item for item in page["items"]}
        return seen if set(seen) == set(key.values()) and len(page["items"]) == len(key) else None

    seen = await eventually(all_seen, FLOW_TIMEOUT, "every comment on All comments", every=0.5)
    assert seen[key["benign"]]["labels"] == [] and seen[key["benign"]]["band"] != "flagged"
    assert seen[key["benign_es"]]["labels"] == [] and seen[key["benign_es"]]["model_version"] == "rules-1"
    assert seen[key["urgent"]]["labels"] == ["urgent"] and seen[key["urgent"]]["band"] == "flagged"

    on_bus = [decode_flag_event(r.value) for r in await read_all(stack.broker.bootstrap_servers, FLAGS.name)]
    # Benign new comments raise nothing at all: no flag, and no clear either.
    assert not {key["benign"], key["benign_es"]} & {e.comment_key for e in on_bus}

    letters = [decode(DeadLetter, r.value) for r in await read_all(stack.broker.bootstrap_servers, DLQ.name)]
    [letter] = [d for d in letters if d.topic == f"replay:{path.name}"]
    assert (letter.service, letter.reason, letter.offset) == ("ingest", "not_json", 4)
    assert not letter.value_b64  # a line that is not JSON is named by file and line, its bytes left out
    assert "Rosa" not in letter.error and "HIV" not in letter.error

    alerts = [
        decode(AlertRaised, r.value) for r in await read_all(stack.broker.bootstrap_servers, ALERTS.name)
    ]
    mine = {(a.kind, a.comment_keys[0]) for a in alerts if a.account.id == account}
    assert (AlertKind.URGENT_COMMENT, key["urgent"]) in mine
    assert (AlertKind.PHI_EXPOSURE, key["privacy"]) in mine


async def test_a_malformed_message_on_the_comments_topic_is_dead_lettered_and_the_stream_goes_on(
    stack: Stack,
) -> None:
    author = make_author(id=unique("raw-author"))
    garbage = b"\x00\x01 definitely not an event"
    wrong_shape = json.dumps({"type": "comment_received", "text": "Rosa Delgado has HIV"}).encode()
    good = make_comment(
        comment=make_comment_body(text="Mi abuela no respira, por favor ayuda", author=author)
    )
    key = good.kafka_key  # the good comment's key for all four: the same partition, the bad ones before it

    await produce(
        stack.broker.bootstrap_servers,
        COMMENTS.name,
        [(key, garbage), (key, wrong_shape), (key, None), (key, encode(good))],
    )

    async def flagged() -> dict[str, Any] | None:
        return next((f for f in await stack.flags() if f["comment_key"] == good.comment_key), None)

    flag = await eventually(
        flagged, FLOW_TIMEOUT, "the good comment after the bad ones to be flagged", every=0.5
    )
    assert flag["labels"] == [Label.URGENT.value]

    letters = [decode(DeadLetter, r.value) for r in await read_all(stack.broker.bootstrap_servers, DLQ.name)]
    mine = sorted(
        (d for d in letters if d.key_b64 == base64.b64encode(key).decode()), key=lambda d: d.offset or 0
    )
    assert [(d.service, d.topic, d.reason) for d in mine] == [
        ("classifier", COMMENTS.name, "not_json"),
        ("classifier", COMMENTS.name, "schema"),
        ("classifier", COMMENTS.name, "empty"),
    ]
    assert [d.value_b64 for d in mine] == [
        base64.b64encode(garbage).decode(),
        base64.b64encode(wrong_shape).decode(),
        None,
    ]
    assert len({d.partition for d in mine}) == 1
    assert "Rosa" not in mine[1].error and "HIV" not in mine[1].error
    stack.check_alive()


async def test_a_deleted_comment_and_an_edit_to_benign_resolve_their_flags(stack: Stack) -> None:
    """Through the real classifier (rules) and API: a deletion and a benign edit become `FlagCleared` and
    resolve their open flags with an audit entry; a new benign comment raises nothing, not even a clear. A
    deletion of an urgent comment is held for a person: its flag stays open with a `flag.comment_deleted`
    entry (a forged or mistaken deletion must not silence a person in danger)."""
    author = make_author(id=unique("clear-author"))
    written = datetime.now(UTC) - timedelta(minutes=10)

    def body(text: str, comment_id: str) -> Any:
        return make_comment_body(text=text, author=author, platform_comment_id=comment_id, created_at=written)

    doomed = make_comment(comment=body("FREE iPhone!!! click bit.ly/win-now to claim your prize", "del"))
    urgent = make_comment(comment=body("My dad just collapsed in your lobby and he is not breathing", "urg"))
    calmed = make_comment(comment=body("You are all useless clowns", "edit"))
    benign = make_comment(comment=body("What time does the Oak Street lab open on Saturdays?", "ok"))
    deleted, urgent_deleted = (
        original.model_copy(
            update={
                "comment": original.comment.model_copy(update={"text": ""}),
                "change": CommentChange.DELETED,
                "changed_at": written + timedelta(minutes=5),
            }
        )
        for original in (doomed, urgent)
    )
    edited = calmed.model_copy(
        update={
            "comment": calmed.comment.model_copy(
                update={"text": "Sorry, the front desk sorted it out, thanks"}
            ),
            "change": CommentChange.EDITED,
            "changed_at": written + timedelta(minutes=6),
        }
    )
    await produce(
        stack.broker.bootstrap_servers,
        COMMENTS.name,
        [(c.kafka_key, encode(c)) for c in (doomed, calmed, benign, urgent)],
    )
    keys = (doomed.comment_key, calmed.comment_key, urgent.comment_key)

    async def all_flagged() -> dict[str, dict[str, Any]] | None:
        mine = {f["comment_key"]: f for f in await stack.flags()}
        wanted = {k: mine[k] for k in keys if k in mine}
        return wanted if len(wanted) == len(keys) else None

    flags = await eventually(all_flagged, FLOW_TIMEOUT, "the three comments to be flagged", every=0.5)
    assert {f["status"] for f in flags.values()} == {"new"}
    assert flags[urgent.comment_key]["labels"] == ["urgent"]

    await produce(
        stack.broker.bootstrap_servers,
        COMMENTS.name,
        [(c.kafka_key, encode(c)) for c in (deleted, edited, urgent_deleted)],
    )

    async def urgent_deletion_held() -> list[dict[str, Any]] | None:
        async with httpx.AsyncClient(base_url=stack.api_url, headers=AUTH, timeout=5) as client:
            flag_id = flags[urgent.comment_key]["id"]
            trail = (await client.get("/api/audit", params={"flag_id": flag_id})).json()["items"]
        held = [e for e in trail if e["action"] == "flag.comment_deleted"]
        return held or None

    async def both_resolved() -> dict[str, dict[str, Any]] | None:
        mine = {f["comment_key"]: f for f in await stack.flags()}
        wanted = {k: mine[k] for k in (doomed.comment_key, calmed.comment_key)}
        return wanted if all(f["status"] == "resolved" for f in wanted.values()) else None

    resolved = await eventually(both_resolved, FLOW_TIMEOUT, "both flags to be resolved", every=0.5)
    [held] = await eventually(urgent_deletion_held, FLOW_TIMEOUT, "the urgent deletion to be held", every=0.5)
    await stack.drained()
    assert held["actor"] == "system:classifier"
    assert {f["comment_key"]: f for f in await stack.flags()}[urgent.comment_key]["status"] == "new"
    assert resolved[doomed.comment_key]["comment_deleted_at"] is not None
    assert resolved[calmed.comment_key]["comment_deleted_at"] is None
    assert resolved[calmed.comment_key]["labels"] == ["hostile"]  # the flag keeps what it was raised for

    async with httpx.AsyncClient(base_url=stack.api_url, headers=AUTH, timeout=5) as client:
        reasons = {}
        for comment_key, flag in resolved.items():
            trail = (await client.get("/api/audit", params={"flag_id": flag["id"]})).json()["items"]
            [entry] = [e for e in trail if e["action"] == "flag.cleared"]
            assert (entry["actor"], entry["detail"]["previous"], entry["detail"]["resolved"]) == (
                "system:classifier",
                "new",
                True,
            )
            reasons[comment_key] = entry["detail"]["reason"]
        hide = await client.post(f"/api/flags/{resolved[doomed.comment_key]['id']}/hide")
    assert reasons == {doomed.comment_key: "deleted", calmed.comment_key: "edited_benign"}
    assert hide.status_code == 409  # nothing left on the platform to hide

    on_bus = [decode_flag_event(r.value) for r in await read_all(stack.broker.bootstrap_servers, FLAGS.name)]
    clears = {(e.comment_key, e.reason) for e in on_bus if isinstance(e, FlagCleared)}
    assert {
        (doomed.comment_key, ClearReason.DELETED),
        (calmed.comment_key, ClearReason.EDITED_BENIGN),
    } <= clears
    assert benign.comment_key not in {e.comment_key for e in on_bus}
    stack.check_alive()
