"""All comments on SQLite and PostgreSQL: verdicts stored once per comment (the newest wins), the listing's
filters and "close to a threshold" order, 4xx on bad parameters, roles and CSRF, "Flag this" (routed, audited,
paging on-call for urgent, 409 when flagged already), retention and platform deletion, and the consumer on the
embedded broker (bad records dead-lettered)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from triage_api.audit.models import AuditEvent
from triage_api.comments import service
from triage_api.comments.models import SeenComment
from triage_api.config import ApiSettings
from triage_api.deps import CSRF_HEADER
from triage_api.flags.consumer import write_flags
from triage_api.flags.models import Flag, FlagNote, LabelFeedback
from triage_api.main import create_app
from triage_api.oncall.models import Alert
from triage_events import (
    DLQ,
    JUDGED,
    Account,
    ClearReason,
    DeadLetter,
    FlagCleared,
    Label,
    Platform,
    decode,
    encode,
)

from tests.builders import make_comment, make_flag, make_judged, unique
from tests.integration.desk_support import Desk, make_app, running_desk
from tests.integration.helpers import all_committed, produce, read_all
from tests.integration.test_api_csrf import page_token
from tests.integration.test_desk_dashboard import sign_in
from tests.kafka.fixtures import Bus, bus_profile

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def judged(minutes: int, urgent: float, text: str = "", **overrides: Any) -> Any:
    comment = make_comment(
        text=text or f"comment {minutes}",
        platform=overrides.pop("platform", Platform.FACEBOOK),
        account=overrides.pop("account", Account(id="acct-brightwater", handle="@brightwaterhealth")),
    )
    labels = [Label.URGENT] if urgent >= 0.35 else []
    return make_judged(
        comment=comment,
        labels=labels,
        scores={Label.URGENT: urgent, Label.SPAM: 0.01},
        occurred_at=overrides.pop("occurred_at", T0 + timedelta(minutes=minutes)),
        **overrides,
    )


def store(desk: Desk, *events: Any) -> int:
    with desk.app.state.sessionmaker() as db, db.begin():
        return service.store_judged(db, list(events))


async def listing(desk: Desk, who: str = "viewer", **params: Any) -> dict[str, Any]:
    response = await desk.client.get("/api/comments", params=params, headers=desk.auth(who))
    assert response.status_code == 200, response.text
    return response.json()


def keys(page: dict[str, Any]) -> list[str]:
    return [item["comment_key"] for item in page["items"]]


async def test_listing_filters_orders_close_to_a_threshold_first_and_refuses_bad_parameters(
    database_url: str,
) -> None:
    far = judged(0, 0.02)
    near = judged(1, 0.30, language="es")  # 0.05 under urgent's threshold
    nearer = judged(2, 0.33, platform=Platform.INSTAGRAM)
    flagged = judged(3, 0.91)
    other_account = judged(4, 0.25, account=Account(id="acct-north", handle="@northclinic"))
    async with running_desk(make_app(database_url)) as desk:
        assert store(desk, far, near, nearer, flagged, other_account) == 5
        assert store(desk, far, near) == 0  # a redelivery stores nothing new

        page = await listing(desk)
        assert keys(page) == [e.comment_key for e in (nearer, near, other_account, far, flagged)]
        assert page["total"] == 5
        item = page["items"][0]
        assert item["band"] == "near" and item["closest_label"] == "urgent"
        assert item["margin"] == pytest.approx(0.02) and item["labels"] == []
        assert item["text"] == nearer.comment.text and item["thresholds"]["urgent"] == 0.35

        assert keys(await listing(desk, order="newest")) == [
            e.comment_key for e in (other_account, flagged, nearer, near, far)
        ]
        assert keys(await listing(desk, platform="instagram")) == [nearer.comment_key]
        assert keys(await listing(desk, account="@northclinic")) == [other_account.comment_key]
        assert keys(await listing(desk, account="acct-north")) == [other_account.comment_key]
        assert keys(await listing(desk, language="es")) == [near.comment_key]
        assert keys(await listing(desk, language="ES")) == [near.comment_key]
        assert keys(await listing(desk, band="flagged")) == [flagged.comment_key]
        assert keys(await listing(desk, band="near")) == [
            e.comment_key for e in (nearer, near, other_account)
        ]
        assert keys(await listing(desk, band="clear")) == [far.comment_key]
        second = await listing(desk, limit=2, offset=2)
        assert keys(second) == [other_account.comment_key, far.comment_key] and second["total"] == 5

        for bad in (
            {"band": "close"},
            {"platform": "myspace"},
            {"language": "e s"},
            {"language": "<script>"},
            {"order": "random"},
            {"limit": "0"},
            {"limit": "201"},
            {"offset": "-1"},
            {"offset": "1.5"},
            {"account": "x" * 257},
        ):
            r = await desk.client.get("/api/comments", params=bad, headers=desk.auth("viewer"))
            assert r.status_code == 422, (bad, r.text)
        assert (await desk.client.get("/api/comments")).status_code == 401
        assert (await desk.client.get("/api/stream/comments")).status_code == 401


async def test_a_newer_verdict_replaces_an_older_one_and_never_the_reverse(database_url: str) -> None:
    first = judged(0, 0.1)
    edited = make_judged(
        comment=make_comment(comment=first.comment.model_copy(update={"text": "edited"})),
        labels=[Label.URGENT],
        scores={Label.URGENT: 0.8},
        changed_at=first.comment.created_at + timedelta(minutes=5),  # an edit, after the comment was written
        occurred_at=T0 + timedelta(minutes=6),
    )
    async with running_desk(make_app(database_url)) as desk:
        store(desk, first)
        assert store(desk, edited) == 0
        store(desk, first)  # a replay of the older verdict
        [item] = (await listing(desk))["items"]
        assert item["text"] == "edited" and item["labels"] == ["urgent"] and item["band"] == "flagged"
        assert item["id"] == str(first.event_id)


async def test_flag_this_routes_audits_pages_and_refuses_a_second_flag(database_url: str) -> None:
    missed = judged(0, 0.2, text="my dad's face is drooping and he can't lift his arm")
    other = judged(1, 0.05)
    async with running_desk(make_app(database_url)) as desk:
        store(desk, missed, other)
        with desk.app.state.sessionmaker() as db:
            row = db.scalar(select(SeenComment).where(SeenComment.comment_key == missed.comment_key))
            assert row is not None
            comment_id = row.id
        url = f"/api/comments/{comment_id}/flag"
        body = {"labels": ["urgent"], "note": "stroke signs <b>now</b>"}

        assert (await desk.client.post(url, json=body)).status_code == 401
        assert (await desk.client.post(url, json=body, headers=desk.auth("viewer"))).status_code == 403
        for bad in ({"labels": []}, {"labels": ["danger"]}, {"labels": ["urgent"], "note": "x" * 5001},
                    {"labels": ["urgent"], "extra": 1}, {"note": "no labels"}):  # fmt: skip
            r = await desk.client.post(url, json=bad, headers=desk.auth("moderator"))
            assert r.status_code == 422, (bad, r.text)
        r = await desk.client.post("/api/comments/nope/flag", json=body, headers=desk.auth("moderator"))
        assert r.status_code == 404

        async with sign_in(desk, "moderator") as browser:
            token = page_token((await browser.get("/comments")).text)
            refused = await browser.post(url, json=body)
            assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
            raised = await browser.post(url, json=body, headers={CSRF_HEADER: token})
            assert raised.status_code == 201, raised.text
            assert raised.json()["paged"] is True
            flag_id = raised.json()["flag_id"]
            again = await browser.post(url, json=body, headers={CSRF_HEADER: token})
            assert again.status_code == 409

        with desk.app.state.sessionmaker() as db:
            flag = db.get(Flag, flag_id)
            assert flag is not None
            assert flag.raised_by == "moderator-user" and flag.labels == ["urgent"]
            assert flag.severity == "critical" and flag.text == missed.comment.text
            assert flag.team is not None  # routed by the bundled rules
            assert flag.sla_due_at is not None
            actions = db.scalars(select(AuditEvent.action).where(AuditEvent.flag_id == flag_id)).all()
            assert {"flag.routed", "flag.raised_by_person", "flag.note"} <= set(actions)
            [note] = db.scalars(select(FlagNote.body).where(FlagNote.flag_id == flag_id)).all()
            assert note == "stroke signs <b>now</b>"
            [alert] = db.scalars(select(Alert)).all()
            assert alert.kind == "urgent_comment" and alert.comment_keys == [missed.comment_key]
            feedback = db.execute(select(LabelFeedback.label, LabelFeedback.verdict)).all()
            assert feedback == [("urgent", "missing")]

        queue = await desk.client.get("/api/flags", headers=desk.auth("viewer"))
        assert [f["id"] for f in queue.json()["items"]] == [flag_id]

        # The model that missed it does not overrule the person: a later verdict (the comment edited, judged
        # hostile) and an edit it judges benign leave the flag as the person raised it.
        later = missed.changed_at + timedelta(hours=1)
        edited = make_comment(comment=missed.comment.model_copy(update={"text": "edited"}), changed_at=later)
        verdict = make_flag(comment=edited, labels=[Label.HOSTILE], changed_at=later)
        calmed = FlagCleared(comment_key=missed.comment_key, platform=missed.platform, account=missed.account,
                             reason=ClearReason.EDITED_BENIGN, changed_at=later + timedelta(minutes=1))  # fmt: skip
        write_flags(
            desk.app.state.sessionmaker,
            [verdict, calmed],
            desk.app.state.router,
            forget=service.forget_deleted,
        )
        with desk.app.state.sessionmaker() as db:
            flag = db.get(Flag, flag_id)
            assert flag is not None
            assert (flag.labels, flag.status, flag.text) == (["urgent"], "new", missed.comment.text)


async def test_the_page_escapes_comment_text_and_offers_flagging_to_moderators_only(
    database_url: str,
) -> None:
    xss = judged(0, 0.3, text='<script>window.pwned=1</script><img src=x onerror="alert(1)">')
    async with running_desk(make_app(database_url)) as desk:
        store(desk, xss)
        async with sign_in(desk, "viewer") as browser:
            page = (await browser.get("/comments")).text
            assert (
                "<script>window.pwned" not in page and "&lt;script&gt;window.pwned=1&lt;/script&gt;" in page
            )
            assert "Flag this" not in page
        async with sign_in(desk, "moderator") as browser:
            page = (await browser.get("/comments?band=near&platform=facebook&language=en")).text
            # the filter form sends the fields left empty: no filter, not a 422
            blank = await browser.get("/comments?platform=&account=&language=&band=&order=near")
            assert blank.status_code == 200 and "Flag this" in blank.text
            assert "Flag this" in page and "&lt;img src=x" in page
            assert (await browser.get("/comments?band=bogus")).status_code == 422
        anonymous = await desk.client.get("/comments")
        assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login"


async def test_retention_deletes_old_comments_and_a_platform_deletion_removes_the_text(
    database_url: str,
) -> None:
    now = datetime.now(UTC)
    old = judged(0, 0.1, occurred_at=now - timedelta(days=31))
    recent = judged(1, 0.1, occurred_at=now - timedelta(days=29))
    gone = judged(2, 0.1, occurred_at=now - timedelta(days=1))
    async with running_desk(make_app(database_url)) as desk:
        store(desk, old, recent, gone)
        factory = desk.app.state.sessionmaker
        with factory() as db, db.begin():
            assert service.purge_old(db, 30) == 1
        with factory() as db, db.begin():
            assert service.purge_old(db, 30) == 0
        deletion = FlagCleared(
            comment_key=gone.comment_key,
            platform=gone.platform,
            account=gone.account,
            reason=ClearReason.DELETED,
            changed_at=now,
        )
        write_flags(
            factory, [deletion], desk.app.state.router, forget=service.forget_deleted
        )  # as the app does
        store(desk, gone)  # a late redelivery of its verdict brings no text back
        items = {i["comment_key"]: i for i in (await listing(desk))["items"]}
        assert set(items) == {recent.comment_key, gone.comment_key}
        assert items[gone.comment_key]["text"] is None and items[gone.comment_key]["deleted"] is True
        with factory() as db:
            purges = db.scalars(
                select(AuditEvent).where(AuditEvent.action == "retention.comments_purged")
            ).all()
            assert [p.detail for p in purges] == [{"count": 1, "days": 30}]
    assert ApiSettings().comments_retention_days == 30


async def test_the_consumer_stores_verdicts_once_and_dead_letters_bad_records(
    database_url: str, fresh_bus: Bus
) -> None:
    a, b = judged(0, 0.1), judged(1, 0.3)
    messages: list[tuple[bytes | None, bytes | None]] = [
        (a.comment_key.encode(), encode(a)),
        (b.comment_key.encode(), encode(b)),
        (a.comment_key.encode(), encode(a)),  # redelivered
        (b"facebook:1:2", b'{"type": "comment_judged", "comment_key": "facebook:1:2"'),
        (b"facebook:1:3", b'{"type": "comment_judged", "comment_key": "facebook:1:3"}'),
    ]
    config = ApiSettings(
        database_url=database_url, consumer_group=unique("comments-test"), consumer_enabled=True,
        bootstrap_admin_password="correct horse battery staple",
    )  # fmt: skip
    app = create_app(config, bus_profile(fresh_bus))
    async with app.router.lifespan_context(app):
        await produce(fresh_bus.bootstrap_servers, JUDGED.name, messages)

        await all_committed(
            fresh_bus.bootstrap_servers,
            f"{config.consumer_group}-comments",
            JUDGED,
            len(messages),
            "the comment consumer to commit every message",
        )
        with app.state.sessionmaker() as db:
            stored = sorted(db.scalars(select(SeenComment.comment_key)).all())
        assert stored == sorted([a.comment_key, b.comment_key])
        letters = [decode(DeadLetter, r.value) for r in await read_all(fresh_bus.bootstrap_servers, DLQ.name)]
        mine = [d for d in letters if d.topic == JUDGED.name]
        assert sorted(d.reason for d in mine) == ["not_json", "schema"]


async def test_misses_and_precision_from_feedback_on_metrics_analytics_and_the_api(database_url: str) -> None:
    from triage_api.comments import learning

    from tests.builders import make_flag

    missed = judged(0, 0.2, text="Rosa in bed 4 says goodbye to everyone", language="es")
    hostile = [
        make_flag(comment=make_comment(text=f"you clowns {n}"), labels=[Label.HOSTILE]) for n in range(2)
    ]
    async with running_desk(make_app(database_url)) as desk:
        store(desk, missed)
        desk.add_flags(*hostile)
        with desk.app.state.sessionmaker() as db:
            comment_id = db.scalar(select(SeenComment.id))
        r = await desk.client.post(
            f"/api/comments/{comment_id}/flag",
            json={"labels": ["urgent", "privacy"]},
            headers=desk.auth("moderator"),
        )
        assert r.status_code == 201
        for flag, correct in zip(hostile, (True, False), strict=True):
            r = await desk.client.put(
                f"/api/flags/{flag.event_id}/feedback",
                json={"label": "hostile", "correct": correct},
                headers=desk.auth("moderator"),
            )
            assert r.status_code == 200, r.text
        r = await desk.client.put(  # a label the classifier missed on its own flag
            f"/api/flags/{hostile[0].event_id}/feedback",
            json={"label": "urgent", "correct": True},
            headers=desk.auth("lead"),
        )
        assert r.status_code == 200

        taught = (await desk.client.get("/api/learning", headers=desk.auth("viewer"))).json()
        misses = {(m["label"], m["language"]): m["count"] for m in taught["misses"]}
        assert misses == {("urgent", "es"): 1, ("privacy", "es"): 1, ("urgent", "unknown"): 1}
        assert taught["precision"]["hostile"] == {"precision": 0.5, "correct": 1, "wrong": 1}
        assert taught["precision"]["spam"]["precision"] is None

        with desk.app.state.sessionmaker() as db:
            learning.refresh_gauges(db)
        exposition = (await desk.client.get("/metrics")).text
        assert 'triage_api_misses_found{label="urgent",language="es"} 1.0' in exposition
        assert 'triage_api_feedback_precision{label="hostile"} 0.5' in exposition
        assert 'triage_api_feedback_verdicts{label="hostile",verdict="wrong"} 1.0' in exposition
        assert "Rosa" not in exposition and "clowns" not in exposition

        async with sign_in(desk, "viewer") as browser:
            page = (await browser.get("/analytics")).text
        assert 'id="misses-table"' in page and 'data-label="urgent" data-language="es"' in page
        assert '<td class="precision">50%</td>' in page
