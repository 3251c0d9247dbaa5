"""Stream processors. `classify_comments` judges micro-batches of comments off the event loop and tracks
repeat hostility per author; `detect_surges` counts flags per account and label and raises surge alerts."""

from __future__ import annotations

import asyncio
import logging
import time
from functools import cache

from triage_bus.dlq import dead_letter
from triage_events import DeadLetter, FlagRaised, Label, encode

from triage_classifier.app import (
    ALERTS_RAISED,
    BATCH_LATENCY,
    BATCH_SIZE,
    COMMENTS_CONSUMED,
    COMMENTS_JUDGED,
    DEAD_LETTERS,
    FLAGS_CLEARED,
    FLAGS_RAISED,
    account_label_to_surge,
    account_labels_topic,
    alerts_topic,
    app,
    author_to_hostility,
    comments_topic,
    dlq_topic,
    flags_topic,
    settings,
    stall_watch,
)
from triage_classifier.judgement import Classifier
from triage_classifier.loader import load_classifier
from triage_classifier.pipeline import (
    SERVICE,
    Record,
    SurgeMark,
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


def _author_key(flag: FlagRaised) -> bytes:
    return f"{flag.platform.value}:{flag.comment.author.id}".encode()


# How many of an author's recent hostile flags are remembered: enough for the note to give the real count.
HOSTILITY_MEMORY = 20


def track_hostility(flag: FlagRaised, now: float) -> FlagRaised:
    """Count the author's hostile flags in the window; escalate once they repeat."""
    if Label.HOSTILE not in flag.labels:
        return flag
    key = _author_key(flag)
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
        now = time.time()
        for letter in result.dead_letters:
            await send_dead_letter(letter)
        flags = [track_hostility(flag, now) for flag in result.flags]
        for flag in flags:
            for label in flag.labels:
                FLAGS_RAISED.labels(label.value, flag.severity.value).inc()
            await flags_topic.send(key=flag.comment_key.encode(), value=encode(flag))
        for key, mark in SurgeMark.per_account_label(flags):
            await account_labels_topic.send(key=key, value=mark.model_dump_json().encode())
        # After the batch's flags: the API orders one comment's verdicts by the comment's change time anyway.
        for cleared in result.cleared:
            await flags_topic.send(key=cleared.comment_key.encode(), value=encode(cleared))
            FLAGS_CLEARED.labels(cleared.reason.value).inc()
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
