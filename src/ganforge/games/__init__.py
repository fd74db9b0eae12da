"""Games: what one discriminator step and one generator step compute for a GAN family."""

from __future__ import annotations

from collections.abc import Callable

from ganforge.errors import ConfigError
from ganforge.games.adversarial import AdversarialGame
from ganforge.games.base import Game
from ganforge.games.biggan import BigGANGame
from ganforge.games.cyclegan import CycleGANGame
from ganforge.games.inpaint import InpaintGame
from ganforge.games.pix2pix import Pix2PixGame
from ganforge.games.progressive import ProgressiveGame
from ganforge.games.stargan import StarGANGame
from ganforge.games.style import StyleGame
from ganforge.games.superres import SRGANGame, SRResNetGame

# name -> factory(cfg, shape, num_classes, shard)
GAMES: dict[str, Callable[..., Game]] = {
    "adversarial": AdversarialGame,
    "pix2pix": Pix2PixGame,
    "cyclegan": CycleGANGame,
    "stargan": StarGANGame,
    "srresnet": SRResNetGame,
    "srgan": SRGANGame,
    "progressive": ProgressiveGame,
    "inpaint": InpaintGame,
    "style": StyleGame,
}
# the adversarial game refined for an architecture (its G-side terms, its sampling tricks):
# arch -> factory, used when game=adversarial
ADVERSARIAL_BY_ARCH: dict[str, Callable[..., Game]] = {"biggan": BigGANGame}


def build_game(
    cfg, shape: tuple[int, ...], num_classes: int, shard: tuple[int, int] = (0, 1)
) -> Game:
    """The game named by ``cfg.game`` for data of ``shape`` with ``num_classes`` labels;
    ``shard`` = (rank, world size) of data-parallel training (``DistContext.shard``)."""
    if cfg.game not in GAMES:
        raise ConfigError(
            f"bad value {cfg.game!r} for 'game': not available in this install "
            f"(available: {', '.join(sorted(GAMES))})"
        )
    factory = GAMES[cfg.game]
    if cfg.game == "adversarial":
        factory = ADVERSARIAL_BY_ARCH.get(cfg.arch, factory)
    return factory(cfg, shape, num_classes, shard)


__all__ = [
    "ADVERSARIAL_BY_ARCH",
    "GAMES",
    "AdversarialGame",
    "BigGANGame",
    "CycleGANGame",
    "Game",
    "InpaintGame",
    "Pix2PixGame",
    "StarGANGame",
    "SRGANGame",
    "SRResNetGame",
    "ProgressiveGame",
    "StyleGame",
    "build_game",
]
