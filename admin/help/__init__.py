"""The public "Find crisis help" page: a reference client of the public API.

The server sends one static page and its script; everything the page shows, the script fetches
from /api/hsds/ in the browser. Nothing here reads the database (a test proves it), so the page
is what any downstream site could build from the API alone."""

from flask import Blueprint

bp = Blueprint("help", __name__, static_folder="static", static_url_path="/static")

from . import views  # noqa: E402,F401
