"""``python -m quaywatch``: the same command line as the ``quaywatch`` script."""

from quaywatch.cli import main

main()
