"""On-call: alerts from the classifier stored once by dedup key, paged through pluggable channels, escalated
when nobody acknowledges, and acknowledged back through the API."""
