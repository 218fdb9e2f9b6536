"""quaywatch: customs risk management and control of maritime container traffic."""

__version__ = "0.1.0"
