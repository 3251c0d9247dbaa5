"""The API's flag consumer dies exactly between its database commit and its Kafka offset commit (the one window
a SIGKILL can hit by chance in the process-level fault tests, made certain here): the batch is delivered again
to the next consumer of the group, and the unique `comment_key` keeps every flag to one row."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import func, select
from triage_api.db import make_engine, make_sessionmaker, migrate
from triage_api.flags import sla
from triage_api.flags.consumer import FlagConsumer
from triage_api.flags.models import Flag
from triage_api.routing.service import Router, RoutingConfig
from triage_bus.embedded import EmbeddedBroker
from triage_bus.profile import BrokerProfile
from triage_events import FLAGS, encode

from tests.builders import make_comment, make_flag, unique
from tests.integration.helpers import committed_total, eventually, produce

ROUTER = Router(RoutingConfig.load(None), sla.DEFAULT)  # the bundled example rules

pytestmark = pytest.mark.integration


async def test_a_crash_after_the_database_commit_and_before_the_offset_commit_duplicates_nothing(
    fresh_broker: EmbeddedBroker, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    servers = fresh_broker.bootstrap_servers
    engine = make_engine(database_url)
    await asyncio.to_thread(migrate, engine)
    factory = make_sessionmaker(engine)
    profile = BrokerProfile(servers, embedded=True)
    flags = [make_flag(comment=make_comment(text=f"You are all useless clowns {i}")) for i in range(40)]
    await produce(servers, FLAGS.name, [(f.comment_key.encode(), encode(f)) for f in flags])
    group = unique("crash-api")

    async def die(self: AIOKafkaConsumer, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("process killed after the database commit")

    def rows() -> dict[str, int]:
        with factory() as db:
            result = db.execute(select(Flag.comment_key, func.count()).group_by(Flag.comment_key)).all()
        return {key: n for key, n in result}

    try:
        with monkeypatch.context() as patch:
            patch.setattr(AIOKafkaConsumer, "commit", die)
            with pytest.raises(RuntimeError, match="killed after the database commit"):
                await asyncio.wait_for(FlagConsumer(profile, factory, group, ROUTER).run(), 60)
        stored_before_the_crash = rows()
        assert stored_before_the_crash, "the first batch's transaction committed"
        assert await committed_total(servers, group, FLAGS.name, FLAGS.partitions) == 0

        second = FlagConsumer(profile, factory, group, ROUTER)
        task = asyncio.create_task(second.run())
        try:

            async def all_committed() -> bool:
                return await committed_total(servers, group, FLAGS.name, FLAGS.partitions) >= len(flags)

            await eventually(all_committed, 60, "the restarted consumer to commit every flag")
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

        final = rows()
        assert final == {f.comment_key: 1 for f in flags}
        assert second.stored == len(flags) - len(
            stored_before_the_crash
        )  # the replayed batch inserted nothing
    finally:
        engine.dispose()
