"""The ``quaywatch`` command line, a thin adapter over ``quaywatch.services``."""

from quaywatch.cli.app import app as app, main as main
