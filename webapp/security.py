"""CSRF protection of every POST form (Flask-WTF), shared by the blueprints."""

from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
