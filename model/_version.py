"""The installed version of capex (its own module: every layer may read it without importing
the package's public API)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("capex")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+source"
