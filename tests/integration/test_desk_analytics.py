"""Analytics on SQLite and PostgreSQL: flags per label and platform in day and hour buckets, time to first
action (median and p90 per label and per severity, from the audit log), and SLA breaches per severity, for
flags and audit entries with known times; the page renders for a viewer, escaped, and needs a sign-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from triage_api.analytics.service import Bucket, Window, percentile, report
from triage_api.audit.models import AuditEvent
from triage_events import Label, Platform, Severity

from tests.builders import make_comment, make_flag
from tests.integration.desk_support import Desk, FakePublisher, make_app, running_desk

pytestmark = pytest.mark.integration

T0 = datetime(2025, 3, 10, tzinfo=UTC)  # a Monday, long past: every flag nobody acted on is past due
WINDOW = {"since": "2025-03-10T00:00:00Z", "until": "2025-03-13T00:00:00Z", "bucket": "day"}


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, second, tzinfo=UTC)


def flag(flagged: datetime, labels: list[Label], severity: Severity, platform: Platform) -> Any:
    comment = make_comment(text="Some comment <b>text</b>", platform=platform)
    return make_flag(comment=comment, labels=labels, severity=severity, occurred_at=flagged)


def audit(
    desk: Desk, flag_id: str, when: datetime, action: str, role: str = "moderator", **detail: Any
) -> None:
    actor = "system:router" if role == "system" else f"{role}-user"
    with desk.app.state.sessionmaker() as db, db.begin():
        db.add(AuditEvent(at=when, actor=actor, role=role, action=action, flag_id=flag_id, detail=detail))


def seed(desk: Desk) -> dict[str, str]:
    """Seven flags with known times and first actions (see each line); G is outside the window."""
    flags = {
        "A": flag(at(10, 9), [Label.HOSTILE], Severity.MEDIUM, Platform.FACEBOOK),
        "B": flag(at(10, 10), [Label.HOSTILE, Label.SPAM], Severity.LOW, Platform.INSTAGRAM),
        "C": flag(at(11, 8), [Label.URGENT], Severity.CRITICAL, Platform.FACEBOOK),
        "D": flag(at(11, 12), [Label.URGENT, Label.PRIVACY], Severity.CRITICAL, Platform.LINKEDIN),
        # raised from medium to high by a moderator (the severity column already says high)
        "E": flag(at(11, 23, 30), [Label.MISINFORMATION], Severity.HIGH, Platform.FACEBOOK),
        "F": flag(at(12, 6), [Label.HOSTILE], Severity.HIGH, Platform.FACEBOOK),
        "G": flag(at(13, 1), [Label.HOSTILE], Severity.LOW, Platform.FACEBOOK),
    }
    desk.add_flags(*flags.values())
    ids = {name: str(f.event_id) for name, f in flags.items()}
    # A: routed by the system, a note (not an action), then claimed after 2 min: 120 s, met (due 13:00).
    audit(desk, ids["A"], at(10, 9, 0, 1), "flag.routed", role="system", team="social")
    audit(desk, ids["A"], at(10, 9, 1), "flag.note")
    audit(desk, ids["A"], at(10, 9, 2), "flag.claimed", minutes=15)
    audit(desk, ids["A"], at(10, 9, 30), "flag.status", previous="new", status="dismissed")
    # B: dismissed after 10 min: 600 s, met (low: due a day later).
    audit(desk, ids["B"], at(10, 10, 10), "flag.status", previous="new", status="dismissed")
    # C: a reply requested after 7 min: 420 s, late (critical: due 08:05).
    audit(desk, ids["C"], at(11, 8, 7), "action.requested", kind="reply")
    # D: only the system's action result and label feedback: no first action, unanswered.
    audit(desk, ids["D"], at(11, 12, 1), "action.done", role="system", kind="hide")
    audit(desk, ids["D"], at(11, 12, 2), "flag.feedback", label="urgent", verdict="correct")
    # E: severity raised after 40 min: 2400 s, met against the medium target it arrived with (due 03:30).
    audit(desk, ids["E"], at(12, 0, 10), "flag.severity", previous="medium", severity="high")
    # F: assigned by a lead after an hour: 3600 s, late (high: due 06:30).
    audit(desk, ids["F"], at(12, 7), "flag.assigned", role="lead", assignee="moderator-user")
    # G: outside the window.
    audit(desk, ids["G"], at(13, 1, 1), "flag.status", previous="new", status="dismissed")
    return ids


def by_key(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["key"]: row for row in rows}


async def test_counts_first_action_times_and_sla_breaches_are_exact(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        seed(desk)
        r = await desk.client.get("/api/analytics", params=WINDOW, headers=desk.auth("viewer"))
        assert r.status_code == 200, r.text
        data = r.json()

    assert [datetime.fromisoformat(b) for b in data["buckets"]] == [T0, T0 + timedelta(1), T0 + timedelta(2)]
    assert data["total"] == 6
    assert {s["key"]: s["counts"] for s in data["by_label"]} == {
        "hostile": [2, 0, 1],
        "spam": [1, 0, 0],
        "urgent": [0, 2, 0],
        "privacy": [0, 1, 0],
        "misinformation": [0, 1, 0],
        "clinical_advice": [0, 0, 0],
    }
    assert by_key(data["by_label"])["hostile"]["total"] == 3
    assert {s["key"]: s["counts"] for s in data["by_platform"]} == {
        "facebook": [1, 2, 1],
        "instagram": [1, 0, 0],
        "linkedin": [0, 1, 0],
    }

    timing = {
        key: (row["flags"], row["acted"], row["median_seconds"], row["p90_seconds"])
        for key, row in by_key(data["first_action"]["by_label"]).items()
    }
    assert timing == {
        "hostile": (3, 3, 600.0, pytest.approx(3000.0)),  # 120, 600, 3600: p90 = 600 + 0.8 * 3000
        "spam": (1, 1, 600.0, 600.0),
        "urgent": (2, 1, 420.0, 420.0),
        "privacy": (1, 0, None, None),
        "misinformation": (1, 1, 2400.0, 2400.0),
        "clinical_advice": (0, 0, None, None),
    }
    severity = {
        key: (row["flags"], row["acted"], row["median_seconds"], row["p90_seconds"])
        for key, row in by_key(data["first_action"]["by_severity"]).items()
    }
    assert severity == {
        "critical": (2, 1, 420.0, 420.0),
        "high": (1, 1, 3600.0, 3600.0),
        "medium": (2, 2, 1260.0, pytest.approx(2172.0)),  # A 120 and E 2400 (E arrived as medium)
        "low": (1, 1, 600.0, 600.0),
    }
    sla = {
        row["severity"]: (
            row["flags"],
            row["met"],
            row["late"],
            row["unanswered"],
            row["pending"],
            row["breached"],
        )
        for row in data["sla"]
    }
    assert sla == {
        "critical": (2, 0, 1, 1, 0, 2),
        "high": (1, 0, 1, 0, 0, 1),
        "medium": (2, 2, 0, 0, 0, 0),
        "low": (1, 1, 0, 0, 0, 0),
    }
    assert [row["target_seconds"] for row in data["sla"]] == [300, 1800, 14400, 86400]


async def test_hour_buckets_and_flags_not_yet_due(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        ids = seed(desk)
        params = {"since": "2025-03-10T08:30:00Z", "until": "2025-03-10T11:00:00Z", "bucket": "hour"}
        data = (await desk.client.get("/api/analytics", params=params, headers=desk.auth("viewer"))).json()
        assert [datetime.fromisoformat(b) for b in data["buckets"]] == [at(10, 8), at(10, 9), at(10, 10)]
        assert by_key(data["by_label"])["hostile"]["counts"] == [0, 1, 1]
        assert by_key(data["by_label"])["spam"]["counts"] == [0, 0, 1]
        assert data["total"] == 2

        # Seen at 12:03 on the 11th, D (critical, flagged 12:00, nobody acted) is not due yet: pending.
        with desk.app.state.sessionmaker() as db:
            window = Window.of(at(11, 0), at(12, 0), Bucket.DAY, at(11, 12, 3))
            seen = report(db, window, at(11, 12, 3), desk.app.state.sla)
        critical = next(row for row in seen.sla if row.severity == "critical")
        assert (critical.flags, critical.late, critical.unanswered, critical.pending) == (2, 1, 0, 1)
        assert ids["D"]  # the flag behind the pending count


async def test_actions_through_the_api_count_and_notes_do_not(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        flagged = datetime.now(UTC) - timedelta(seconds=90)
        escalated = flag(flagged, [Label.HOSTILE], Severity.MEDIUM, Platform.FACEBOOK)
        noted = flag(flagged, [Label.SPAM], Severity.LOW, Platform.FACEBOOK)
        desk.add_flags(escalated, noted)
        moderator = desk.auth("moderator")
        assert (
            await desk.client.post(f"/api/flags/{escalated.event_id}/escalate", headers=moderator)
        ).is_success
        r = await desk.client.post(
            f"/api/flags/{noted.event_id}/notes", json={"body": "looking"}, headers=moderator
        )
        assert r.status_code == 201
        params = {"since": (flagged - timedelta(minutes=1)).isoformat(), "bucket": "hour"}
        data = (await desk.client.get("/api/analytics", params=params, headers=desk.auth("viewer"))).json()
    timing = by_key(data["first_action"]["by_label"])
    assert timing["hostile"]["acted"] == 1 and 90 <= timing["hostile"]["median_seconds"] < 150
    assert (timing["spam"]["flags"], timing["spam"]["acted"]) == (1, 0)
    medium = next(row for row in data["sla"] if row["severity"] == "medium")
    assert (medium["met"], medium["breached"]) == (1, 0)


async def test_acknowledged_alerts_count_and_relabelled_flags_keep_their_arrival_severity(
    database_url: str,
) -> None:
    """An alert acknowledgement is a first action; a flag a newer verdict relabelled (a system change) is
    judged against the severity it arrived with, and its own relabel and re-route are no first action."""
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        # H: arrived low, relabelled critical by the classifier a minute later; an alert about it is
        # acknowledged after 20 min: 1200 s, met against low's day (critical's 5 min would make it late).
        # I: high; an alert acknowledged after 10 min (600 s, met), claimed after 50 min (late, if it counted).
        flags = {
            "H": flag(at(10, 9), [Label.URGENT, Label.HOSTILE], Severity.CRITICAL, Platform.FACEBOOK),
            "I": flag(at(11, 9), [Label.PRIVACY], Severity.HIGH, Platform.INSTAGRAM),
        }
        desk.add_flags(*flags.values())
        ids = {name: str(f.event_id) for name, f in flags.items()}
        previous = {"labels": ["hostile"], "severity": "low", "model_version": "test-1"}
        audit(desk, ids["H"], at(10, 9, 1), "flag.relabelled", role="system", previous=previous)
        audit(desk, ids["H"], at(10, 9, 1), "flag.rerouted", role="system", reason="classifier")
        audit(desk, ids["H"], at(10, 9, 20), "alert.acknowledged", alert_id="a1", kind="urgent_comment")
        audit(desk, ids["I"], at(11, 9, 10), "alert.acknowledged", alert_id="a2", kind="privacy_exposure")
        audit(desk, ids["I"], at(11, 9, 50), "flag.claimed", minutes=15)
        data = (await desk.client.get("/api/analytics", params=WINDOW, headers=desk.auth("viewer"))).json()
    timing = by_key(data["first_action"]["by_severity"])
    assert (timing["low"]["acted"], timing["low"]["median_seconds"]) == (1, 1200)
    assert (timing["high"]["acted"], timing["high"]["median_seconds"]) == (1, 600)
    assert timing["critical"]["flags"] == 0
    sla = {row["severity"]: (row["flags"], row["met"], row["late"]) for row in data["sla"]}
    assert sla["low"] == (1, 1, 0) and sla["high"] == (1, 1, 0) and sla["critical"] == (0, 0, 0)
    assert by_key(data["first_action"]["by_label"])["urgent"]["median_seconds"] == 1200


async def test_bad_windows_are_422(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        viewer = desk.auth("viewer")
        backwards = {"since": "2025-03-12T00:00:00Z", "until": "2025-03-10T00:00:00Z"}
        assert (await desk.client.get("/api/analytics", params=backwards, headers=viewer)).status_code == 422
        too_many = {"since": "2020-01-01T00:00:00Z", "until": "2025-01-01T00:00:00Z", "bucket": "hour"}
        r = await desk.client.get("/api/analytics", params=too_many, headers=viewer)
        [issue] = r.json()["detail"]  # a list, like every validation error, at the parameter at fault
        assert r.status_code == 422 and "buckets" in issue["msg"] and issue["loc"] == ["query", "bucket"]
        assert (
            await desk.client.get("/api/analytics", params={"bucket": "week"}, headers=viewer)
        ).status_code == 422
        # a Unix time or a bare date is not the ISO date and time the schema declares; nor is year 1
        for bad in ({"until": "1700000000"}, {"since": "2025-03-10"}, {"until": "0001-01-01T00:00:00Z"}):
            r = await desk.client.get("/api/analytics", params=bad, headers=viewer)
            assert r.status_code == 422, (bad, r.text)
            assert r.json()["detail"][0]["loc"] == ["query", *bad]
        assert (await desk.client.get("/api/analytics")).status_code == 401


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([], 0.5) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([3600.0, 120.0, 600.0], 0.5) == 600.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([10.0, 20.0], 0.9) == pytest.approx(19.0)


async def test_the_page_renders_for_a_viewer_and_links_from_the_nav(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        seed(desk)
        viewer = desk.auth("viewer")
        params = {"from": "2025-03-10", "to": "2025-03-12"}
        r = await desk.client.get("/analytics", params=params, headers=viewer)
        assert r.status_code == 200
        html = r.text
        assert 'data-total="6"' in html
        assert '<li data-key="hostile">' in html and '<strong class="series-total">3</strong>' in html
        assert html.count('class="fill-hostile"') >= 3  # two columns and the legend swatch
        # time to first action, per label: hostile median 10m 0s, p90 50m 0s
        by_label = html.split('id="first-action-label"', 1)[1].split("</table>", 1)[0]
        hostile = by_label.split('<tr data-key="hostile">', 1)[1].split("</tr>", 1)[0]
        assert '<td class="median">10m 0s</td><td class="p90">50m 0s</td>' in hostile
        assert '<tr data-severity="critical">' in html
        critical = html.split('<tr data-severity="critical">', 1)[1].split("</tr>", 1)[0]
        assert '<td class="late">1</td>' in critical and '<td class="breached">2</td>' in critical
        assert "Some comment" not in html and "<b>text</b>" not in html  # no comment text on this page
        queue = (await desk.client.get("/", headers=viewer)).text
        assert '<a href="/analytics">Analytics</a>' in queue
        bad = await desk.client.get(
            "/analytics", params={"from": "2025-03-12", "to": "2025-03-01"}, headers=viewer
        )
        assert bad.status_code == 422 and "since must be before until" in bad.text
        anonymous = await desk.client.get("/analytics")
        assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login"
