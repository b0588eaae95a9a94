"""The engine's version, in one place (the package metadata and `fox.plugin` read it from here)."""

__version__ = "0.1.0"
