"""The package version (kept equal to ``project.version`` in pyproject.toml), importable
without the API, so pages and checkpoints can name it from any layer."""

__version__ = "0.1.0"
