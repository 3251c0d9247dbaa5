"""Pollers for platforms without comment webhooks (X mentions, YouTube comment threads, Reddit listings).

Each configured account gets one asyncio task (`runner`) that calls its platform's poller (`x`, `youtube`,
`reddit`); a poller fetches pages, normalises them (`triage_ingest.sources`), publishes through the shared
`Publisher` (`sink`) and only then advances its cursor in the persistent `CursorStore` (`cursors`).
"""
