from flask import Blueprint

bp = Blueprint("review", __name__)

from . import capacity, coverage, dashboard, views  # noqa: E402,F401
