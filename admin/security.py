"""Sessions that really end, security headers, and safe redirects.

A signed Flask cookie alone cannot be revoked, so each sign-in creates a UserSession row; the
cookie carries a random token whose hash names the row. Logout, deactivation and the absolute
timeout revoke the row; the idle timeout uses a signed timestamp in the cookie (refreshed at
most once a minute) so a copied cookie also dies after 30 idle minutes."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask, current_app, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import login_user, logout_user
from werkzeug.middleware.proxy_fix import ProxyFix

from models import User, UserSession, db, utcnow

SEEN_REFRESH_SECONDS = 60
DB_TOUCH_SECONDS = 300


def start_session(user: User) -> None:
    """Rotate the session (no fixation) and record it server-side."""
    session.clear()
    token = UserSession.new_token()
    db.session.add(
        UserSession(
            id=UserSession.hash_token(token),
            user_id=user.id,
            ip=request.remote_addr or "",
            user_agent=(request.user_agent.string or "")[:300],
        )
    )
    user.last_login_at = utcnow()
    session["sid"] = token
    session["seen"] = int(time.time())
    session.permanent = True
    login_user(user, remember=False, fresh=True)


def end_session() -> None:
    token = session.get("sid")
    if token:
        row = db.session.get(UserSession, UserSession.hash_token(token))
        if row is not None and row.revoked_at is None:
            row.revoked_at = utcnow()
    logout_user()
    session.clear()


def revoke_all_sessions(user_id: int) -> int:
    return db.session.execute(
        db.update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    ).rowcount


def load_user(user_id: str) -> User | None:
    """Flask-Login's user_loader: the user only if this browser's session row is still valid."""
    token = session.get("sid")
    if not token or not user_id.isdigit():
        return None
    cfg = current_app.config
    idle = timedelta(minutes=int(cfg["SESSION_IDLE_MINUTES"]))
    absolute = timedelta(hours=int(cfg["SESSION_ABSOLUTE_HOURS"]))
    now_ts = int(time.time())
    seen = session.get("seen", 0)
    if not isinstance(seen, int) or now_ts - seen > idle.total_seconds():
        session.clear()
        return None
    row = db.session.get(UserSession, UserSession.hash_token(token))
    now = utcnow()
    if (
        row is None
        or row.user_id != int(user_id)
        or not row.is_valid(now, idle + timedelta(minutes=DB_TOUCH_SECONDS / 60), absolute)
    ):
        session.clear()
        return None
    user = row.user
    if not user.can_sign_in:
        session.clear()
        return None
    if now_ts - seen >= SEEN_REFRESH_SECONDS:
        session["seen"] = now_ts
    if (now - row.last_seen_at).total_seconds() >= DB_TOUCH_SECONDS:
        row.last_seen_at = now
        db.session.commit()
    return user


def is_safe_next(target: str | None) -> bool:
    """Only relative paths on this site: no scheme, no host, no '//' or backslash tricks, and
    no control characters (browsers drop tabs and newlines, turning '/\t/evil' into '//evil')."""
    if not target or not isinstance(target, str):
        return False
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return False
    if target.startswith(("//", "\\")) or "\\" in target:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and target.startswith("/")


def csp(extra_frame_ancestors: str = "'none'") -> str:
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {extra_frame_ancestors}",
        ]
    )


def trust_proxies(app: Flask) -> None:
    """Behind nginx, take the client's address and scheme from the last `TRUSTED_PROXIES`
    X-Forwarded-* hops; without this every sign-in would come from the proxy's address."""
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


# Public, cacheable responses: the feeds, the HSDS API, the find-help page and the health check.
# They never read or write the session, so a shared cache can never store one person's cookie.
PUBLIC_PATHS = ("/feeds/", "/api/", "/help/", "/healthz")


def is_public_path(path: str) -> bool:
    return path.startswith(PUBLIC_PATHS) or path in ("/api", "/help")


class RegistrySessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, except that public paths get an empty session that is
    never saved: no `Set-Cookie`, no `Vary: Cookie`, and no signed-in user behind them."""

    def open_session(self, app: Flask, request):
        if is_public_path(request.path):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session, response) -> None:
        if is_public_path(request.path):
            return
        super().save_session(app, session, response)


def register_client_address(app: Flask) -> None:
    """Tell the domain (models/context.py) which address a request came from, for the audit log."""
    from models.context import client_address

    @app.before_request
    def _client_address_in():
        client_address.set(request.remote_addr or "")

    @app.teardown_request
    def _client_address_out(_exc=None):
        client_address.set("")


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def security_headers(response):
        h = response.headers
        h.setdefault("Content-Security-Policy", csp())
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config.get("IS_PRODUCTION"):
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        # pages for signed-in people are never cached by shared caches or the back button
        if not is_public_path(request.path) and session.get("sid") and "Cache-Control" not in h:
            h["Cache-Control"] = "no-store"
        return response
