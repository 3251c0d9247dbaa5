"""Entry point for the classifier worker process (`triage classifier`)."""

from __future__ import annotations

import sys


def main(log_level: str = "info") -> None:
    """Run the Faust worker with the agents registered (Faust reads its own argv)."""
    import asyncio

    from triage_bus.admin import ensure_topics

    from triage_classifier import agents  # noqa: F401  (registers the agents on the app)
    from triage_classifier.app import app, internal_topics, profile, settings

    # Faust's own topics, replicated and kept as the profile says, before the worker subscribes to them.
    asyncio.run(ensure_topics(profile.bootstrap_servers, internal_topics(), profile.topic_policy()))

    faust_level = {"warning": "warn", "critical": "crit"}.get(log_level.lower(), log_level.lower())
    sys.argv = [
        "triage-classifier",
        "worker",
        "--loglevel",
        faust_level,
        "--web-host",
        settings.web_host,
        "--web-port",
        str(settings.web_port),
    ]
    app.main()
