"""The application factory uvicorn's workers call (API and web application): settings from
the environment.

``quaywatch serve`` puts what its command line changed (``--database``) into the environment
before it starts the workers, and migrates the store once itself.
"""

from __future__ import annotations

from fastapi import FastAPI

from quaywatch.config import load_settings
from quaywatch.web.app import create_app


def create() -> FastAPI:
    """The application for the settings of the environment."""
    return create_app(load_settings())
