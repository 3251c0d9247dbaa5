"""The actions clients' platform fakes, one server each per test module, cleared before every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.recorder import served
from tests.fakes.reddit import FakeRedditActions
from tests.fakes.x import FakeXActions
from tests.fakes.youtube import FakeYouTubeActions


@pytest.fixture(scope="module")
def x_server() -> Iterator[FakeXActions]:
    yield from served(FakeXActions())


@pytest.fixture(scope="module")
def youtube_server() -> Iterator[FakeYouTubeActions]:
    yield from served(FakeYouTubeActions())


@pytest.fixture(scope="module")
def reddit_server() -> Iterator[FakeRedditActions]:
    yield from served(FakeRedditActions())


@pytest.fixture
def fake_x(x_server: FakeXActions) -> FakeXActions:
    x_server.reset()
    return x_server


@pytest.fixture
def fake_youtube(youtube_server: FakeYouTubeActions) -> FakeYouTubeActions:
    youtube_server.reset()
    return youtube_server


@pytest.fixture
def fake_reddit(reddit_server: FakeRedditActions) -> FakeRedditActions:
    reddit_server.reset()
    return reddit_server
