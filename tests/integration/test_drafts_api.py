"""Drafts through the real app (SQLite and PostgreSQL): the check with spans, guidance and fixes; review
before publishing (findings need a lead, an edit voids an approval); publishing as a `post` request through
the outbox; ingest's answer applied once; the whole story in the audit log; and the reply path running the
same check (PHI blocks, other findings wait for a lead)."""

from __future__ import annotations

import pytest
from triage_api.actions import apply_completions
from triage_events import ActionCompleted, ActionKind, ActionStatus, Label, Platform

from tests.builders import make_comment, make_flag
from tests.integration.desk_support import FakePublisher, desk_with_flag, make_app, running_desk

pytestmark = pytest.mark.integration

STORY = "Our patient in room 5, a 72-year-old grandmother, went home yesterday after heart surgery."
FIXED = "A patient of ours went home after heart surgery, and shared her thanks with our team."


async def test_check_returns_findings_with_spans_guidance_and_fixes(database_url: str) -> None:
    async with running_desk(make_app(database_url)) as desk:
        body = {
            "text": "You should stop taking your metoprolol. Turmeric cures arthritis!",
            "platform": "facebook",
            "caption": "Maria Lopez after her visit",
            "sponsored": True,
            "sponsor": "Acme Pharma",
        }
        r = await desk.client.post("/api/drafts/check", json=body, headers=desk.auth("moderator"))
        assert r.status_code == 200, r.text
        findings = r.json()["findings"]
        kinds = {f["kind"] for f in findings}
        assert kinds == {"clinical_advice", "health_claim", "sponsorship", "patient_identifier"}
        advice = next(f for f in findings if f["kind"] == "clinical_advice")
        assert body["text"][advice["start"] : advice["end"]] == "You should stop taking your metoprolol"
        assert "ACP/FSMB Online Medical Professionalism (2013)" in advice["guidelines"]
        assert advice["fix"]
        caption = next(f for f in findings if f["field"] == "caption")
        assert body["caption"][caption["start"] : caption["end"]] == "Maria Lopez"
        sponsor = next(f for f in findings if f["kind"] == "sponsorship")
        assert "FTC Endorsement Guides (16 CFR Part 255)" in sponsor["guidelines"]
        assert r.json()["needs_approval"] is True

        clean = {
            "text": "Flu shots are available at all our clinics this week: https://brightwater.example/flu"
        }
        r = await desk.client.post("/api/drafts/check", json=clean, headers=desk.auth("moderator"))
        assert r.json() == {"findings": [], "needs_approval": False}

        # The PHI guard's normalisation: a zero-width space does not hide a record number.
        r = await desk.client.post(
            "/api/drafts/check",
            json={"text": "Patient M\u200bRN 44817263 is doing well"},
            headers=desk.auth("moderator"),
        )
        assert "phi" in {f["kind"] for f in r.json()["findings"]}

        for bad, status in (({"text": ""}, 422), ({"text": "x", "platform": "myspace"}, 422), ({}, 422)):
            r = await desk.client.post("/api/drafts/check", json=bad, headers=desk.auth("moderator"))
            assert r.status_code == status, (bad, r.text)
        r = await desk.client.post("/api/drafts/check", json=clean, headers=desk.auth("viewer"))
        assert r.status_code == 403
        audit = (
            await desk.client.get(
                "/api/audit", params={"action": "draft.checked"}, headers=desk.auth("viewer")
            )
        ).json()
        assert audit["total"] == 3  # the three valid checks; never the text
        assert all(
            "text" not in e["detail"] and len(e["detail"]["content_sha256"]) == 64 for e in audit["items"]
        )


async def test_review_approval_publish_and_audit(database_url: str) -> None:
    publisher = FakePublisher()
    async with running_desk(make_app(database_url, publisher)) as desk:
        r = await desk.client.post("/api/drafts", json={"text": STORY}, headers=desk.auth("moderator"))
        assert r.status_code == 201, r.text
        draft = r.json()
        did = draft["id"]
        assert draft["needs_approval"] and draft["status"] == "draft"
        assert {f["rule"] for f in draft["findings"]} >= {"room", "age", "date"}

        r = await desk.client.post(f"/api/drafts/{did}/publish", headers=desk.auth("moderator"))
        assert r.status_code == 409 and r.json()["reasons"], r.text
        assert publisher.sent == []
        r = await desk.client.post(f"/api/drafts/{did}/approve", headers=desk.auth("moderator"))
        assert r.status_code == 403

        approved = (await desk.client.post(f"/api/drafts/{did}/approve", headers=desk.auth("lead"))).json()
        assert approved["approved_by"] == "lead-user" and not approved["needs_approval"]
        # An edit voids the approval while findings remain ...
        edited = STORY.replace("room 5", "room 7")
        r = await desk.client.put(f"/api/drafts/{did}", json={"text": edited}, headers=desk.auth("moderator"))
        assert r.json()["needs_approval"] and r.json()["approved_by"] is None
        # ... and an edit that clears them needs no approval.
        r = await desk.client.put(f"/api/drafts/{did}", json={"text": FIXED}, headers=desk.auth("moderator"))
        assert r.json()["findings"] == [] and not r.json()["needs_approval"]

        r = await desk.client.post(f"/api/drafts/{did}/publish", headers=desk.auth("moderator"))
        assert r.status_code == 202, r.text
        assert r.json()["status"] == "publishing"
        [event] = publisher.sent
        assert event.action is ActionKind.POST and event.text == FIXED
        assert event.comment_key == f"draft:{did}" and event.platform is Platform.FACEBOOK
        r = await desk.client.post(f"/api/drafts/{did}/publish", headers=desk.auth("moderator"))
        assert r.status_code == 409  # sent once
        r = await desk.client.put(
            f"/api/drafts/{did}", json={"text": "changed"}, headers=desk.auth("moderator")
        )
        assert r.status_code == 409

        done = ActionCompleted(
            request_id=event.event_id,
            action=ActionKind.POST,
            comment_key=event.comment_key,
            status=ActionStatus.DRY_RUN,
        )
        factory = desk.app.state.sessionmaker
        assert apply_completions(factory, [done]) == 1
        assert apply_completions(factory, [done]) == 0  # redelivered: applied once
        assert (await desk.client.get(f"/api/drafts/{did}", headers=desk.auth("viewer"))).json()[
            "status"
        ] == "dry_run"

        history = (await desk.client.get(f"/api/drafts/{did}/audit", headers=desk.auth("viewer"))).json()
        actions = [e["action"] for e in history]
        assert actions == [
            "draft.saved",
            "draft.approved",
            "draft.saved",
            "draft.saved",
            "draft.published",
            "draft.post_dry_run",
        ]
        published = history[4]["detail"]
        assert published["text"] == FIXED and published["action_id"] == str(event.event_id)
        assert all("text" not in e["detail"] for e in history if e["action"] != "draft.published")
        assert history[0]["detail"]["findings"]["patient_identifier"] >= 3


async def test_a_lead_publishes_a_draft_with_findings_by_approving_it(database_url: str) -> None:
    publisher = FakePublisher()
    async with running_desk(make_app(database_url, publisher)) as desk:
        text = "We believe the new bill is a mistake."
        did = (
            await desk.client.post("/api/drafts", json={"text": text}, headers=desk.auth("moderator"))
        ).json()["id"]
        r = await desk.client.post(f"/api/drafts/{did}/publish", headers=desk.auth("lead"))
        assert r.status_code == 202 and r.json()["approved_by"] == "lead-user"
        assert [e.text for e in publisher.sent] == [text]
        other = await desk.client.post(
            "/api/drafts", json={"text": "Hello", "platform": "instagram"}, headers=desk.auth("moderator")
        )
        r = await desk.client.post(f"/api/drafts/{other.json()['id']}/publish", headers=desk.auth("lead"))
        assert r.status_code == 422 and "instagram" in r.json()["detail"]
        r = await desk.client.get("/api/drafts/not-a-draft", headers=desk.auth("viewer"))
        assert r.status_code == 404


async def test_replies_run_the_same_check(database_url: str) -> None:
    flag = make_flag(
        comment=make_comment(text="Should I keep taking my metformin?"), labels=[Label.CLINICAL_ADVICE]
    )
    async with desk_with_flag(database_url, flag) as (desk, publisher):
        fid = str(flag.event_id)
        # PHI still blocks, and the moderator sees every finding beside it.
        r = await desk.reply(fid, {"text": "You should stop taking your metformin, Nurse Lopez says."})
        assert r.status_code == 422
        reasons = r.json()["reasons"]
        assert any(x.startswith("names a member of staff") for x in reasons)
        assert any(x.startswith("Individual clinical advice") for x in reasons)
        # Advice without PHI waits for a lead.
        r = await desk.reply(fid, {"text": "I think you should double the dose."})
        assert r.status_code == 202 and r.json()["status"] == "pending_approval", r.text
        assert publisher.sent == []
        shown = (await desk.client.get(f"/api/flags/{fid}", headers=desk.auth("viewer"))).json()
        assert "draft check: clinical_advice, personal_opinion" in shown["last_action"]
        r = await desk.client.post(f"/api/actions/{r.json()['id']}/approve", headers=desk.auth("lead"))
        assert r.status_code == 202 and len(publisher.sent) == 1
        # A clean reply goes straight out.
        r = await desk.reply(
            fid, {"text": "We can't give medical advice here; please call our nurse line at 1-800-555-0100."}
        )
        assert r.status_code == 202 and r.json()["status"] == "requested", r.text
