"""The package version: the one place it is written (the build reads it from here, see pyproject.toml).

A constant, so neither `import deepset_cloud` nor the User-Agent header pays for `importlib.metadata`.
"""

__version__ = "0.1.0"
