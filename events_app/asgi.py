"""The ASGI application for uvicorn (`events_app.asgi:app`), configured from the environment."""

from events_app.app import create_app

app = create_app()
