"""The Meta webhook receiver through the real app: signatures on raw bytes, handshake, FB feed and IG
comments, edits and deletions, dedup of redeliveries, bad input, publish-before-acknowledge, metrics."""

from __future__ import annotations

import json

from triage_events import CommentChange, CommentKind, Platform

from tests.ingest_support import (
    IG_USER_ID,
    PAGE_ID,
    VERIFY_TOKEN,
    app_client,
    body,
    fb_comment_change,
    ig_comment_change,
    ig_delivery,
    meta_signature,
    metric,
    page_delivery,
)


async def post_meta(
    raw: bytes, signature: str | None = None, **overrides: object
) -> tuple[int, object, list]:
    client, producer = app_client(**overrides)
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    async with client:
        response = await client.post("/webhooks/meta", content=raw, headers=headers)
    return response.status_code, producer, producer.comments()


async def test_handshake_echoes_the_challenge_only_for_our_verify_token() -> None:
    client, _ = app_client()
    async with client:
        ok = await client.get(
            "/webhooks/meta",
            params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
        )
        wrong = await client.get(
            "/webhooks/meta",
            params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1158201444"},
        )
        no_mode = await client.get(
            "/webhooks/meta", params={"hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"}
        )
    assert (ok.status_code, ok.text) == (200, "1158201444")
    assert wrong.status_code == 403
    assert no_mode.status_code == 403


async def test_signed_page_comment_is_published_as_comment_received() -> None:
    raw = body(page_delivery(fb_comment_change()))
    before = metric("triage_ingest_comments_published_total", platform="facebook", account=PAGE_ID)
    status, _producer, comments = await post_meta(raw, meta_signature(raw))
    assert status == 200
    [event] = comments
    assert event.platform is Platform.FACEBOOK
    assert event.account.id == PAGE_ID and event.account.handle == "@brightwaterhealth"
    assert event.comment.platform_comment_id == "998877665544332_112233445566778"
    assert event.comment.kind is CommentKind.COMMENT
    assert event.comment.text == "What time does the pharmacy close on Sundays?"
    assert event.comment.author.id == "6212345678901234"
    assert event.comment.author.display_name == "Jane Doe"
    assert event.comment.thread_id == f"{PAGE_ID}_998877665544332"
    assert event.comment.created_at.timestamp() == 1767225598
    assert event.change is CommentChange.CREATED
    assert event.comment_key == f"facebook:{PAGE_ID}:998877665544332_112233445566778"
    after = metric("triage_ingest_comments_published_total", platform="facebook", account=PAGE_ID)
    assert after == before + 1


async def test_forged_signature_is_rejected_and_nothing_is_published() -> None:
    raw = body(page_delivery(fb_comment_change()))
    before = metric("triage_ingest_errors_total", platform="meta", account="unknown", reason="bad_signature")
    for forged in (
        meta_signature(raw, secret="not-the-secret"),
        meta_signature(raw + b" "),  # signed over other bytes (re-serialised, tampered)
        "sha1=" + meta_signature(raw)[7:],
        "sha256=zz",
    ):
        status, producer, comments = await post_meta(raw, forged)
        assert status == 403
        assert comments == [] and producer.sent == {}
    after = metric("triage_ingest_errors_total", platform="meta", account="unknown", reason="bad_signature")
    assert after == before + 4


async def test_missing_signature_is_401_and_missing_secret_is_503() -> None:
    raw = body(page_delivery(fb_comment_change()))
    status, producer, _ = await post_meta(raw, None)
    assert status == 401 and producer.sent == {}
    status, producer, _ = await post_meta(raw, meta_signature(raw), meta_app_secret=None)
    assert status == 503 and producer.sent == {}


async def test_signature_is_checked_on_raw_bytes_not_reserialised_json() -> None:
    # Pretty-printed, non-ASCII, key order Meta chose: the HMAC must be over exactly these bytes.
    raw = json.dumps(page_delivery(fb_comment_change(message="Merci — très bien 👍")), indent=2).encode()
    status, _, comments = await post_meta(raw, meta_signature(raw))
    assert status == 200
    assert comments[0].comment.text == "Merci — très bien 👍"


async def test_replayed_delivery_is_acknowledged_but_published_once() -> None:
    raw = body(page_delivery(fb_comment_change(comment_id="1_replayed")))
    client, producer = app_client()
    headers = {"X-Hub-Signature-256": meta_signature(raw)}
    before = metric(
        "triage_ingest_duplicates_dropped_total", platform="facebook", account=PAGE_ID, reason="redelivery"
    )
    async with client:
        first = await client.post("/webhooks/meta", content=raw, headers=headers)
        second = await client.post("/webhooks/meta", content=raw, headers=headers)
    assert first.status_code == second.status_code == 200
    assert len(producer.comments()) == 1
    after = metric(
        "triage_ingest_duplicates_dropped_total", platform="facebook", account=PAGE_ID, reason="redelivery"
    )
    assert after == before + 1


async def test_batched_entries_edits_and_deletions() -> None:
    client, producer = app_client()
    deliveries = [
        page_delivery(
            fb_comment_change(comment_id="1_a"),
            fb_comment_change(comment_id="1_b", parent_id="1_a"),  # a reply to a comment
            {"field": "feed", "value": {"item": "reaction", "verb": "add", "reaction_type": "love"}},
            fb_comment_change(comment_id="1_own", **{"from": {"id": PAGE_ID, "name": "Brightwater"}}),
            time=100,
        ),
        page_delivery(fb_comment_change(comment_id="1_a", verb="edited", message="edited once"), time=200),
        page_delivery(fb_comment_change(comment_id="1_a", verb="edited", message="edited once"), time=200),
        page_delivery(fb_comment_change(comment_id="1_a", verb="edited", message="edited twice"), time=300),
        # An older edit arriving late must not overwrite the newer one.
        page_delivery(fb_comment_change(comment_id="1_a", verb="edited", message="stale"), time=250),
        page_delivery(fb_comment_change(comment_id="1_a", verb="remove", message=None), time=400),
        page_delivery(fb_comment_change(comment_id="1_a", verb="edited", message="after delete"), time=350),
    ]
    async with client:
        for delivery in deliveries:
            raw = body(delivery)
            response = await client.post(
                "/webhooks/meta", content=raw, headers={"X-Hub-Signature-256": meta_signature(raw)}
            )
            assert response.status_code == 200
    got = [
        (e.comment.platform_comment_id, e.change.value, e.comment.text, e.comment.kind.value)
        for e in producer.comments()
    ]
    assert got == [
        ("1_a", "created", "What time does the pharmacy close on Sundays?", "comment"),
        ("1_b", "created", "What time does the pharmacy close on Sundays?", "reply"),
        ("1_a", "edited", "edited once", "comment"),
        ("1_a", "edited", "edited twice", "comment"),
        ("1_a", "deleted", "", "comment"),
    ]
    assert producer.comments()[2].changed_at is not None


async def test_instagram_comment_and_reply() -> None:
    raw = body(
        ig_delivery(
            ig_comment_change(), ig_comment_change("18000000000000009", parent_id="18012345678901234")
        )
    )
    status, _, comments = await post_meta(raw, meta_signature(raw))
    assert status == 200
    first, reply = comments
    assert first.platform is Platform.INSTAGRAM and first.account.id == IG_USER_ID
    assert first.comment.author.handle == "jane.d"
    assert first.comment.thread_id == "17918195224117851"
    assert first.comment.kind is CommentKind.COMMENT and reply.comment.kind is CommentKind.REPLY
    assert reply.comment.parent_id == "18012345678901234"


async def test_instagram_mention_without_text_is_dead_lettered_not_lost() -> None:
    raw = body(ig_delivery({"field": "mentions", "value": {"media_id": "1791", "comment_id": "1801"}}))
    status, producer, comments = await post_meta(raw, meta_signature(raw))
    assert status == 200 and comments == []
    [letter] = producer.dead_letters()
    # The text is fetched with the account's token, and this account has none (sources/test_meta_mentions.py).
    assert letter.reason == "no_credentials" and letter.topic == "webhook:meta"


async def test_malformed_json_and_non_utf8_are_400_and_publish_nothing() -> None:
    for raw in (b'{"object": "page", "entry": [', b"\xff\xfe{\x00}", b""):
        status, producer, _ = await post_meta(raw, meta_signature(raw))
        assert status == 400, raw
        assert producer.sent == {}


async def test_huge_body_is_refused_before_parsing() -> None:
    raw = body(page_delivery(fb_comment_change(message="x" * 70_000)))
    status, producer, _ = await post_meta(raw, meta_signature(raw))
    assert status == 413 and producer.sent == {}


async def test_unknown_fields_are_ignored_and_wrong_shapes_dead_lettered() -> None:
    good = fb_comment_change(comment_id="1_new", brand_new_field={"x": 1})
    bad = fb_comment_change(comment_id=None)  # parseable, signed, but unusable
    delivery = page_delivery(good, bad)
    delivery["entry"].append("not an object")
    delivery["future_top_level"] = True
    raw = body(delivery)
    status, producer, comments = await post_meta(raw, meta_signature(raw))
    assert status == 200
    assert [c.comment.platform_comment_id for c in comments] == ["1_new"]
    letters = producer.dead_letters()
    assert [letter.reason for letter in letters] == ["schema", "schema"]
    assert "Jane Doe" not in " ".join(letter.error for letter in letters)  # never content in the reason


async def test_wrong_root_shape_is_dead_lettered() -> None:
    raw = body({"object": "page", "entry": "nope"})
    status, producer, comments = await post_meta(raw, meta_signature(raw))
    assert status == 200 and comments == []
    assert [letter.reason for letter in producer.dead_letters()] == ["schema"]


async def test_broker_failure_answers_503_so_meta_redelivers_and_the_retry_is_not_a_duplicate() -> None:
    raw = body(page_delivery(fb_comment_change(comment_id="1_outage")))
    client, producer = app_client()
    headers = {"X-Hub-Signature-256": meta_signature(raw)}
    async with client:
        producer.fail = True
        assert (await client.post("/webhooks/meta", content=raw, headers=headers)).status_code == 503
        producer.fail = False
        assert (await client.post("/webhooks/meta", content=raw, headers=headers)).status_code == 200
    assert [c.comment.platform_comment_id for c in producer.comments()] == ["1_outage"]


async def test_latency_is_measured() -> None:
    before = metric("triage_ingest_webhook_latency_seconds_count", platform="meta")
    raw = body(page_delivery(fb_comment_change(comment_id="1_latency")))
    await post_meta(raw, meta_signature(raw))
    assert metric("triage_ingest_webhook_latency_seconds_count", platform="meta") == before + 1
