"""ganforge: train, evaluate and understand generative adversarial networks with PyTorch.

The package re-exports the public API (``ganforge.api.__all__``: train, resume, load_run,
sample, evaluate, study, ...) with :class:`~ganforge.config.Config` and ``__version__``."""

from ganforge import api
from ganforge.api import *  # noqa: F403  (the names api.__all__ lists)
from ganforge.config import Config
from ganforge.version import __version__

__all__ = ["Config", "__version__", *api.__all__]
