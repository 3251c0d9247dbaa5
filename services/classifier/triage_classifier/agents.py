"""The stream processor: micro-batches of comments, judged off the event loop, flags and alerts out."""

from __future__ import annotations

import asyncio
import logging
from functools import cache

from triage_classifier.app import alerts_topic, app, comments_topic, dlq_topic, flags_topic, settings
from triage_classifier.judgement import Classifier
from triage_classifier.loader import load_classifier
from triage_classifier.pipeline import Record, judge_batch
from triage_events import encode

log = logging.getLogger(__name__)


@cache
def classifier() -> Classifier:
    return load_classifier(settings)


@app.agent(comments_topic)
async def classify_comments(stream):  # type: ignore[no-untyped-def]
    model = await asyncio.to_thread(classifier)
    async for events in stream.take_events(settings.batch_size, within=settings.batch_within_s):
        records = [Record(e.key, e.value, e.message.partition, e.message.offset) for e in events]
        result = await asyncio.to_thread(judge_batch, model, records)
        for letter in result.dead_letters:
            log.warning("dead letter reason=%s partition=%s offset=%s", letter.reason, letter.partition,
                        letter.offset)
            await dlq_topic.send(key=None, value=encode(letter))
        for flag in result.flags:
            await flags_topic.send(key=flag.comment_key.encode(), value=encode(flag))
        for alert in result.alerts:
            await alerts_topic.send(key=f"{alert.platform.value}:{alert.account.id}".encode(), value=encode(alert))
        # Everything produced for this batch is on the broker before take_events acknowledges it.
        await app.producer.flush()
        log.info("batch judged=%d flagged=%d dead=%d", result.judged, len(result.flags), len(result.dead_letters))
