"""The application factory uvicorn's workers call: settings from the environment.

``quaywatch serve`` puts what its command line changed (``--database``) into the environment
before it starts the workers, and migrates the store once itself.
"""

from __future__ import annotations

from fastapi import FastAPI

from quaywatch.api.app import create_app
from quaywatch.config import load_settings


def create() -> FastAPI:
    """The application for the settings of the environment."""
    return create_app(load_settings())
