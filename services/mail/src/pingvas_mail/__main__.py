"""`python -m pingvas_mail`: run the mail service (settings from MAIL_* variables)."""

from pingvas_kit.serve import serve

from .app import create_app
from .settings import Settings

if __name__ == "__main__":
    serve(Settings, create_app)
