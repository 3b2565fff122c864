"""Public read side: published releases under /feeds/ and the HSDS API under /api/hsds/."""

from flask import Blueprint

bp = Blueprint("feeds", __name__)

from . import views  # noqa: E402,F401
