"""Unbound extensions, initialised in the app factory."""

from flask_bootstrap import Bootstrap5
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from models import db

migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
bootstrap = Bootstrap5()

__all__ = ["bootstrap", "csrf", "db", "login_manager", "migrate"]
