"""Error pages that say what happened without a stack trace; JSON for the public API."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed

from models import db

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("Bad request", "The request could not be understood."),
    401: ("Please sign in", "Your session has ended. Sign in again to continue."),
    403: (
        "Not allowed",
        "Your account is not allowed to do that. If you think it should be, ask your DMH administrator.",
    ),
    404: ("Not found", "There is nothing at this address, or it is not yours to see."),
    405: ("Not allowed", "That action is not available here."),
    413: ("File too large", "The file is larger than the registry accepts."),
    429: ("Too many requests", "Please wait a little and try again."),
    503: (
        "The registry is busy",
        "Another change was being saved at the same moment, so nothing of yours was saved. "
        "Please try again.",
    ),
    500: (
        "Something went wrong",
        "The registry hit an error. Nothing was saved. The team has been told; please try again.",
    ),
}


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/feeds/"))


def render_error(code: int, detail: str | None = None):
    title, message = MESSAGES.get(code, ("Error", "Something went wrong."))
    if wants_json():
        return jsonify(
            {"error": {"status": code, "title": title, "detail": detail or message}}
        ), code
    return render_template(
        "errors/error.html", code=code, title=title, message=detail or message
    ), code


def is_write_conflict(e: Exception) -> bool:
    return isinstance(e, OperationalError) and "database is locked" in str(e.orig or e)


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(e):
        return render_error(
            400,
            "The form expired or was sent from somewhere else. Go back, reload the page and try again.",
        )

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        if e.code in (301, 302, 303, 307, 308):
            return e
        response, code = render_error(
            e.code or 500, e.description if e.code not in (404, 403, 405, 500) else None
        )
        headers = {}
        if isinstance(e, MethodNotAllowed) and e.valid_methods:
            # RFC 9110: a 405 names the methods the resource does take
            headers["Allow"] = ", ".join(sorted(e.valid_methods))
        return response, code, headers

    @app.errorhandler(Exception)
    def unhandled(e: Exception):
        if isinstance(e, HTTPException):
            return http_error(e)
        if is_write_conflict(e):
            # SQLite (the embedded default) refuses a write on a snapshot another writer changed
            log.info("write conflict on %s %s; answered 503", request.method, request.path)
            db.session.rollback()
            response, code = render_error(503)
            return response, code, {"Retry-After": "2"}
        log.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return render_error(500)

    app.register_error_handler(InternalServerError, lambda e: render_error(500))
