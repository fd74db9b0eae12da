"""Test-only games for the latent tools: a tiny style-based generator and a linear one.

``ToyStyleGame`` is the adversarial game with its G replaced by a small style-based network:
a mapping MLP z -> w and a synthesis in which style entry k of ws (B, 6, w_dim) paints the
image at its own scale (entries 0-1 at 2x2, "coarse"; 2-3 at 4x4, "middle"; 4-5 at full
size, "fine"), plus a constant noise map (a buffer, exposed by ``noise_buffers``).
``LinearGame`` has G(z) = A z and w = M z, for PPL's closed forms.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.games.adversarial import AdversarialGame
from ganforge.games.base import Game

NUM_WS = 6
SCALES = (2, 2, 4, 4, 0, 0)  # 0: the image's own size
LAYERS = {"coarse": slice(0, 2), "middle": slice(2, 4), "fine": slice(4, 6)}


class ToyStyleG(nn.Module):
    def __init__(self, z_dim: int, shape: tuple[int, ...], w_dim: int = 8):
        super().__init__()
        self.shape = tuple(shape)
        c, h, w = self.shape
        self.map = nn.Sequential(
            nn.Linear(z_dim, w_dim), nn.LeakyReLU(0.2), nn.Linear(w_dim, w_dim)
        )
        self.sizes = [s or h for s in SCALES]
        self.paint = nn.ModuleList(nn.Linear(w_dim, c * s * s) for s in self.sizes)
        self.register_buffer("noise0", torch.randn(1, 1, h, w))
        self.noise_strength = nn.Parameter(torch.tensor(0.1))

    def mapping(self, z: torch.Tensor) -> torch.Tensor:
        return self.map(z)

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        c, h, w = self.shape
        out = self.noise_strength * self.noise0
        for k, (paint, s) in enumerate(zip(self.paint, self.sizes, strict=True)):
            part = paint(ws[:, k]).view(-1, c, s, s)
            out = out + F.interpolate(part, size=(h, w), mode="nearest")
        return torch.tanh(out)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.synthesis(self.mapping(z)[:, None].expand(-1, NUM_WS, -1))


class ToyStyleGame(AdversarialGame):
    """The adversarial game with :class:`ToyStyleG` as G (unconditional runs only)."""

    def __init__(self, cfg, data_shape, num_classes=0, shard=(0, 1)):
        super().__init__(cfg, data_shape, num_classes, shard)
        self.G = ToyStyleG(cfg.z_dim, data_shape)

    def latent_spaces(self) -> tuple[str, ...]:
        return ("z", "w")

    def to_w(self, G, inputs):
        return G.mapping(inputs["z"])[:, None].expand(-1, NUM_WS, -1)

    def render_w(self, G, ws):
        return G.synthesis(ws)

    def style_layers(self):
        return dict(LAYERS)

    def noise_buffers(self, G):
        return [G.noise0]


class LinearGame(Game):
    """G(z) = A z as a 1 x h x w image, w = M z (broadcast to 2 layers); float64."""

    def __init__(self, z_dim: int = 5, side: int = 8, seed: int = 0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.z_dim, self.side = z_dim, side
        self.A = torch.randn(side * side, z_dim, generator=gen, dtype=torch.float64)
        self.A /= math.sqrt(z_dim)
        self.M = torch.randn(z_dim, z_dim, generator=gen, dtype=torch.float64)
        self.G = nn.Linear(1, 1)  # unused; the games' interface wants a module
        self.D = nn.Linear(1, 1)

    def draw_inputs(self, n, device, generator=None):
        z = torch.randn(n, self.z_dim, generator=generator, dtype=torch.float64)
        return {"z": z.to(device)}

    def latent_spaces(self):
        return ("z", "w")

    def g_input(self, inputs):
        return inputs["z"]

    def image(self, v: torch.Tensor) -> torch.Tensor:
        return (v @ self.A.T).view(-1, 1, self.side, self.side)

    def render(self, G, inputs):
        return self.image(inputs["z"])

    def to_w(self, G, inputs):
        return (inputs["z"] @ self.M.T)[:, None].expand(-1, 2, -1)

    def render_w(self, G, ws):
        return self.image(ws[:, 0])


class NoisyLinearGame(LinearGame):
    """:class:`LinearGame` whose synthesis adds fresh noise from the global RNG at each call,
    as a StyleGAN synthesis with random per-layer noise does."""

    def render_w(self, G, ws):
        image = super().render_w(G, ws)
        return image + 0.5 * torch.randn(image.shape, dtype=image.dtype)
