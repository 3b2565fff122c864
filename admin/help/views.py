from flask import make_response, render_template, request

from . import bp


@bp.get("/")
def find_help():
    resp = make_response(render_template("help/index.html"))
    resp.headers["Cache-Control"] = "public, max-age=300"
    # "Use my location" asks the browser for the position; nothing else is allowed
    resp.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(self)"
    return resp


@bp.after_request
def public_assets(resp):
    """The page's script and style sheet are public and the same for everyone."""
    if request.endpoint == "help.static" and resp.status_code in (200, 304):
        resp.headers["Cache-Control"] = "public, max-age=3600"
    return resp
