"""Middleware: HTTP basic auth, signed CSRF tokens and origin checks, security headers."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import threading
from typing import Any, Callable
from urllib.parse import urlsplit

import falcon
import redis

from ..errors import ConfigurationError

CSRF_COOKIE = "resque_csrf"
CSRF_FIELD = "_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
MIN_SECRET = 16
DEFAULT_PORTS = {"http": 80, "https": 443}
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


class SigningKey:
    """The secret CSRF tokens are signed with: configured, or made once and kept.

    Without a configured secret, the first process to need one stores a
    random one in Redis under the namespace (``SET NX``) and every process
    of the app (all gunicorn workers, all hosts) reads that same value.
    """

    def __init__(self, configured: str | bytes | None, load: Callable[[bytes], bytes]):
        if isinstance(configured, str):
            configured = configured.encode("utf-8")
        if configured is not None and len(configured) < MIN_SECRET:
            raise ConfigurationError(
                f"the web app's CSRF secret must be at least {MIN_SECRET} characters")
        self._secret = configured
        self._load = load
        self._lock = threading.Lock()

    def get(self) -> bytes:
        """Return the secret, reading (or creating) the shared one on first use."""
        if self._secret is None:
            with self._lock:
                if self._secret is None:
                    self._secret = self._load(secrets.token_bytes(32))
        return self._secret

    def sign(self, nonce: str) -> str:
        """Return the form token for a cookie's nonce."""
        mac = hmac.new(self.get(), b"resque-csrf:" + nonce.encode("ascii"), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).decode("ascii").rstrip("=")


def _origin(scheme: str, netloc: str) -> tuple[str, str, int | None] | None:
    """Return (scheme, host, port) with the default port filled in, or None."""
    scheme = scheme.strip().lower()
    try:
        parts = urlsplit(f"{scheme}://{netloc.strip()}")
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        return None
    if not parts.hostname or scheme not in DEFAULT_PORTS:
        return None
    return scheme, parts.hostname.lower(), port


class Csrf:
    """Signed double-submit tokens, plus Origin and Fetch-Metadata checks.

    The ``resque_csrf`` cookie holds a random nonce; forms and scripts echo
    ``HMAC(secret, nonce)`` in the ``_csrf`` field or the ``X-CSRF-Token``
    header. A cookie planted by another site (any port of this host can set
    one) is useless without the secret. A request that is not GET/HEAD/
    OPTIONS also gets 403 when the browser says it is cross-site or same-site
    (``Sec-Fetch-Site``), when ``Origin`` is ``null`` (as after a cross-site
    redirect), or when ``Origin`` (else ``Referer``) is not this scheme, host
    and port. ``X-Forwarded-Proto``/``X-Forwarded-Host`` count only when
    ``trust_forwarded`` is set (behind a proxy that sets them).
    """

    def __init__(self, key: SigningKey, trust_forwarded: bool = False):
        self.key = key
        self.trust_forwarded = trust_forwarded

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        nonces = [v for v in req.get_cookie_values(CSRF_COOKIE) or [] if _TOKEN.fullmatch(v)]
        req.context.csrf_nonce = nonces[0] if nonces else secrets.token_urlsafe(32)
        req.context.csrf_new = not nonces
        req.context.form = self._form(req)
        if req.method in SAFE_METHODS:
            try:
                req.context.csrf = self.key.sign(req.context.csrf_nonce)
            except redis.exceptions.RedisError:
                req.context.csrf = ""  # the page itself will answer 503
            return
        self._check_origin(req)
        sent = req.get_header(CSRF_HEADER) or _field(req.context.form, CSRF_FIELD) or ""
        if not (sent and any(_same(sent, self.key.sign(n)) for n in nonces)):
            raise falcon.HTTPForbidden(
                title="CSRF check failed",
                description="This form is stale or came from another site; reload the page and try again.")

    def own_origin(self, req: falcon.Request) -> tuple[str, str, int | None] | None:
        """Return the origin this request was sent to."""
        scheme, netloc = req.scheme, req.get_header("Host") or req.netloc
        if self.trust_forwarded:
            scheme = (req.get_header("X-Forwarded-Proto") or scheme).split(",")[0]
            netloc = (req.get_header("X-Forwarded-Host") or netloc).split(",")[0]
        return _origin(scheme, netloc)

    def _check_origin(self, req: falcon.Request) -> None:
        site = (req.get_header("Sec-Fetch-Site") or "").lower()
        if site and site not in ("same-origin", "none"):
            _refuse(f"The browser says this request came from a {site} page.")
        origin = req.get_header("Origin")
        if origin is not None:
            if origin.strip().lower() == "null":
                _refuse("The request has an opaque (null) Origin, as after a cross-site redirect.")
            theirs = urlsplit(origin.strip())
        elif req.get_header("Referer"):
            theirs = urlsplit(req.get_header("Referer") or "")
        else:
            return  # not a browser form: the token alone decides
        mine = self.own_origin(req)
        if mine is None or _origin(theirs.scheme, theirs.netloc) != mine:
            _refuse("The Origin (or Referer) header does not match this site.")

    @staticmethod
    def _form(req: falcon.Request) -> dict[str, Any] | None:
        if req.method in SAFE_METHODS or not (req.content_type or "").startswith(
                falcon.MEDIA_URLENCODED):
            return None
        media = req.get_media(default_when_empty={})
        return media if isinstance(media, dict) else None

    def process_response(self, req: falcon.Request, resp: falcon.Response,
                         resource: Any, req_succeeded: bool) -> None:
        if getattr(req.context, "csrf_new", False) and getattr(req.context, "csrf", ""):
            mine = self.own_origin(req)
            resp.set_cookie(CSRF_COOKIE, req.context.csrf_nonce, path=req.root_path or "/",
                            secure=bool(mine and mine[0] == "https"), http_only=True,
                            same_site="Strict")


def _refuse(why: str) -> None:
    raise falcon.HTTPForbidden(title="Cross-origin request refused", description=why)


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
