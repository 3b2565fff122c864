# ruff: noqa: I001  (one import line per module, so each area adds its own line)
from flask import Blueprint

bp = Blueprint("portal", __name__)

from . import views  # noqa: E402,F401
from . import colleagues  # noqa: E402,F401
