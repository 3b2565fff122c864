"""View helpers that apply the one permission policy (models.policy.can)."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from models import can, db


def requires(action: str):
    """Signed in (else to the login page) and allowed to do the area-level `action` (else 403)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not can(current_user, action):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def load_or_404(model, ident, action: str = "view"):
    """Load an object and check `action` on it. Another organization's object answers 404,
    exactly like a missing one, so ids reveal nothing."""
    obj = db.session.get(model, ident)
    if obj is None or not can(current_user, "view", obj):
        abort(404)
    if action != "view" and not can(current_user, action, obj):
        abort(403)
    return obj
