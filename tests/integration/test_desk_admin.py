"""Admin routes on SQLite and PostgreSQL: staff accounts with hashed passwords, role changes, deactivation,
and API tokens shown once and stored hashed; each change is in the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from triage_api.staff.models import ApiToken, User

from tests.integration.desk_support import FakePublisher, make_app, running_desk

pytestmark = pytest.mark.integration


async def test_admin_manages_users_and_tokens(database_url: str) -> None:
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        admin = desk.auth("admin")
        body = {"username": "nina", "password": "a long enough password", "role": "moderator"}
        assert (await desk.client.post("/api/users", json=body, headers=desk.auth("lead"))).status_code == 403
        r = await desk.client.post("/api/users", json=body, headers=admin)
        assert r.status_code == 201 and r.json()["role"] == "moderator"
        assert (await desk.client.post("/api/users", json=body, headers=admin)).status_code == 409
        short = {**body, "username": "short", "password": "short"}
        assert (await desk.client.post("/api/users", json=short, headers=admin)).status_code == 422
        with desk.app.state.sessionmaker() as db:
            stored = db.scalar(select(User.password_hash).where(User.username == "nina"))
        assert stored and stored.startswith("scrypt$") and "a long enough password" not in stored

        r = await desk.client.post("/api/tokens", json={"username": "nina", "name": "script"}, headers=admin)
        assert r.status_code == 201
        token, token_id = r.json()["token"], r.json()["id"]
        nina = {"Authorization": f"Bearer {token}"}
        assert (await desk.client.get("/api/flags", headers=nina)).status_code == 200
        with desk.app.state.sessionmaker() as db:
            hashes = db.scalars(select(ApiToken.token_hash)).all()
        assert token not in hashes
        assert all("token" not in t for t in (await desk.client.get("/api/tokens", headers=admin)).json())

        r = await desk.client.patch("/api/users/nina", json={"role": "viewer"}, headers=admin)
        assert r.json()["role"] == "viewer"
        # A role change ends the user's tokens: a new one carries the new role.
        assert (await desk.client.get("/api/flags", headers=nina)).status_code == 401
        r = await desk.client.post("/api/tokens", json={"username": "nina", "name": "script"}, headers=admin)
        token_id, nina = r.json()["id"], {"Authorization": f"Bearer {r.json()['token']}"}
        assert (await desk.client.post("/api/flags/x/claim", headers=nina)).status_code == 403
        assert (await desk.client.delete(f"/api/tokens/{token_id}", headers=admin)).status_code == 204
        assert (await desk.client.delete(f"/api/tokens/{token_id}", headers=admin)).status_code == 404
        assert (await desk.client.get("/api/flags", headers=nina)).status_code == 401
        await desk.client.patch("/api/users/nina", json={"active": False}, headers=admin)

        audit = (await desk.client.get("/api/audit", params={"actor": "admin-user"}, headers=admin)).json()
        assert [e["action"] for e in reversed(audit["items"])] == [
            "user.created",
            "token.issued",
            "user.updated",
            "token.issued",
            "token.revoked",
            "user.updated",
        ]
