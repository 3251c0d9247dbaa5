"""OIDC sign-in (authorization code flow with PKCE, state and nonce) against one configured provider.

The provider is found through `/.well-known/openid-configuration` (its `issuer` must equal the configured
one); its JWKS is fetched and cached, and fetched again once when a token names an unknown key (rotation).
An ID token is accepted only when it is RS256-signed by a key of that set and its `iss`, `aud` (and `azp`
when there are several audiences), `exp`, `iat` and `nonce` are right. The staff account is then found by
e-mail, linked, or created without a password, and the ordinary session cookie is issued by the view.

Tokens, codes, verifiers and the client secret are never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import jwt
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from triage_api.audit import service as audit
from triage_api.config import ApiSettings
from triage_api.staff.models import Role, User
from triage_api.staff.service import create_user

log = logging.getLogger(__name__)

FLOW_COOKIE = "triage_oidc"
FLOW_COOKIE_PATH = "/login/sso"
FLOW_SECONDS = 600
CLOCK_SKEW_SECONDS = 60
_JWKS_REFRESH_FLOOR_SECONDS = 30.0  # an unknown `kid` refetches the JWKS at most this often


class OidcError(Exception):
    """A sign-in that must not go on; `message` is safe to show (no tokens, no claims beyond the e-mail)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


@dataclass(frozen=True)
class Flow:
    """What the browser keeps (in a short-lived HttpOnly cookie) between the redirect and the callback."""

    state: str
    nonce: str
    verifier: str

    @classmethod
    def new(cls) -> Flow:
        return cls(secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48))

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def cookie(self) -> str:
        return ".".join((self.state, self.nonce, self.verifier))

    @classmethod
    def from_cookie(cls, value: str | None) -> Flow | None:
        parts = (value or "").split(".")
        if len(parts) != 3 or not all(parts):
            return None
        return cls(*parts)


@dataclass(frozen=True)
class Identity:
    email: str
    name: str
    role: Role


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    token_auth_methods: tuple[str, ...]


class OidcClient:
    def __init__(self, settings: ApiSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        if not settings.oidc_issuer or not settings.oidc_client_id:
            raise ValueError("OIDC needs an issuer URL and a client id")
        if not settings.oidc_allowed_domains and not settings.oidc_role_claims:
            raise ValueError("OIDC needs allowed e-mail domains or a claim-to-role mapping (or both)")
        self.issuer = settings.oidc_issuer
        self.client_id = settings.oidc_client_id
        self._secret = _client_secret(settings)
        self.scopes = settings.oidc_scopes
        self.redirect_url = settings.oidc_redirect_url
        self.button_label = settings.oidc_button_label
        self.default_role = Role(settings.oidc_default_role)
        self.allowed_domains = {d.strip().lower().lstrip("@") for d in settings.oidc_allowed_domains if d}
        self.role_claims = _parse_role_claims(settings.oidc_role_claims)
        self._cache_seconds = settings.oidc_jwks_cache_seconds
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=settings.oidc_http_timeout_seconds,
            headers={"User-Agent": "triage-api-oidc/1", "Accept": "application/json"},
            follow_redirects=False,
        )
        self._metadata: tuple[float, ProviderMetadata] | None = None
        self._jwks: tuple[float, dict[str, jwt.PyJWK]] | None = None

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- provider documents ---------------------------------------------------------------------------

    async def metadata(self) -> ProviderMetadata:
        if self._metadata is not None and time.monotonic() - self._metadata[0] < self._cache_seconds:
            return self._metadata[1]
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        doc = await self._get_json(url, "discovery document")
        if doc.get("issuer") != self.issuer:
            raise OidcError(502, "the identity provider's discovery document names another issuer")
        try:
            meta = ProviderMetadata(
                issuer=doc["issuer"],
                authorization_endpoint=str(doc["authorization_endpoint"]),
                token_endpoint=str(doc["token_endpoint"]),
                jwks_uri=str(doc["jwks_uri"]),
                token_auth_methods=tuple(
                    doc.get("token_endpoint_auth_methods_supported") or ("client_secret_basic",)
                ),
            )
        except KeyError as exc:
            raise OidcError(502, "the identity provider's discovery document is incomplete") from exc
        self._metadata = (time.monotonic(), meta)
        return meta

    async def _keys(self, refresh: bool = False) -> dict[str, jwt.PyJWK]:
        cached = self._jwks
        age = time.monotonic() - cached[0] if cached is not None else None
        if cached is not None and age is not None:
            if not refresh and age < self._cache_seconds:
                return cached[1]
            if refresh and age < _JWKS_REFRESH_FLOOR_SECONDS:
                return cached[1]
        meta = await self.metadata()
        doc = await self._get_json(meta.jwks_uri, "key set")
        keys: dict[str, jwt.PyJWK] = {}
        for raw in doc.get("keys") or []:
            if not isinstance(raw, dict) or raw.get("kty") != "RSA" or raw.get("use", "sig") != "sig":
                continue
            try:
                key = jwt.PyJWK(raw, algorithm="RS256")
            except jwt.PyJWTError:
                continue  # a key we can't use (another algorithm, malformed) is skipped, not fatal
            keys[str(raw.get("kid", ""))] = key
        self._jwks = (time.monotonic(), keys)
        return keys

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            response = await self._http.get(url)
            response.raise_for_status()
            doc = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("OIDC %s unavailable error=%s", what, type(exc).__name__)
            raise OidcError(502, f"the identity provider's {what} could not be fetched") from exc
        if not isinstance(doc, dict):
            raise OidcError(502, f"the identity provider's {what} is malformed")
        return doc

    # --- the flow -------------------------------------------------------------------------------------

    async def authorization_url(self, flow: Flow, redirect_uri: str) -> str:
        meta = await self.metadata()
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "scope": self.scopes,
                "state": flow.state,
                "nonce": flow.nonce,
                "code_challenge": flow.challenge,
                "code_challenge_method": "S256",
            }
        )
        separator = "&" if "?" in meta.authorization_endpoint else "?"
        return f"{meta.authorization_endpoint}{separator}{query}"

    async def exchange(self, code: str, flow: Flow, redirect_uri: str) -> dict[str, Any]:
        """Redeem the code (with the PKCE verifier) and return the validated ID token's claims."""
        meta = await self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": flow.verifier,
            "client_id": self.client_id,
        }
        headers: dict[str, str] = {}
        if self._secret is not None:
            if "client_secret_basic" in meta.token_auth_methods or "client_secret_post" not in (
                meta.token_auth_methods
            ):
                # RFC 6749 2.3.1: both parts form-encoded before the Basic encoding.
                pair = f"{quote(self.client_id, safe='')}:{quote(self._secret, safe='')}"
                headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
            else:
                form["client_secret"] = self._secret
        try:
            response = await self._http.post(meta.token_endpoint, data=form, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("OIDC token endpoint unavailable error=%s", type(exc).__name__)
            raise OidcError(502, "the identity provider did not answer; try again") from exc
        if response.status_code != 200:
            log.warning("OIDC token endpoint refused the code status=%d", response.status_code)
            raise OidcError(401, "the identity provider refused the sign-in; start again")
        try:
            body = response.json()
            id_token = body["id_token"]
        except (ValueError, KeyError, TypeError) as exc:
            raise OidcError(502, "the identity provider's answer had no ID token") from exc
        if not isinstance(id_token, str):
            raise OidcError(502, "the identity provider's answer had no ID token")
        return await self.validate_id_token(id_token, flow.nonce)

    async def validate_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError as exc:
            raise OidcError(401, "the ID token is malformed") from exc
        if header.get("alg") != "RS256":
            raise OidcError(401, "the ID token is not signed with RS256")
        kid = str(header.get("kid", ""))
        keys = await self._keys()
        key = _pick(keys, kid)
        if key is None:
            key = _pick(await self._keys(refresh=True), kid)  # the provider may have rotated its keys
        if key is None:
            raise OidcError(401, "the ID token is signed with an unknown key")
        meta = await self.metadata()
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key=key,
                algorithms=["RS256"],
                audience=self.client_id,
                issuer=meta.issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise OidcError(401, "the ID token has expired; sign in again") from exc
        except jwt.InvalidAudienceError as exc:
            raise OidcError(401, "the ID token was issued for another application") from exc
        except jwt.InvalidIssuerError as exc:
            raise OidcError(401, "the ID token was issued by another provider") from exc
        except jwt.InvalidSignatureError as exc:
            raise OidcError(401, "the ID token's signature is not valid") from exc
        except jwt.PyJWTError as exc:
            raise OidcError(401, f"the ID token is not valid ({type(exc).__name__})") from exc
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise OidcError(401, "the ID token was issued for another application")
        token_nonce = claims.get("nonce")
        if not isinstance(token_nonce, str) or not hmac.compare_digest(token_nonce, nonce):
            raise OidcError(401, "the ID token does not belong to this sign-in (nonce)")
        return claims

    # --- who may sign in, as what -----------------------------------------------------------------------

    def identity(self, claims: dict[str, Any]) -> Identity:
        email = claims.get("email")
        if not isinstance(email, str) or "@" not in email or len(email) > 320:
            raise OidcError(403, "the identity provider did not share an e-mail address")
        if claims.get("email_verified") is False:
            raise OidcError(403, "the e-mail address is not verified at the identity provider")
        email = email.strip().lower()
        mapped = [role for claim, value, role in self.role_claims if _claim_has(claims, claim, value)]
        domain = email.rsplit("@", 1)[1]
        if domain not in self.allowed_domains and not mapped:
            raise OidcError(403, "this account is not allowed to sign in to Triage")
        role = max(mapped, key=lambda r: r.rank) if mapped else self.default_role
        name = claims.get("name")
        return Identity(email, name if isinstance(name, str) and name.strip() else email, role)


def link_or_create(db: Session, identity: Identity) -> User:
    """The staff account for this e-mail: the one linked to it, else a local account whose username is the
    e-mail (now linked), else a new one without a password. An existing account keeps its role."""
    user = db.scalar(select(User).where(User.email == identity.email))
    if user is None:
        user = db.scalar(select(User).where(func.lower(User.username) == identity.email))
        if user is not None:
            if user.email is not None:  # linked to another address already: an admin decides
                raise OidcError(409, "a staff account with this username is linked to another address")
            user.email = identity.email
            audit.record(db, user.username, user.role, "staff.sso_linked", email=identity.email)
    if user is None:
        username = _username_for(db, identity.email)
        user = create_user(db, username, None, identity.role, display_name=identity.name[:128])
        user.email = identity.email
        audit.record(db, username, user.role, "staff.sso_created", email=identity.email)
        log.info("staff account created on first SSO sign-in username=%s role=%s", username, user.role)
    if not user.active:
        raise OidcError(403, "this staff account is deactivated")
    return user


def _username_for(db: Session, email: str) -> str:
    base = email if len(email) <= 64 else email[:55] + "-" + hashlib.sha256(email.encode()).hexdigest()[:8]
    if db.scalar(select(User.id).where(User.username == base)) is None:
        return base
    raise OidcError(409, "a staff account with this username already exists; ask an administrator")


def _pick(keys: dict[str, jwt.PyJWK], kid: str) -> jwt.PyJWK | None:
    if kid:
        return keys.get(kid)
    return next(iter(keys.values())) if len(keys) == 1 else None  # no kid: only an unambiguous set


def _claim_has(claims: dict[str, Any], claim: str, value: str) -> bool:
    found = claims.get(claim)
    if isinstance(found, list):
        return value in [str(v) for v in found]
    return found is not None and str(found) == value


def _parse_role_claims(mapping: dict[str, str]) -> list[tuple[str, str, Role]]:
    parsed = []
    for key, role in mapping.items():
        claim, sep, value = key.partition("=")
        if not sep or not claim or not value:
            raise ValueError(f"an OIDC role mapping must look like 'claim=value', not {key!r}")
        parsed.append((claim.strip(), value.strip(), Role(role)))
    return parsed


def _client_secret(settings: ApiSettings) -> str | None:
    if settings.oidc_client_secret is not None:
        return settings.oidc_client_secret.get_secret_value()
    if settings.oidc_client_secret_file is not None:
        return settings.oidc_client_secret_file.read_text().strip()
    return None


__all__ = [
    "FLOW_COOKIE",
    "FLOW_COOKIE_PATH",
    "FLOW_SECONDS",
    "Flow",
    "Identity",
    "OidcClient",
    "OidcError",
    "link_or_create",
]
