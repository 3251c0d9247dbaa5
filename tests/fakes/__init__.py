"""Fake platform servers for the pollers: real HTTP on 127.0.0.1, stateful listings with the documented
paging, headers, error bodies and rate-limit behaviour of X API v2, YouTube Data API v3 and Reddit."""
