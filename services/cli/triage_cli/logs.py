"""One logging format for every Triage process."""

import logging
import os


def configure(level: str | None = None) -> None:
    logging.basicConfig(
        level=(level or os.environ.get("TRIAGE_LOG_LEVEL", "INFO")).upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # aiokafka logs every refused connection while a broker starts; those are expected.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
