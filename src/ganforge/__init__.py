"""ganforge: train, evaluate and understand generative adversarial networks with PyTorch."""

from ganforge.api import (
    LoadedRun,
    evaluate,
    evaluate_with_info,
    load_run,
    make_config,
    resume,
    sample,
    train,
)
from ganforge.config import Config
from ganforge.errors import GanforgeError
from ganforge.version import __version__

__all__ = [
    "Config",
    "GanforgeError",
    "LoadedRun",
    "evaluate",
    "evaluate_with_info",
    "load_run",
    "make_config",
    "resume",
    "sample",
    "train",
    "__version__",
]
