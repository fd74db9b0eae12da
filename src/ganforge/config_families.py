"""The config keys of the later GAN families, one module per family group.

Each group is a dataclass of fields declared with :func:`ganforge.config_field._f`, and each
module also exports its ``IDLE_UNLESS`` rules (merged in ``config_rules``). ``Config``
inherits :class:`FamilyKeys`, so these are ordinary keys of every run's config; field order in
``--help-keys`` follows the inheritance (core keys after these).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ganforge.config_attention import IDLE_UNLESS as _ATTENTION_IDLE
from ganforge.config_attention import AttentionKeys
from ganforge.config_inpaint import IDLE_UNLESS as _INPAINT_IDLE
from ganforge.config_inpaint import InpaintKeys
from ganforge.config_progressive import IDLE_UNLESS as _PROGRESSIVE_IDLE
from ganforge.config_progressive import ProgressiveKeys
from ganforge.config_stargan import IDLE_UNLESS as _STARGAN_IDLE
from ganforge.config_stargan import StarGANKeys
from ganforge.config_style import IDLE_UNLESS as _STYLE_IDLE
from ganforge.config_style import StyleKeys
from ganforge.config_superres import IDLE_UNLESS as _SUPERRES_IDLE
from ganforge.config_superres import SuperResKeys

# key -> (does it act in this config?, where it acts), merged into config_rules.IDLE_UNLESS;
# each family module contributes its own rules here
FAMILY_IDLE_UNLESS: dict[str, tuple[Any, str]] = {}

# one name per line, so that families added in parallel merge without conflicts
GAME_CHOICES = (
    "adversarial",
    "pix2pix",
    "cyclegan",
    "stargan",
    "srresnet",
    "srgan",
    "progressive",
    "inpaint",
    "style",
)
ARCH_CHOICES = (
    "mlp",
    "dcgan",
    "resnet",
    "unet",
    "toy",
    "stargan",
    "srresnet",
    "progressive",
    "context-encoder",
    "sagan",
    "biggan",
    "style",
)


@dataclass
class FamilyKeys(StarGANKeys, SuperResKeys, ProgressiveKeys, InpaintKeys, AttentionKeys, StyleKeys):
    """All family key groups; a group is added to the bases of this class."""


for _rules in (
    _STARGAN_IDLE,
    _SUPERRES_IDLE,
    _PROGRESSIVE_IDLE,
    _INPAINT_IDLE,
    _ATTENTION_IDLE,
    _STYLE_IDLE,
):
    # two families ruling on one key would silently keep the last rule: refuse at import
    _clash = sorted(set(_rules) & set(FAMILY_IDLE_UNLESS))
    if _clash:
        raise RuntimeError(f"config keys ruled by two families: {_clash}")
    FAMILY_IDLE_UNLESS.update(_rules)
