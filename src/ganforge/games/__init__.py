"""Games: what one discriminator step and one generator step compute for a GAN family."""

from __future__ import annotations

from collections.abc import Callable

from ganforge.errors import ConfigError
from ganforge.games.adversarial import AdversarialGame
from ganforge.games.base import Game
from ganforge.games.cyclegan import CycleGANGame
from ganforge.games.pix2pix import Pix2PixGame

# name -> factory(cfg, data) ; other games (pix2pix, cyclegan) register here.
GAMES: dict[str, Callable[..., Game]] = {
    "adversarial": lambda cfg, shape, num_classes: AdversarialGame(cfg, shape, num_classes),
    "pix2pix": lambda cfg, shape, num_classes: Pix2PixGame(cfg, shape, num_classes),
    "cyclegan": lambda cfg, shape, num_classes: CycleGANGame(cfg, shape, num_classes),
}


def build_game(cfg, shape: tuple[int, ...], num_classes: int) -> Game:
    """The game named by ``cfg.game`` for data of ``shape`` with ``num_classes`` labels."""
    if cfg.game not in GAMES:
        raise ConfigError(
            f"bad value {cfg.game!r} for 'game': not available in this install "
            f"(available: {', '.join(sorted(GAMES))})"
        )
    return GAMES[cfg.game](cfg, shape, num_classes)


__all__ = ["GAMES", "AdversarialGame", "CycleGANGame", "Game", "Pix2PixGame", "build_game"]
