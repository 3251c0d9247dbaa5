"""The moderation desk's REST API on SQLite and PostgreSQL: roles, the claim lock, statuses and their
moves, notes, label feedback, replies through the PHI guard, approval of corrections, and the audit log."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from triage_events import ActionKind, Label, Severity

from tests.builders import make_comment, make_flag
from tests.integration.desk_support import Desk, FakePublisher, desk_with_flag, make_app, running_desk
from tests.integration.helpers import eventually

pytestmark = pytest.mark.integration


def hostile_flag(**overrides: Any) -> Any:
    comment = make_comment(text=overrides.pop("text", "You people are useless clowns"))
    return make_flag(comment=comment, labels=overrides.pop("labels", [Label.HOSTILE]), **overrides)


async def audit_actions(desk: Desk, flag_id: str) -> list[str]:
    r = await desk.client.get("/api/audit", params={"flag_id": flag_id}, headers=desk.auth("viewer"))
    assert r.status_code == 200
    return [e["action"] for e in reversed(r.json()["items"])]


async def test_roles_are_enforced_on_every_desk_route(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        flag = hostile_flag()
        desk.add_flags(flag)
        fid = str(flag.event_id)
        assert (await desk.client.post(f"/api/flags/{fid}/dismiss")).status_code == 401
        for path in ("claim", "dismiss", "escalate", "hide", "notes", "reply"):
            body = {"body": "x"} if path == "notes" else {"text": "hi"} if path == "reply" else None
            r = await desk.client.post(f"/api/flags/{fid}/{path}", json=body, headers=desk.auth("viewer"))
            assert r.status_code == 403, path
        r = await desk.client.post(f"/api/flags/{fid}/delete", headers=desk.auth("moderator"))
        assert r.status_code == 403
        assert (
            await desk.client.get(f"/api/flags/{fid}/templates", headers=desk.auth("viewer"))
        ).status_code == 200
        assert (await desk.client.get("/api/audit", headers=desk.auth("viewer"))).status_code == 200


async def test_claim_lock_gives_others_409_until_released(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        flag = hostile_flag()
        desk.add_flags(flag)
        fid = str(flag.event_id)
        r = await desk.client.post(f"/api/flags/{fid}/claim", headers=desk.auth("moderator"))
        assert r.status_code == 200 and r.json()["claimed_by"] == "moderator-user"
        for path in ("claim", "dismiss", "hide"):
            r = await desk.client.post(f"/api/flags/{fid}/{path}", headers=desk.auth("moderator2"))
            assert r.status_code == 409, path
            assert "moderator-user" in r.json()["detail"]
        assert (
            await desk.client.post(f"/api/flags/{fid}/release", headers=desk.auth("moderator2"))
        ).status_code == 409
        assert (
            await desk.client.post(f"/api/flags/{fid}/release", headers=desk.auth("moderator"))
        ).status_code == 200
        r = await desk.client.post(f"/api/flags/{fid}/claim", headers=desk.auth("moderator2"))
        assert r.status_code == 200 and r.json()["claimed_by"] == "moderator2-user"
        # A lead may break a claim; an expired claim is free for anyone.
        assert (
            await desk.client.post(f"/api/flags/{fid}/release", headers=desk.auth("lead"))
        ).status_code == 200
        assert await audit_actions(desk, fid) == [
            "flag.claimed",
            "flag.released",
            "flag.claimed",
            "flag.released",
        ]


async def test_an_expired_claim_can_be_taken(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher(), claim_minutes=-1)) as desk:
        flag = hostile_flag()
        desk.add_flags(flag)
        fid = str(flag.event_id)
        assert (
            await desk.client.post(f"/api/flags/{fid}/claim", headers=desk.auth("moderator"))
        ).status_code == 200
        r = await desk.client.post(f"/api/flags/{fid}/claim", headers=desk.auth("moderator2"))
        assert r.status_code == 200 and r.json()["claimed_by"] == "moderator2-user"


async def test_status_moves_follow_the_allowed_transitions(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        flag = hostile_flag()
        desk.add_flags(flag)
        fid = str(flag.event_id)
        mod = desk.auth("moderator")
        r = await desk.client.post(f"/api/flags/{fid}/status", json={"status": "resolved"}, headers=mod)
        assert r.status_code == 409  # new → resolved is not a move
        r = await desk.client.post(f"/api/flags/{fid}/status", json={"status": "replied"}, headers=mod)
        assert r.status_code == 422  # replied comes from the platform, not by hand
        assert (await desk.client.post(f"/api/flags/{fid}/escalate", headers=mod)).json()[
            "status"
        ] == "escalated"
        r = await desk.client.post(f"/api/flags/{fid}/status", json={"status": "resolved"}, headers=mod)
        assert r.json()["status"] == "resolved"
        # escalating routes the flag again (the bundled rules' escalation team)
        assert await audit_actions(desk, fid) == ["flag.status", "flag.rerouted", "flag.status"]


async def test_assignment_and_bulk_status(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        flags = [hostile_flag() for _ in range(3)]
        desk.add_flags(*flags)
        ids = [str(f.event_id) for f in flags]
        r = await desk.client.post(
            f"/api/flags/{ids[0]}/assign",
            json={"assignee": "moderator2-user"},
            headers=desk.auth("moderator"),
        )
        assert r.status_code == 403  # only leads assign others
        r = await desk.client.post(
            f"/api/flags/{ids[0]}/assign", json={"assignee": "moderator2-user"}, headers=desk.auth("lead")
        )
        assert r.json()["assignee"] == "moderator2-user" and r.json()["status"] == "assigned"
        r = await desk.client.post(
            f"/api/flags/{ids[1]}/assign", json={"assignee": "viewer-user"}, headers=desk.auth("lead")
        )
        assert r.status_code == 422
        await desk.client.post(f"/api/flags/{ids[2]}/claim", headers=desk.auth("moderator2"))
        r = await desk.client.post(
            "/api/flags/bulk-status",
            json={"ids": [*ids, "missing"], "status": "dismissed"},
            headers=desk.auth("moderator"),
        )
        results = r.json()["results"]
        assert results[ids[0]] == "ok" and results[ids[1]] == "ok"
        assert "claimed by moderator2-user" in results[ids[2]] and "no flag" in results["missing"]
        page = (
            await desk.client.get("/api/flags", params={"status": "dismissed"}, headers=desk.auth("viewer"))
        ).json()
        assert sorted(item["id"] for item in page["items"]) == sorted(ids[:2])


async def test_notes_and_label_feedback_are_stored(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        flag = hostile_flag()
        desk.add_flags(flag)
        fid = str(flag.event_id)
        r = await desk.client.post(
            f"/api/flags/{fid}/notes", json={"body": "Called back"}, headers=desk.auth("moderator")
        )
        assert r.status_code == 201
        notes = (await desk.client.get(f"/api/flags/{fid}/notes", headers=desk.auth("viewer"))).json()
        assert [(n["author"], n["body"]) for n in notes] == [("moderator-user", "Called back")]
        mod = desk.auth("moderator")
        await desk.client.put(
            f"/api/flags/{fid}/feedback", json={"label": "hostile", "correct": True}, headers=mod
        )
        r = await desk.client.put(
            f"/api/flags/{fid}/feedback", json={"label": "hostile", "correct": False}, headers=mod
        )
        await desk.client.put(
            f"/api/flags/{fid}/feedback", json={"label": "spam", "correct": True}, headers=mod
        )
        assert r.json() == {"hostile": "wrong"}
        with desk.app.state.sessionmaker() as db:
            rows = db.execute(
                text("SELECT label, verdict, username FROM label_feedback ORDER BY label")
            ).all()
        assert [tuple(r) for r in rows] == [
            ("hostile", "wrong", "moderator-user"),
            ("spam", "correct", "moderator-user"),
        ]


async def test_a_template_reply_is_guarded_rendered_and_published(database_url: str) -> None:
    flag = hostile_flag()
    async with desk_with_flag(database_url, flag) as (desk, publisher):
        fid = str(flag.event_id)
        suggestions = await desk.suggestions(fid)
        assert [s["id"] for s in suggestions] == [
            "hostile.public",
            "hostile.private",
        ]  # facebook allows private
        assert all(s["guidance"] and s["sources"] and not s["blocked"] for s in suggestions)
        assert "1-800-555-0199" in suggestions[0]["text"] and "@river_w" in suggestions[0]["text"]
        r = await desk.reply(fid, {"template_id": "hostile.public", "language": "es"})
        assert r.status_code == 202, r.text
        assert r.json()["status"] == "requested"
        [event] = publisher.sent
        assert event.action == ActionKind.REPLY and event.comment_key == flag.comment_key
        assert event.requested_by == "moderator-user" and str(event.event_id) == r.json()["id"]
        assert event.text is not None and "relaciones con pacientes" in event.text
        detail = (await desk.client.get(f"/api/flags/{fid}", headers=desk.auth("viewer"))).json()
        assert detail["status"] == "in_review" and detail["last_action"] == "reply: requested"
        assert await audit_actions(desk, fid) == ["action.requested"]


async def test_the_phi_guard_blocks_a_reply_with_reasons(database_url: str) -> None:
    flag = hostile_flag(text="My dad Tom Reyes had chemo on 4 West and nobody called 312-555-0148 back")
    async with desk_with_flag(database_url, flag) as (desk, publisher):
        fid = str(flag.event_id)
        r = await desk.reply(
            fid, {"text": "Sorry Tom Reyes, your doctor will call 312-555-0148 about the chemo."}
        )
        assert r.status_code == 422
        reasons = " | ".join(r.json()["reasons"])
        for expected in ("health details", "name", "phone number", "care relationship"):
            assert expected in reasons
        assert publisher.sent == [] and await audit_actions(desk, fid) == []


async def test_misinformation_replies_wait_for_a_lead(database_url: str) -> None:
    flag = hostile_flag(text="Vaccines cause autism, everyone knows", labels=[Label.MISINFORMATION])
    async with desk_with_flag(database_url, flag) as (desk, publisher):
        fid = str(flag.event_id)
        r = await desk.reply(fid, {"template_id": "misinformation.public"})
        assert r.status_code == 202 and r.json()["status"] == "pending_approval"
        assert publisher.sent == []
        action_id = r.json()["id"]
        assert (
            await desk.client.post(f"/api/actions/{action_id}/approve", headers=desk.auth("moderator"))
        ).status_code == 403
        r = await desk.client.post(f"/api/actions/{action_id}/approve", headers=desk.auth("lead"))
        assert r.status_code == 202 and r.json()["approved_by"] == "lead-user"
        [event] = publisher.sent
        assert event.requested_by == "moderator-user/lead-user"
        assert (
            await desk.client.post(f"/api/actions/{action_id}/approve", headers=desk.auth("lead"))
        ).status_code == 409
        assert await audit_actions(desk, fid) == ["action.pending_approval", "action.approved"]


async def test_a_bus_outage_queues_the_action_shows_it_and_sends_it_later(database_url: str) -> None:
    """With the transactional outbox a bus outage is not a failure: 202, the flag says the action is queued,
    and the relay sends it once the bus is back (the user must not retry and send it twice)."""
    publisher = FakePublisher()
    publisher.fail = True
    app = make_app(database_url, publisher, outbox_retry_base_seconds=0.05, outbox_retry_max_seconds=0.2)
    async with running_desk(app) as desk:
        flag = hostile_flag(severity=Severity.HIGH)
        desk.add_flags(flag)
        fid = str(flag.event_id)
        r = await desk.client.post(f"/api/flags/{fid}/hide", headers=desk.auth("moderator"))
        assert r.status_code == 202 and r.json()["status"] == "requested"
        detail = (await desk.client.get(f"/api/flags/{fid}", headers=desk.auth("viewer"))).json()
        assert detail["last_action"] == "hide: queued" and "retrying" in detail["last_action_error"]
        assert publisher.sent == []
        publisher.fail = False
        await eventually(lambda: _sent(publisher), 10, "the queued action published")
        [event] = publisher.sent
        assert str(event.event_id) == r.json()["id"]
        detail = (await desk.client.get(f"/api/flags/{fid}", headers=desk.auth("viewer"))).json()
        assert detail["last_action"] == "hide: requested" and detail["last_action_error"] is None
        actions = (await desk.client.get(f"/api/flags/{fid}/actions", headers=desk.auth("viewer"))).json()
        assert [a["status"] for a in actions] == ["requested"]


async def _sent(publisher: FakePublisher) -> bool:
    return bool(publisher.sent)


async def test_the_audit_log_is_append_only(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        flag = hostile_flag()
        desk.add_flags(flag)
        await desk.client.post(f"/api/flags/{flag.event_id}/escalate", headers=desk.auth("moderator"))
        for statement in ("UPDATE audit_events SET actor = 'someone-else'", "DELETE FROM audit_events"):
            with desk.app.state.sessionmaker() as db, pytest.raises(DBAPIError, match="append-only"):
                db.execute(text(statement))
                db.commit()
        assert await audit_actions(desk, str(flag.event_id)) == ["flag.status", "flag.rerouted"]


async def test_list_filters_account_assignee_time_range_and_text(database_url: str) -> None:
    from datetime import UTC, datetime, timedelta

    from tests.builders import make_account

    t0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        a = make_flag(comment=make_comment(text="50% off pills_now"), occurred_at=t0)
        b = make_flag(
            comment=make_comment(
                text="The ER wait was awful", account=make_account(id="acct-2", handle="@b")
            ),
            occurred_at=t0 + timedelta(hours=2),
        )
        desk.add_flags(a, b)
        await desk.client.post(
            f"/api/flags/{a.event_id}/assign",
            json={"assignee": "moderator-user"},
            headers=desk.auth("moderator"),
        )

        async def ids(**params: str) -> list[str]:
            r = await desk.client.get("/api/flags", params=params, headers=desk.auth("viewer"))
            assert r.status_code == 200, r.text
            return [item["id"] for item in r.json()["items"]]

        assert await ids(account="@b") == [str(b.event_id)] == await ids(account="acct-2")
        assert await ids(assignee="moderator-user") == [str(a.event_id)]
        assert await ids(since=(t0 + timedelta(hours=1)).isoformat()) == [str(b.event_id)]
        assert await ids(until=(t0 + timedelta(hours=1)).isoformat()) == [str(a.event_id)]
        assert await ids(q="er WAIT") == [str(b.event_id)]
        assert await ids(q="50%") == [str(a.event_id)] and await ids(q="%") == [str(a.event_id)]
        assert await ids(q="s_n") == [str(a.event_id)] and await ids(q="_") == [str(a.event_id)]
        assert await ids(q="no such text") == []


async def test_a_nul_character_in_the_new_filters_is_422(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        for name in ("account", "assignee", "team", "q"):
            r = await desk.client.get("/api/flags", params={name: "a\x00b"}, headers=desk.auth("viewer"))
            assert r.status_code == 422, name


async def test_nul_characters_in_ids_and_bodies_are_refused_not_500(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        flag = hostile_flag()
        desk.add_flags(flag)
        mod = desk.auth("moderator")
        assert (await desk.client.post("/api/flags/a%00b/claim", headers=mod)).status_code == 404
        r = await desk.client.post(f"/api/flags/{flag.event_id}/notes", json={"body": "a\x00b"}, headers=mod)
        assert r.status_code == 422
        r = await desk.client.post(f"/api/flags/{flag.event_id}/reply", json={"text": "hi\x00"}, headers=mod)
        assert r.status_code == 422
