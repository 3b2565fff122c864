from flask import Blueprint

bp = Blueprint("manage", __name__)

from . import releases, views  # noqa: E402,F401
