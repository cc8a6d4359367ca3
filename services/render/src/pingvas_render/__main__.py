"""`python -m pingvas_render`: run the render service (settings from RENDER_* variables)."""

from pingvas_kit.serve import serve

from .app import create_app
from .settings import Settings

if __name__ == "__main__":
    serve(Settings, create_app)
