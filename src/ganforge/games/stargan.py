"""StarGAN: one generator for translation among many domains (Choi et al. 2018,
arXiv:1711.09020).

G(x, c) turns image x of domain c' (its label) into domain c (the one-hot target tiled as extra
input channels); D has an adversarial head D_src and a domain-classification head D_cls
(:mod:`ganforge.models.stargan`). With the Wasserstein loss and gradient penalty of the paper
(section 4, eq. 8):

    L_D = -E[D_src(x)] + E[D_src(G(x, c))] + lambda_gp E[(||grad D_src(x^)||_2 - 1)^2]
          + lambda_cls E[-log D_cls(c' | x)]                                  (real: own domain)
    L_G = -E[D_src(G(x, c))] + lambda_cls E[-log D_cls(c | G(x, c))]      (fake: the target)
          + lambda_rec E[|x - G(G(x, c), c')|_1]                  (back to the original domain)

with lambda_cls 1, lambda_rec 10, lambda_gp 10 (``stargan_cls_weight``, ``stargan_rec_weight``,
``stargan_gp_weight``); D_cls is a softmax over the K domains (our domains are exclusive, as
RaFD's; the paper's CelebA attributes use a sigmoid per attribute). D_src gives one logit per
patch; the critic value of an image is the mean of its patch logits, the quantity the loss
averages, and the gradient penalty (x^ = a x + (1 - a) G(x, c), a ~ U[0, 1]) acts on D_src
only. ``loss`` may replace the Wasserstein terms by any registered adversarial loss.

Targets are drawn uniformly over all K domains for every image, so the source domain itself is
drawn with probability 1/K, as the reference code's shuffled batch labels can (G then learns the
identity for c = c' as well). Adam 1e-4 (0.5, 0.999), n_critic 5 (``d_steps``), and the
learning rates decay linearly to 0 over the last half (``lr_decay_start`` 0.5).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.data.batches import Batches, to_unit_range
from ganforge.data.domains import builtin_domain_names
from ganforge.errors import ConfigError, DataError
from ganforge.games.base import DStep, Game, Logs
from ganforge.games.cyclegan import linear_decay
from ganforge.games.translation import no_latents
from ganforge.losses import get_loss
from ganforge.models.stargan import StarDiscriminator, StarGenerator
from ganforge.penalties import gradient_penalty

GRID_INPUTS = 8  # input images in the sample grid, one row each: input, then every domain


def domain_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """E[-log softmax(D_cls)_label]: the domain-classification loss (eq. 2-3)."""
    return F.cross_entropy(logits.float(), labels.long())


class StarGANGame(Game):
    """Many-domain translation; batches are (images uint8, domain labels int64)."""

    def __init__(
        self, cfg, shape: tuple[int, ...], num_classes: int = 0, shard: tuple[int, int] = (0, 1)
    ):
        super().__init__(shard)
        if len(shape) != 3 or shape[1] != shape[2] or shape[1] % 4:
            raise DataError(
                f"game=stargan needs square images with a side divisible by 4, got {tuple(shape)}: "
                "use --image-size 28, 32 or 64"
            )
        if num_classes < 2:
            raise DataError(
                "game=stargan needs images labelled with two or more domains: use fmnist-tops, "
                "fmnist-shoes or folder:PATH with a sub-folder per domain"
            )
        self.cfg, self.data_shape, self.num_domains = cfg, tuple(shape), num_classes
        c, s = shape[0], shape[1]
        self.G = StarGenerator(c, num_classes, cfg.g_width, cfg.g_norm, cfg.stargan_blocks)
        self.D = StarDiscriminator(c, s, num_classes, cfg.d_width, cfg.d_norm)
        if cfg.spectral_norm:
            from ganforge.models.layers import apply_spectral_norm

            apply_spectral_norm(self.D)
        self.d_fn, self.g_fn = get_loss(cfg.loss)
        names = builtin_domain_names(cfg.dataset)  # folders: from the data, saved with the run
        self.domains = names if len(names) == num_classes else tuple(map(str, range(num_classes)))
        self._grid: dict[str, torch.Tensor] | None = None

    # -- data -----------------------------------------------------------------------------
    def make_batches(self, data, batch_size, seed, device, rank=0, world_size=1):
        if data.labels is None or data.num_classes != self.num_domains:
            raise DataError(
                f"game=stargan needs {data.name} labelled with its domains (fmnist-tops, "
                "fmnist-shoes, or folder:PATH with a sub-folder per domain)"
            )
        if data.class_names and len(data.class_names) == self.num_domains:
            self.domains = tuple(data.class_names)
        self._grid = self._grid_source(data.images, data.labels)
        return Batches(data, batch_size, seed, device, rank, world_size)

    def _grid_source(self, images: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        """GRID_INPUTS images taking the domains in turn (the first of each, then the second)."""
        picks: list[int] = []
        seen = [torch.nonzero(labels == k).flatten().tolist() for k in range(self.num_domains)]
        for i in range(GRID_INPUTS * self.num_domains):
            k, j = i % self.num_domains, i // self.num_domains
            if j < len(seen[k]) and len(picks) < GRID_INPUTS:
                picks.append(seen[k][j])
        idx = torch.tensor(picks)
        return {"x": images[idx].clone(), "y": labels[idx].clone()}

    def _unit(self, u8: torch.Tensor) -> torch.Tensor:
        x = to_unit_range(u8)
        return x.contiguous(memory_format=torch.channels_last) if self.cfg.channels_last else x

    def onehot(self, labels: torch.Tensor) -> torch.Tensor:
        return F.one_hot(labels.long(), self.num_domains).float()

    def draw_targets(self, n: int, device: torch.device) -> torch.Tensor:
        """Target domains, uniform over all K (the source included), from torch's global RNG
        (saved in every checkpoint, so a resumed run draws the same targets); drawn for the
        global batch, each data-parallel rank keeping its slice."""
        rank, world = self.shard
        drawn = torch.randint(self.num_domains, (n * world,))
        return drawn[rank * n : (rank + 1) * n].to(device)

    # -- the two steps --------------------------------------------------------------------
    def lr_scale(self, progress: float | None) -> float:
        return 1.0 if progress is None else linear_decay(progress, self.cfg.lr_decay_start)

    def critic(self, x: torch.Tensor) -> torch.Tensor:
        """D_src's value per image: the mean of its patch logits."""
        return self.D(x)[0].flatten(1).mean(1)

    def d_loss(self, batch: Any, step: int, keep_fakes: bool = True) -> DStep:
        x, org = self._unit(batch[0]), batch[1]
        trg = self.draw_targets(x.shape[0], x.device)
        with torch.set_grad_enabled(keep_fakes and torch.is_grad_enabled()):
            fake = self.G(x, self.onehot(trg))
        src_r, cls_r = self.D(x)
        src_f, _ = self.D(fake.detach())
        real_v, fake_v = src_r.flatten(1).mean(1), src_f.flatten(1).mean(1)
        adv = self.d_fn(real_v, fake_v, self.cfg.label_smoothing)
        cls = domain_loss(cls_r, org)
        loss = adv + self.cfg.stargan_cls_weight * cls
        logs: Logs = {"d_adv": adv.detach(), "d_cls": cls.detach()}
        if self.cfg.stargan_gp_weight:
            gp = gradient_penalty(self.critic, x, fake.detach())
            loss = loss + self.cfg.stargan_gp_weight * gp
            logs["gp"] = gp.detach()
        return DStep(loss, logs, (x, org, trg, fake) if keep_fakes else None)

    def g_loss(self, batch: Any, step: int, fakes: Any = None) -> tuple[torch.Tensor, Logs]:
        if fakes is None:
            x, org = self._unit(batch[0]), batch[1]
            trg = self.draw_targets(x.shape[0], x.device)
            fakes = (x, org, trg, self.G(x, self.onehot(trg)))
        x, org, trg, fake = fakes
        src_f, cls_f = self.D(fake)
        adv = self.g_fn(src_f.flatten(1).mean(1))
        cls = domain_loss(cls_f, trg)
        rec = F.l1_loss(self.G(fake, self.onehot(org)), x)
        loss = adv + self.cfg.stargan_cls_weight * cls + self.cfg.stargan_rec_weight * rec
        return loss, {"g_adv": adv.detach(), "g_cls": cls.detach(), "rec": rec.detach()}

    def extra_state(self) -> dict[str, Any]:
        return {"domains": list(self.domains)}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        if state.get("domains"):
            self.domains = tuple(state["domains"])

    # -- views and translation --------------------------------------------------------------
    def grid_shape(self) -> tuple[int, int]:
        return GRID_INPUTS * (self.num_domains + 1), self.num_domains + 1

    def draw_inputs(self, n: int, device: Any, generator: Any = None) -> dict[str, torch.Tensor]:
        raise no_latents("stargan")

    def fixed_inputs(self, n: int, seed: int, device="cpu", **kw: Any) -> dict[str, torch.Tensor]:
        if self._grid is None or kw.get("classes") or kw.get("codes"):
            raise no_latents("stargan")
        return {k: v.to(device) for k, v in self._grid.items()}

    @torch.no_grad()
    def render(self, G: nn.Module, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """One row per input: the input, then G(x, c) for every domain c in order."""
        return self.rows(G, self._unit(inputs["x"])).flatten(0, 1)

    def rows(self, G: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """(B, K + 1, C, S, S): each input followed by its translation to every domain."""
        outs = [x.float()]
        for k in range(self.num_domains):
            target = torch.full((x.shape[0],), k, device=x.device)
            outs.append(G(x, self.onehot(target)).float())
        return torch.stack(outs, 1)

    def translates(self) -> bool:
        return True

    def translate(self, images: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        raise ConfigError(
            "a stargan run translates to a domain, not in a direction: use --to "
            f"{'|'.join(self.domains)}|all (or a domain's index)"
        )

    def domain_index(self, name: str) -> int:
        """The index of domain ``name`` (its name, any case, or its index 0..K-1)."""
        lowered = [d.lower() for d in self.domains]
        if name.lower() in lowered:
            return lowered.index(name.lower())
        if name.isdigit() and int(name) < self.num_domains:
            return int(name)
        listed = ", ".join(f"{i}={d}" for i, d in enumerate(self.domains))
        raise ConfigError(f"unknown --to {name!r}: this run's domains are {listed}, or all")

    def translate_to(self, images: torch.Tensor, target: str) -> torch.Tensor:
        """[-1, 1] images -> G(images, target) for a domain name/index, or for ``all`` each
        input and its translation to every domain side by side (B, C, S, S (K + 1))."""
        if target.lower() == "all":
            rows = self.rows(self.G, images)  # (B, K + 1, C, S, S)
            return torch.cat(rows.unbind(1), dim=3)
        k = self.domain_index(target)
        return self.G(images, self.onehot(torch.full((images.shape[0],), k)).to(images.device))

    def describe(self) -> dict[str, Any]:
        return {
            "data_shape": list(self.data_shape),
            "num_classes": self.num_domains,
            "kind": "domains",
        }
