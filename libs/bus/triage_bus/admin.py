"""Broker administration: readiness and topic creation with explicit partition counts."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError
from triage_events.topics import Topic

log = logging.getLogger(__name__)


async def wait_until_ready(bootstrap_servers: str, timeout: float = 1.0) -> bool:
    """True when the broker answers a metadata request."""
    host, _, port = bootstrap_servers.split(",")[0].rpartition(":")
    try:  # a cheap check first, so a broker still starting doesn't fill the log with refused connections
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), timeout)
        writer.close()
    except (TimeoutError, OSError):
        return False
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=int(timeout * 1000))
    try:
        await admin.start()
        await admin.describe_cluster()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        with contextlib.suppress(KafkaError, OSError):
            await admin.close()


async def create_topics(bootstrap_servers: str, topics: tuple[Topic, ...]) -> None:
    """Create missing topics. Partition counts are fixed here: the embedded broker can't add partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(t.name, t.partitions, 1) for t in topics if t.name not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
            log.info("created topics %s", ",".join(t.name for t in missing))
    except KafkaConnectionError:
        raise
    finally:
        await admin.close()
