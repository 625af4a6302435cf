"""halluscope's version, in the lowest module so that anything may import it without importing
the package's public API (whose ``__init__`` loads the audit pipeline)."""

__version__ = "0.1.0"
