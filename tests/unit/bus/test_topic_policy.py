"""Topic replication: the policy each broker profile asks for, and the settings that cannot work refused."""

from __future__ import annotations

import pytest
from triage_bus.admin import SINGLE_NODE, TopicPolicy, new_topic
from triage_bus.external import fitted_policy
from triage_bus.profile import BrokerProfile
from triage_events import COMMENTS, DLQ


def test_kafka_defaults_fit_three_brokers_and_the_embedded_broker_takes_one_copy() -> None:
    assert BrokerProfile("k:9092", embedded=False).topic_policy() == TopicPolicy(3, 2)
    assert BrokerProfile("k:9092", embedded=False, replication_factor=1).topic_policy() == TopicPolicy(1, 1)
    assert BrokerProfile(
        "k:9092", embedded=False, replication_factor=5, min_insync_replicas=3
    ).topic_policy() == (TopicPolicy(5, 3))
    assert BrokerProfile("e:9092", embedded=True, replication_factor=3).topic_policy() == SINGLE_NODE
    assert BrokerProfile("k:9092", embedded=False).faust_settings()["topic_replication_factor"] == 3


def test_a_policy_no_write_could_satisfy_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot exceed the replication factor"):
        TopicPolicy(replication_factor=2, min_insync_replicas=3)
    with pytest.raises(ValueError, match="at least 1"):
        TopicPolicy(replication_factor=0, min_insync_replicas=0)


def test_new_topics_carry_their_retention_cleanup_and_min_insync_replicas() -> None:
    comments = new_topic(COMMENTS, TopicPolicy(3, 2))
    assert (comments.name, comments.num_partitions, comments.replication_factor) == (COMMENTS.name, 6, 3)
    assert comments.topic_configs == {
        "cleanup.policy": "delete",
        "retention.ms": str(7 * 24 * 3600 * 1000),
        "min.insync.replicas": "2",
    }
    assert new_topic(DLQ, SINGLE_NODE).topic_configs["retention.ms"] == str(14 * 24 * 3600 * 1000)


def test_run_on_kafka_fits_replication_to_the_brokers_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    assert [fitted_policy(n) for n in (1, 2, 3, 5)] == [
        TopicPolicy(1, 1),
        TopicPolicy(2, 1),  # two copies: one broker can still be down
        TopicPolicy(3, 2),
        TopicPolicy(3, 2),
    ]
    monkeypatch.setenv("TRIAGE_KAFKA_REPLICATION_FACTOR", "2")
    monkeypatch.setenv("TRIAGE_KAFKA_MIN_INSYNC_REPLICAS", "1")
    assert fitted_policy(3) == TopicPolicy(2, 1)
