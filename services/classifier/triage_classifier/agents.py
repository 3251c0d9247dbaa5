"""Stream processors, in the order a comment meets them:

- `classify_comments` judges micro-batches of comments (keyed by comment, so the load spreads evenly over
  the workers) off the event loop. It publishes flags, and their surge marks, itself; a hostile flag and a
  clear go through the author-verdicts topic instead.
- `follow_authors` reads that topic, keyed by author: it counts each author's hostile flags, escalates a
  repeat, and publishes the flags and clears. A clear comes this way so that it cannot overtake the hostile
  flag of its comment (a non-hostile flag is published before any later clear is judged; the API orders
  verdicts on one comment by the comment's change time).
- `detect_surges` counts flags per account and label and raises surge alerts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from functools import cache

from triage_bus.dlq import dead_letter
from triage_events import DeadLetter, FlagRaised, InvalidEvent, Label, decode_flag_event, encode

from triage_classifier.app import (
    ALERTS_RAISED,
    BATCH_LATENCY,
    BATCH_SIZE,
    COMMENTS_CONSUMED,
    COMMENTS_JUDGED,
    DEAD_LETTERS,
    FLAGS_CLEARED,
    FLAGS_RAISED,
    UNSUPPORTED_LANGUAGE,
    account_label_to_surge,
    account_labels_topic,
    alerts_topic,
    app,
    author_to_hostility,
    author_verdicts_topic,
    comments_topic,
    dlq_topic,
    flags_topic,
    judged_topic,
    settings,
    stall_watch,
)
from triage_classifier.interface import Classifier
from triage_classifier.loader import load_classifier
from triage_classifier.pipeline import (
    SERVICE,
    Record,
    SurgeMark,
    author_key,
    escalate_repeat_hostility,
    judge_batch,
    read_surge_record,
    surge_alert,
)
from triage_classifier.windows import add_occurrence, surge_steps

log = logging.getLogger(__name__)


@cache
def classifier() -> Classifier:
    return load_classifier(settings)


# How many of an author's recent hostile flags are remembered: enough for the note to give the real count.
HOSTILITY_MEMORY = 20


def track_hostility(flag: FlagRaised, now: float) -> FlagRaised:
    """Count the author's hostile flags in the window; escalate once they repeat."""
    if Label.HOSTILE not in flag.labels:
        return flag
    key = author_key(flag.platform, flag.comment.author.id)
    state = author_to_hostility[key]
    entries = add_occurrence(
        state.get("recent", []),
        now,
        settings.hostility_window_s,
        max(settings.hostility_repeat_threshold, HOSTILITY_MEMORY),
        flag.comment_key,
    )
    author_to_hostility[key] = {"recent": entries}
    return escalate_repeat_hostility(
        flag, len(entries), settings.hostility_repeat_threshold, settings.hostility_window_s
    )


def hostile_flags(flags: list[FlagRaised]) -> list[FlagRaised]:
    return [flag for flag in flags if Label.HOSTILE in flag.labels]


def written_at(flag: FlagRaised) -> datetime:
    """When the judged version of the comment was written on the platform."""
    return flag.changed_at or flag.comment.created_at


async def publish_flag(flag: FlagRaised) -> None:
    for label in flag.labels:
        FLAGS_RAISED.labels(label.value, flag.severity.value).inc()
    await flags_topic.send(key=flag.comment_key.encode(), value=encode(flag))


async def send_dead_letter(letter: DeadLetter) -> None:
    """To the dead-letter topic, logged by reason and position only (the record may hold comment text)."""
    log.warning(
        "dead letter reason=%s partition=%s offset=%s", letter.reason, letter.partition, letter.offset
    )
    await dlq_topic.send(key=None, value=encode(letter))
    DEAD_LETTERS.labels(letter.reason).inc()


@app.agent(comments_topic)
async def classify_comments(stream):  # type: ignore[no-untyped-def]
    model = await asyncio.to_thread(classifier)
    async for events in stream.take_events(settings.batch_size, within=settings.batch_within_s):
        stall_watch.delivered()
        records = [Record(e.key, e.value, e.message.partition, e.message.offset) for e in events]
        started = time.perf_counter()
        result = await asyncio.to_thread(judge_batch, model, records)
        BATCH_LATENCY.observe(time.perf_counter() - started)
        BATCH_SIZE.observe(len(records))
        COMMENTS_CONSUMED.inc(len(records))
        COMMENTS_JUDGED.inc(result.judged)
        for language in result.unsupported_languages:
            UNSUPPORTED_LANGUAGE.labels(language).inc()
        for letter in result.dead_letters:
            await send_dead_letter(letter)
        for flag in result.flags:
            if Label.HOSTILE not in flag.labels:
                await publish_flag(flag)
        # Counted on the author's partition first (follow_authors). The batch holds comments of several
        # partitions: an author's comments go there in the order they were written, so the later one is
        # the repeat.
        for flag in sorted(hostile_flags(result.flags), key=written_at):
            await author_verdicts_topic.send(
                key=author_key(flag.platform, flag.comment.author.id), value=encode(flag)
            )
        for key, mark in SurgeMark.per_account_label(result.flags):
            await account_labels_topic.send(key=key, value=mark.model_dump_json().encode())
        for cleared in result.cleared:
            await author_verdicts_topic.send(
                key=result.clear_authors[cleared.comment_key], value=encode(cleared)
            )
        for verdict in result.verdicts:  # every judged comment, benign too: the desk's All comments
            await judged_topic.send(key=verdict.comment_key.encode(), value=encode(verdict))
        for alert in result.alerts:
            await alerts_topic.send(
                key=f"{alert.platform.value}:{alert.account.id}".encode(), value=encode(alert)
            )
            ALERTS_RAISED.labels(alert.kind.value).inc()
        # Everything produced for this batch is on the broker before take_events acknowledges it.
        await app.producer.flush()
        log.info(
            "batch judged=%d flagged=%d cleared=%d dead=%d",
            result.judged,
            len(result.flags),
            len(result.cleared),
            len(result.dead_letters),
        )


@app.agent(author_verdicts_topic)
async def follow_authors(stream):  # type: ignore[no-untyped-def]
    async for events in stream.take_events(settings.batch_size, within=settings.batch_within_s):
        now = time.time()
        for event in events:
            try:
                verdict = decode_flag_event(event.value)
            except InvalidEvent as exc:
                letter = dead_letter(
                    SERVICE,
                    author_verdicts_topic.get_topic_name(),
                    event.key,
                    event.value,
                    exc.reason,
                    str(exc),
                    event.message.partition,
                    event.message.offset,
                )
                await send_dead_letter(letter)
                continue
            if isinstance(verdict, FlagRaised):
                await publish_flag(track_hostility(verdict, now))
            else:
                await flags_topic.send(key=verdict.comment_key.encode(), value=encode(verdict))
                FLAGS_CLEARED.labels(verdict.reason.value).inc()
        await app.producer.flush()  # on the broker before take_events acknowledges the batch


@app.agent(account_labels_topic)
async def detect_surges(stream):  # type: ignore[no-untyped-def]
    async for event in stream.events():
        key = event.key
        try:
            label, mark = read_surge_record(key, event.value)
        except ValueError as exc:
            letter = dead_letter(
                SERVICE,
                account_labels_topic.get_topic_name(),
                key,
                event.value,
                "unreadable_surge_mark",
                str(exc),
                event.message.partition,
                event.message.offset,
            )
            await send_dead_letter(letter)
            continue
        decision = surge_steps(
            account_label_to_surge[key],
            time.time(),
            settings.surge_window_s,
            settings.surge_threshold,
            mark.comment_keys,
        )
        account_label_to_surge[key] = decision.state
        if decision.fire:
            alert = surge_alert(mark, label, decision.count, settings.surge_window_s, decision.refs)
            log.warning("surge account=%s label=%s count=%d", mark.account_key, label.value, decision.count)
            await alerts_topic.send(key=mark.account_key.encode(), value=encode(alert))
            ALERTS_RAISED.labels(alert.kind.value).inc()
