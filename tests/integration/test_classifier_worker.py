"""The real classifier worker (`triage classifier`, hybrid mode) on a broker of its own: flags carry the model
version, urgent comments page, a surge of one label on one account raises one alert, repeat hostility by one
author escalates, both tables come back from their changelogs when the worker restarts, and an unreadable
record on either internal topic is dead-lettered while the worker goes on."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from triage_bus.embedded import free_port
from triage_classifier.artefact import Artefact
from triage_classifier.multilingual import MultilingualHeads
from triage_events import (
    ALERTS,
    COMMENTS,
    DLQ,
    FLAGS,
    JUDGED,
    AlertKind,
    AlertRaised,
    CommentJudged,
    CommentReceived,
    DeadLetter,
    FlagRaised,
    Label,
    Severity,
    decode,
    decode_flag_event,
    encode,
)

from tests.builders import make_account, make_author, make_comment, make_comment_body, unique
from tests.integration import processes
from tests.integration.helpers import committed_total, eventually, produce, read_all
from tests.kafka.fixtures import Bus, bus_env

pytestmark = pytest.mark.integration

DEADLINE = 120.0  # worker start or rejoin (about 20 s on the embedded broker), model load, a busy machine
SURGE_WINDOW_S = 900  # the default: long enough that the whole test is one window

MISINFORMATION = [
    "Bee venom shots dissolve arthritis completely, skip the rheumatologist.",
    "Vaccines are full of microchips that track your kids, never let them get one.",
    "Drinking turpentine kills the parasites that cause autism, every parent should try it.",
    # after the restart
    "Magnet bracelets reverse heart disease, you can stop your statins.",
    "Cold showers cure depression better than any antidepressant, toss your pills.",
    "Measles is harmless and natural immunity beats the vaccine every time.",
]
HOSTILE = [
    "You receptionists are lazy clueless idiots.",
    "Your billing people are a bunch of lying crooks.",
    # after the restart
    "Every nurse on that floor is a worthless clown.",
]
URGENT = "A visitor just collapsed by the elevators on level 2 and is not breathing, send help"


def comment(text: str, account_id: str, author_id: str) -> CommentReceived:
    """Written now: an author's comments in a list are written in its order (each on its own partition)."""
    return make_comment(
        comment=make_comment_body(
            text=text, author=make_author(id=author_id, handle=author_id), created_at=datetime.now(UTC)
        ),
        account=make_account(id=account_id),
    )


async def publish(broker: Bus, comments: list[CommentReceived]) -> None:
    await produce(broker.bootstrap_servers, COMMENTS.name, [(c.kafka_key, encode(c)) for c in comments])


async def flags_for(broker: Bus, keys: set[str]) -> dict[str, FlagRaised] | None:
    """The flags for every key in `keys`, or None while any is missing."""
    events = [
        decode_flag_event(r.value) for r in await read_all(broker.bootstrap_servers, FLAGS.name, idle=0.5)
    ]
    found = {f.comment_key: f for f in events if isinstance(f, FlagRaised) and f.comment_key in keys}
    return found if set(found) == keys else None


async def alerts(broker: Bus) -> list[AlertRaised]:
    return [
        decode(AlertRaised, r.value) for r in await read_all(broker.bootstrap_servers, ALERTS.name, idle=0.5)
    ]


async def caught_up(broker: Bus, app_id: str, child: processes.Child) -> None:
    """Wait until the worker has committed every comment and every record of its internal topics (surge marks,
    hostile flags and clears by author), i.e. the flags, alerts and table updates for them are on the broker."""
    topics = (COMMENTS.name, f"{app_id}-account-labels", f"{app_id}-author-verdicts")

    async def probe() -> bool:
        assert child.alive(), processes.describe([child])
        for topic, partitions in ((topic, COMMENTS.partitions) for topic in topics):
            produced = len(await read_all(broker.bootstrap_servers, topic, idle=0.3))
            if await committed_total(broker.bootstrap_servers, app_id, topic, partitions) < produced:
                return False
        return True

    await eventually(probe, DEADLINE, "the worker to commit everything it was sent", every=0.5)


def surges(found: list[AlertRaised], account_id: str) -> list[AlertRaised]:
    return [a for a in found if a.kind is AlertKind.SURGE and a.account.id == account_id]


async def test_worker_flags_alerts_escalates_and_recovers_its_tables(fresh_bus: Bus, tmp_path: Path) -> None:
    version = f"{Artefact.load().version}+{MultilingualHeads.load().version}"  # routed by default
    app_id = unique("clf-tables")
    env = processes.service_env(
        **bus_env(fresh_bus),
        TRIAGE_CLASSIFIER_MODE="hybrid",
        TRIAGE_CLASSIFIER_APP_ID=app_id,
        TRIAGE_CLASSIFIER_SURGE_THRESHOLD="3",
        TRIAGE_CLASSIFIER_SURGE_WINDOW_S=str(SURGE_WINDOW_S),
        TRIAGE_CLASSIFIER_HOSTILITY_REPEAT_THRESHOLD="2",
        TRIAGE_CLASSIFIER_DATA_DIR=str(tmp_path / "classifier"),
        TRIAGE_CLASSIFIER_WEB_PORT=str(free_port()),
        TRIAGE_LOG_LEVEL="INFO",
    )
    surged, paged, insulted = unique("acct-surge"), unique("acct-urgent"), unique("acct-hostile")
    hostile_author = unique("author-h")
    misinfo = [comment(text, surged, unique("author-m")) for text in MISINFORMATION]
    hostile = [comment(text, insulted, hostile_author) for text in HOSTILE]
    urgent = comment(URGENT, paged, unique("author-u"))
    children: list[processes.Child] = []
    try:
        children.append(processes.start("classifier-1", ["classifier"], env, tmp_path / "logs"))
        await publish(fresh_bus, [hostile[0], misinfo[0], misinfo[1], urgent, hostile[1], misinfo[2]])

        before = {c.comment_key for c in [*misinfo[:3], *hostile[:2], urgent]}
        flags = await eventually(lambda: flags_for(fresh_bus, before), DEADLINE, "the first six flags")
        await caught_up(fresh_bus, app_id, children[0])

        assert {f.model_version for f in flags.values()} == {version}
        # Every judged comment also has its verdict on the judged topic (for the desk's All comments).
        verdicts = [
            decode(CommentJudged, r.value) for r in await read_all(fresh_bus.bootstrap_servers, JUDGED.name)
        ]
        assert sorted(v.comment_key for v in verdicts) == sorted(before)
        assert {v.model_version for v in verdicts} == {version}
        assert all(v.thresholds and set(v.labels) <= set(v.scores) for v in verdicts)
        assert all(flags[c.comment_key].labels == [Label.MISINFORMATION] for c in misinfo[:3])

        # Two hostile comments by one author: the second is one step more severe, and says why.
        first, second = (flags[c.comment_key] for c in hostile[:2])
        assert first.labels == second.labels == [Label.HOSTILE]
        assert first.severity is Severity.MEDIUM
        assert not any(e.rule_id == "hostile.repeat" for e in first.evidence)
        assert second.severity is Severity.HIGH
        [repeat] = [e for e in second.evidence if e.rule_id == "hostile.repeat"]
        assert repeat.label is Label.HOSTILE and "2 hostile comments" in repeat.note

        found = await alerts(fresh_bus)
        [surge] = surges(found, surged)
        assert surge.label is Label.MISINFORMATION
        assert sorted(surge.comment_keys) == sorted(c.comment_key for c in misinfo[:3])
        assert (surge.count, surge.window_seconds, surge.severity) == (3, SURGE_WINDOW_S, Severity.HIGH)
        assert surge.dedup_key.startswith(f"surge:facebook:{surged}:misinformation:")
        for text in MISINFORMATION[:3]:
            assert text not in encode(surge).decode()
        [page] = [a for a in found if a.account.id == paged]
        assert page.kind is AlertKind.URGENT_COMMENT and page.label is Label.URGENT
        assert page.comment_keys == [urgent.comment_key]
        assert page.dedup_key == f"urgent_comment:{urgent.comment_key}"
        assert page.severity is Severity.CRITICAL
        assert not [a for a in found if a.account.id == insulted]  # hostility alone pages nobody

        # Restart: same app id and data dir. The tables must come back from their changelogs.
        processes.stop(children[:1])
        assert not children[0].alive()
        children.append(processes.start("classifier-2", ["classifier"], env, tmp_path / "logs"))
        # A record on the internal surge topic that cannot be read: dead-lettered, and the worker goes on.
        internal = f"{app_id}-account-labels"
        garbled = f"facebook:{surged}|misinformation".encode()
        await produce(fresh_bus.bootstrap_servers, internal, [(garbled, b'{"comment_keys": "not a list"}')])
        # And one on the internal author topic: the same.
        authors_topic = f"{app_id}-author-verdicts"
        await produce(fresh_bus.bootstrap_servers, authors_topic, [(b"facebook:x", b"not a verdict")])
        await publish(fresh_bus, [hostile[2], *misinfo[3:]])

        after = {c.comment_key for c in [hostile[2], *misinfo[3:]]}
        later = await eventually(lambda: flags_for(fresh_bus, after), DEADLINE, "the flags after the restart")
        await caught_up(fresh_bus, app_id, children[1])

        letters = [decode(DeadLetter, r.value) for r in await read_all(fresh_bus.bootstrap_servers, DLQ.name)]
        # At least once: a worker that starts on partitions never committed can read a record twice.
        garbled_letters = [d for d in letters if d.topic == internal]
        assert garbled_letters
        assert {(d.partition, d.offset, d.reason, d.error) for d in garbled_letters} == {
            (
                garbled_letters[0].partition,
                garbled_letters[0].offset,
                "unreadable_surge_mark",
                "unreadable surge record: ValidationError",
            )
        }
        assert {(d.topic, d.reason) for d in letters if d.topic == authors_topic} == {
            (authors_topic, "not_json")
        }
        assert children[1].alive()
        assert {f.model_version for f in later.values()} == {version}
        # Without the author's recovered history this would be a first offence (medium).
        third = later[hostile[2].comment_key]
        assert third.labels == [Label.HOSTILE]
        assert third.severity is Severity.HIGH
        assert any(e.rule_id == "hostile.repeat" for e in third.evidence)
        found = await alerts(fresh_bus)
        # Three more on the surged account would fire on an empty table; the recovered one is still quiet.
        assert all(later[c.comment_key].labels == [Label.MISINFORMATION] for c in misinfo[3:])
        assert surges(found, surged) == [surge]
        # The third hostile comment on its account makes three in the window only with the two from before.
        [hostile_surge] = surges(found, insulted)
        assert hostile_surge.label is Label.HOSTILE
        assert sorted(hostile_surge.comment_keys) == sorted(c.comment_key for c in hostile)
    finally:
        processes.stop(children)
        print(processes.describe(children))  # shown by pytest when the test failed
    assert all(not c.alive() for c in children)
