"""ganforge: train, evaluate and understand generative adversarial networks with PyTorch."""

from ganforge.api import LoadedRun, load_run, make_config, resume, sample, train
from ganforge.config import Config
from ganforge.errors import GanforgeError

__version__ = "0.1.0"

__all__ = [
    "Config",
    "GanforgeError",
    "LoadedRun",
    "load_run",
    "make_config",
    "resume",
    "sample",
    "train",
    "__version__",
]
