"""Security headers on every response, set by the `secure` library's ASGI middleware (a well-kept library
with builders for each header, rather than header strings written here).

The desk's policy: scripts, styles, images and connections from the API's own origin only (the pages have no
inline script, no `on*` attribute and no `style` attribute: their code is in `dashboard/static/`), no plugins,
no `<base>`, forms posting only to the API itself, and no framing at all (`frame-ancestors 'none'` and
`X-Frame-Options: DENY`); `nosniff`; the referrer reduced to the origin when leaving it; HSTS when the API is
served over HTTPS (`secure_cookies`).

The OpenAPI pages (`/docs`, `/redoc`) are FastAPI's Swagger UI and ReDoc: their code comes from a CDN and
starts with an inline script. They get their own policy allowing that CDN and inline scripts, and nothing
else differs (no framing, forms to the origin only). Nothing from a request is written into those pages, so
the inline allowance opens no door for injected markup; the desk's pages never get it.
"""

from __future__ import annotations

from typing import cast

from secure import (
    ContentSecurityPolicy,
    CrossOriginOpenerPolicy,
    PermissionsPolicy,
    ReferrerPolicy,
    Secure,
    StrictTransportSecurity,
    XContentTypeOptions,
    XFrameOptions,
)
from secure.middleware import SecureASGIMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

SELF, NONE = "'self'", "'none'"
DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_PATHS = ("/docs", "/redoc")
HSTS_SECONDS = 365 * 24 * 3600


def desk_policy() -> ContentSecurityPolicy:
    return (
        ContentSecurityPolicy()
        .default_src(SELF)
        .script_src(SELF)
        .script_src_attr(NONE)
        .style_src(SELF)
        .img_src(SELF)
        .connect_src(SELF)
        .font_src(SELF)
        .object_src(NONE)
        .base_uri(NONE)
        .form_action(SELF)
        .frame_ancestors(NONE)
    )


def docs_policy() -> ContentSecurityPolicy:
    return (
        ContentSecurityPolicy()
        .default_src(SELF)
        .script_src(SELF, DOCS_CDN, "'unsafe-inline'")
        .worker_src(SELF, "blob:")
        .style_src(SELF, DOCS_CDN, "https://fonts.googleapis.com", "'unsafe-inline'")
        .img_src(SELF, "data:", "https://fastapi.tiangolo.com", "https://cdn.redoc.ly")
        .font_src(SELF, "https://fonts.gstatic.com")
        .connect_src(SELF)
        .object_src(NONE)
        .base_uri(NONE)
        .form_action(SELF)
        .frame_ancestors(NONE)
    )


def policy(csp: ContentSecurityPolicy, https: bool) -> Secure:
    """Every header but the CSP is the same on every page."""
    return Secure(
        csp=csp,
        xfo=XFrameOptions().deny(),
        xcto=XContentTypeOptions(),
        referrer=ReferrerPolicy().strict_origin_when_cross_origin(),
        coop=CrossOriginOpenerPolicy().same_origin(),
        permissions=PermissionsPolicy().geolocation().camera().microphone().payment(),
        hsts=StrictTransportSecurity().max_age(HSTS_SECONDS) if https else None,
    )


class SecurityHeaders:
    """The desk's headers on every response, the docs' on the OpenAPI pages (two `SecureASGIMiddleware`
    around the same app, chosen by path)."""

    def __init__(self, app: ASGIApp, https: bool = False) -> None:
        # cast: the library types ASGI messages as plain objects, Starlette as mappings
        self.desk = cast(ASGIApp, SecureASGIMiddleware(app, secure=policy(desk_policy(), https)))
        self.docs = cast(ASGIApp, SecureASGIMiddleware(app, secure=policy(docs_policy(), https)))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(DOCS_PATHS):
            await self.docs(scope, receive, send)
        else:
            await self.desk(scope, receive, send)
