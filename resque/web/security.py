"""Middleware: HTTP basic auth, CSRF tokens for POSTs, security headers."""
from __future__ import annotations

import base64
import binascii
import hmac
import re
import secrets
from typing import Any
from urllib.parse import urlsplit

import falcon

CSRF_COOKIE = "resque_csrf"
CSRF_FIELD = "_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


class BasicAuth:
    """Require one user name and password (HTTP basic) on every request."""

    def __init__(self, user: str, password: str, realm: str = "resque"):
        self.user = user
        self.password = password
        self.challenge = f'Basic realm="{realm}", charset="UTF-8"'

    def _accepts(self, header: str | None) -> bool:
        scheme, _, value = (header or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, sep, password = decoded.partition(":")
        ok_user = _same(user, self.user)
        ok_password = _same(password, self.password)
        return bool(sep) and ok_user and ok_password

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if not self._accepts(req.get_header("Authorization")):
            raise falcon.HTTPUnauthorized(title="Authentication required",
                                          challenges=[self.challenge])


class Csrf:
    """Double-submit token: a cookie, echoed by every form or XHR that POSTs.

    A request that is not GET/HEAD/OPTIONS must carry the cookie's token in
    the ``_csrf`` form field or the ``X-CSRF-Token`` header, and any
    ``Origin`` it sends must be this host; otherwise it gets 403.
    """

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        values = req.get_cookie_values(CSRF_COOKIE) or []
        token = next((v for v in values if _TOKEN.fullmatch(v)), None)
        req.context.csrf_new = token is None
        req.context.csrf = token or secrets.token_urlsafe(32)
        req.context.form = self._form(req)
        if req.method in SAFE_METHODS:
            return
        sent = req.get_header(CSRF_HEADER) or _field(req.context.form, CSRF_FIELD)
        if token is None or not sent or not _same(sent, token):
            raise falcon.HTTPForbidden(
                title="CSRF check failed",
                description="This form is stale or came from another site; reload the page and try again.")
        origin = req.get_header("Origin")
        host = req.get_header("X-Forwarded-Host") or req.get_header("Host") or ""
        if origin and origin != "null" and urlsplit(origin).netloc != host:
            raise falcon.HTTPForbidden(title="Cross-origin request refused",
                                       description="The Origin header does not match this host.")

    @staticmethod
    def _form(req: falcon.Request) -> dict[str, Any] | None:
        if req.method in SAFE_METHODS or not (req.content_type or "").startswith(
                falcon.MEDIA_URLENCODED):
            return None
        media = req.get_media(default_when_empty={})
        return media if isinstance(media, dict) else None

    def process_response(self, req: falcon.Request, resp: falcon.Response,
                         resource: Any, req_succeeded: bool) -> None:
        if getattr(req.context, "csrf_new", False):
            resp.set_cookie(CSRF_COOKIE, req.context.csrf, path=req.root_path or "/",
                            secure=req.scheme == "https", http_only=True, same_site="Strict")


def _field(media: dict[str, Any] | None, name: str) -> str | None:
    value = (media or {}).get(name)
    if isinstance(value, list):
        value = value[-1] if value else None
    return value if isinstance(value, str) else None


class SecurityHeaders:
    """Forbid framing, sniffing and foreign scripts on every response."""

    def process_response(self, req: falcon.Request, resp: falcon.Response,
                         resource: Any, req_succeeded: bool) -> None:
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.set_header("X-Frame-Options", "DENY")
        resp.set_header("Referrer-Policy", "same-origin")
        resp.set_header("Content-Security-Policy", CSP)
