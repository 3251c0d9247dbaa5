"""Fakes of what ingest talks to, one module per party, over real HTTP on 127.0.0.1 where the client makes
HTTP calls: the pollers' listings and the actions clients' endpoints of X (`x`), YouTube (`youtube`) and
Reddit (`reddit`), Meta's Graph API (`meta`), the recording server they share (`recorder`, `server`), the
accounts they know (`accounts`), the bus producer (`producer`), and the on-call webhook receiver that
paging tests send to (`webhook`)."""
