from flask import Blueprint

bp = Blueprint("manage", __name__)

from . import pdf_preview, views  # noqa: E402,F401
