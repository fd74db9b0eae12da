"""The config keys of the later GAN families, one module per family group.

Each group is a dataclass of fields declared with :func:`ganforge.config_field._f`, and each
module also exports its ``IDLE_UNLESS`` rules (merged in ``config_rules``). ``Config``
inherits :class:`FamilyKeys`, so these are ordinary keys of every run's config; field order in
``--help-keys`` follows the inheritance (core keys after these).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ganforge.config_style import IDLE_UNLESS as _STYLE_IDLE
from ganforge.config_style import StyleKeys

# key -> (does it act in this config?, where it acts), merged into config_rules.IDLE_UNLESS;
# each family module contributes its own rules here
FAMILY_IDLE_UNLESS: dict[str, tuple[Any, str]] = {}
FAMILY_IDLE_UNLESS.update(_STYLE_IDLE)


@dataclass
class FamilyKeys(StyleKeys):
    """All family key groups; a group is added to the bases of this class."""
