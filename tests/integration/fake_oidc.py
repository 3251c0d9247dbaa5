"""A fake OpenID Connect provider: a real HTTP server on 127.0.0.1 (a thread) with discovery, an authorize
endpoint that signs the user in at once and redirects back with a code, a token endpoint that checks the
client's credentials, the redirect URI and the PKCE verifier, and a JWKS with a generated RSA key.

`tamper` changes the next ID tokens to exercise the client's checks (wrong nonce, audience, expiry, a
signature by another key); `claims` sets the signed-in person's claims."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes.server import serve_handler

CLIENT_ID = "triage-dashboard"
CLIENT_SECRET = "fake-client-secret-8c1f"
KID = "fake-key-1"


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str


@dataclass
class FakeProvider:
    claims: dict[str, Any] = field(
        default_factory=lambda: {
            "sub": "user-1",
            "email": "Dana.Reyes@example-health.org",
            "email_verified": True,
            "name": "Dana Reyes",
        }
    )
    tamper: dict[str, Any] = field(default_factory=dict)
    token_requests: int = 0
    issuer: str = ""

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.grants: dict[str, Grant] = {}

    # --- lifecycle ----------------------------------------------------------------------------------

    @contextmanager
    def serving(self) -> Iterator[FakeProvider]:
        """The provider on a free port of 127.0.0.1 (its `issuer` says where) for the length of the block."""
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_GET(self) -> None:
                provider._get(self)

            def do_POST(self) -> None:
                provider._post(self)

        with serve_handler(Handler, "fake-oidc") as port:
            self.issuer = f"http://127.0.0.1:{port}/realm"
            yield self

    # --- endpoints ----------------------------------------------------------------------------------

    def _get(self, request: BaseHTTPRequestHandler) -> None:
        url = urlparse(request.path)
        if url.path == "/realm/.well-known/openid-configuration":
            base = self.issuer
            _json(
                request,
                200,
                {
                    "issuer": self.tamper.get("discovery_issuer", base),
                    "authorization_endpoint": f"{base}/authorize",
                    "token_endpoint": f"{base}/token",
                    "jwks_uri": f"{base}/jwks",
                    "response_types_supported": ["code"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "code_challenge_methods_supported": ["S256"],
                    "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                },
            )
        elif url.path == "/realm/jwks":
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
            _json(request, 200, {"keys": [{**jwk, "kid": KID, "use": "sig", "alg": "RS256"}]})
        elif url.path == "/realm/authorize":
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            required = ("response_type", "client_id", "redirect_uri", "state", "nonce", "code_challenge")
            if any(not query.get(k) for k in required) or query.get("code_challenge_method") != "S256":
                _json(request, 400, {"error": "invalid_request"})
                return
            code = secrets.token_urlsafe(16)
            self.grants[code] = Grant(
                query["client_id"], query["redirect_uri"], query["code_challenge"], query["nonce"]
            )
            back = {"code": code, "state": query["state"]}
            request.send_response(302)
            request.send_header("Location", f"{query['redirect_uri']}?{urlencode(back)}")
            request.end_headers()
        else:
            _json(request, 404, {"error": "not_found"})

    def _post(self, request: BaseHTTPRequestHandler) -> None:
        if urlparse(request.path).path != "/realm/token":
            _json(request, 404, {"error": "not_found"})
            return
        self.token_requests += 1
        length = int(request.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(request.rfile.read(length).decode()).items()}
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            _json(request, 401, {"error": "invalid_client"})
            return
        grant = self.grants.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if (
            grant is None
            or form.get("grant_type") != "authorization_code"
            or form.get("redirect_uri") != grant.redirect_uri
            or challenge != grant.challenge
        ):
            _json(request, 400, {"error": "invalid_grant"})
            return
        _json(
            request, 200, {"access_token": "opaque", "token_type": "Bearer", "id_token": self.id_token(grant)}
        )

    def id_token(self, grant: Grant) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.tamper.get("aud", grant.client_id),
            "iat": now,
            "exp": now + int(self.tamper.get("exp_in", 300)),
            "nonce": self.tamper.get("nonce", grant.nonce),
            **self.claims,
        }
        key = self.other_key if self.tamper.get("bad_signature") else self.key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID})


def _json(request: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    request.send_response(status)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(data)))
    request.end_headers()
    request.wfile.write(data)
