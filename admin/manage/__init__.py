# ruff: noqa: I001  (one import line per module, so each area adds its own line)
from flask import Blueprint

bp = Blueprint("manage", __name__)

# one line per module of the area
from . import views  # noqa: E402,F401
from . import organizations  # noqa: E402,F401
from . import people  # noqa: E402,F401
from . import reference  # noqa: E402,F401
from . import importing  # noqa: E402,F401
from . import audit_log  # noqa: E402,F401
from . import pdf_preview  # noqa: E402,F401
from . import releases  # noqa: E402,F401
