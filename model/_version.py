"""The version of capex, in its own module so every layer may read it without importing the
package's public API. pyproject.toml reads it from here (``[tool.setuptools.dynamic]``), so the
installed metadata and the code cannot disagree, and nothing pays for ``importlib.metadata``
(~30 ms) at start-up."""

__version__ = "0.2.0"
