"""Conditioning schemes: how labels or codes enter G and D, one object per kind.

A scheme draws its part of the generator input (labels, codes), turns it into G's input
features, conditions D's input and output, adds D's heads (auxiliary classifier, projection
embedding, Q network), and contributes its terms to both players' losses. The game asks the
scheme; it never tests which scheme it has.

- ``none``: the unconditional GAN (Goodfellow et al. 2014).
- ``concat``: cGAN, one-hot labels concatenated to G's latent and to D's input (Mirza &
  Osindero 2014).
- ``matching``: the matching-aware cGAN (Reed et al. 2016, GAN-CLS): D also rejects (real
  image, wrong label) pairs; the fake term averages (fake, label) and (real, wrong label).
- ``acgan``: D's auxiliary classifier, + lambda (CE(aux(real), y) + CE(aux(fake), y)) for D and
  + lambda CE(aux(fake), y) for G (Odena et al. 2017).
- ``projection``: D(x, y) = psi(h) + <embed(y), h> (Miyato & Koyama 2018).
- ``cbn``: class-conditional BatchNorm in G and a projection D (SAGAN, BigGAN); unconditional
  when the dataset has no labels.
- ``infogan``: latent codes c (categorical and U[-1, 1] continuous) and a Q head; both players
  minimise lambda L_I with -L_I = CE of the categorical code + Gaussian NLL (unit variance) of
  the continuous ones, a lower bound of I(c; G(z, c)) up to a constant (Chen et al. 2016).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import ConfigError

Inputs = dict[str, torch.Tensor]
Logs = dict[str, torch.Tensor]


class Conditioning:
    """No conditioning; the base every scheme refines."""

    labelled = False  # draws class labels y and needs a labelled dataset

    def __init__(self, cfg: Any, num_classes: int = 0):
        self.cfg = cfg
        self.num_classes = 0
        self.n_cat = self.n_cont = 0

    @property
    def code_dim(self) -> int:
        """Features this scheme adds to G's input after z."""
        return 0

    @property
    def d_channels(self) -> int:
        """Channels (or features, for flat D inputs) concatenated to D's input."""
        return 0

    def add_heads(self, critic: nn.Module, dim: int) -> list[nn.Module]:
        """Attach D's heads reading its features (B, dim); returns those spectral norm covers."""
        return []

    def draw(self, n: int, device: torch.device, generator: torch.Generator | None) -> Inputs:
        """This scheme's part of G's input, drawn from its prior (after z, same generator)."""
        return {}

    def g_parts(self, inputs: Inputs, dtype: torch.dtype) -> list[torch.Tensor]:
        """Features appended to z in G's input."""
        return []

    def d_condition(self, x: torch.Tensor, y: torch.Tensor | None, flat: bool) -> torch.Tensor:
        """D's network input for samples ``x`` (flattened for MLP critics)."""
        return x.flatten(1) if flat else x

    def d_output(self, critic: nn.Module, out: torch.Tensor, h: torch.Tensor, y) -> torch.Tensor:
        """D's logits from its unconditional logits ``out`` and features ``h``."""
        return out

    def d_adversarial(self, game: Any, r_out, f_out, real, labels, step: int, logs: Logs):
        """The adversarial D loss on (real, fake) logits."""
        return game.d_fn(r_out, f_out, self.cfg.label_smoothing)

    def d_terms(self, game: Any, r_h, f_h, labels, inputs: Inputs, logs: Logs):
        """Extra weighted D-loss terms from D's features (None when there are none)."""
        return None

    def g_terms(self, game: Any, f_h, inputs: Inputs):
        """Extra weighted G-loss terms from D's features of the fakes (None when none)."""
        return None

    def fix(self, inputs: Inputs, n: int, classes: list[int], codes: dict[int, float], grid: bool):
        """Inputs of a fixed sample set: ``classes`` / ``codes`` pinned where the scheme has
        them, refused with a one-line error where it has not."""
        if classes:
            raise ConfigError("--class needs a conditional run (cgan, acgan, projection, ...)")
        if codes:
            raise ConfigError("--code needs an InfoGAN run")
        return inputs

    def describe(self) -> dict[str, int]:
        return {
            "num_classes": self.num_classes,
            "info_categorical": self.n_cat,
            "info_continuous": self.n_cont,
        }


class Labelled(Conditioning):
    """Base of the label schemes: y ~ U{0..K-1}, one-hot after z in G's input."""

    labelled = True

    def __init__(self, cfg: Any, num_classes: int = 0):
        super().__init__(cfg, num_classes)
        if num_classes < 2:
            has = "only one class" if num_classes == 1 else "no classes"
            layout = (
                " (a folder:PATH is labelled when PATH holds only class sub-folders of images, "
                "PATH/CLASS/*.png, at least 2)"
                if str(cfg.dataset).startswith("folder:")
                else ""
            )
            raise ConfigError(
                f"conditioning={cfg.conditioning} needs a labelled dataset; "
                f"{cfg.dataset} has {has}{layout}"
            )
        self.num_classes = num_classes

    @property
    def code_dim(self) -> int:
        return self.num_classes

    def draw(self, n: int, device: torch.device, generator: torch.Generator | None) -> Inputs:
        return {"y": torch.randint(0, self.num_classes, (n,), device=device, generator=generator)}

    def g_parts(self, inputs: Inputs, dtype: torch.dtype) -> list[torch.Tensor]:
        return [F.one_hot(inputs["y"], self.num_classes).to(dtype)]

    def fix(self, inputs: Inputs, n: int, classes: list[int], codes: dict[int, float], grid: bool):
        # class k in every k-th cell: an exactly balanced draw of the uniform label prior
        y = torch.arange(n) % self.num_classes
        if classes:
            bad = [k for k in classes if not 0 <= k < self.num_classes]
            if bad:
                raise ConfigError(
                    f"class {bad[0]} out of range: this run has classes 0..{self.num_classes - 1}"
                )
            y = torch.tensor(classes)[torch.arange(n) % len(classes)]
        if codes:
            raise ConfigError("--code needs an InfoGAN run")
        return {**inputs, "y": y}


class Concat(Labelled):
    """cGAN: one-hot labels as extra input maps (conv D) or features (MLP D) of D."""

    @property
    def d_channels(self) -> int:
        return self.num_classes

    def d_condition(self, x: torch.Tensor, y: torch.Tensor | None, flat: bool) -> torch.Tensor:
        onehot = F.one_hot(y, self.num_classes).to(x.dtype)
        if flat:
            return torch.cat([x.flatten(1), onehot], 1)
        maps = onehot[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
        return torch.cat([x, maps], 1)


class Matching(Concat):
    """GAN-CLS: (real, wrong label) pairs join the fakes, with Reed et al.'s 1/2 weights."""

    def d_adversarial(self, game: Any, r_out, f_out, real, labels, step: int, logs: Logs):
        k = self.num_classes
        wrong = (labels + torch.randint_like(labels, 1, k)) % k
        m_out, _ = game.critic(game.d_input(real, step), wrong)
        logs["d_mismatch"] = m_out.detach().mean()
        return game.d_fn(r_out, torch.cat([f_out, m_out]), self.cfg.label_smoothing)


class AuxiliaryClassifier(Labelled):
    """ACGAN: a linear classifier on D's features, trained on real and fake labels."""

    def add_heads(self, critic: nn.Module, dim: int) -> list[nn.Module]:
        critic.aux = nn.Linear(dim, self.num_classes)
        return [critic.aux]

    def d_terms(self, game: Any, r_h, f_h, labels, inputs: Inputs, logs: Logs):
        aux_head = game.D.aux
        aux = F.cross_entropy(aux_head(r_h), labels) + F.cross_entropy(aux_head(f_h), inputs["y"])
        logs["aux"] = aux.detach()
        return self.cfg.aux_weight * aux

    def g_terms(self, game: Any, f_h, inputs: Inputs):
        return self.cfg.aux_weight * F.cross_entropy(game.D.aux(f_h), inputs["y"])


class Projection(Labelled):
    """Projection discriminator: + <embed(y), h> on D's logit."""

    def add_heads(self, critic: nn.Module, dim: int) -> list[nn.Module]:
        critic.embed = nn.Embedding(self.num_classes, dim)
        nn.init.normal_(critic.embed.weight, 0.0, 0.02)
        return [critic.embed]

    def d_output(self, critic: nn.Module, out: torch.Tensor, h: torch.Tensor, y) -> torch.Tensor:
        return out + (critic.embed(y) * h).sum(1)


class ClassBatchNorm(Projection):
    """cbn: labels into G's class-conditional BatchNorm (one-hot after z, which arch=sagan /
    biggan turn into per-class or shared-embedding gains and biases) and a projection D (SAGAN,
    Zhang et al. 2019; BigGAN, Brock et al. 2019). With a dataset without labels it is the
    unconditional GAN: G's BatchNorm then has no class input and D no projection."""

    def __init__(self, cfg: Any, num_classes: int = 0):
        if num_classes >= 2:
            super().__init__(cfg, num_classes)
        else:
            Conditioning.__init__(self, cfg, 0)
        self.labelled = bool(self.num_classes)

    def add_heads(self, critic: nn.Module, dim: int) -> list[nn.Module]:
        return super().add_heads(critic, dim) if self.labelled else []

    def draw(self, n: int, device: torch.device, generator: torch.Generator | None) -> Inputs:
        return super().draw(n, device, generator) if self.labelled else {}

    def g_parts(self, inputs: Inputs, dtype: torch.dtype) -> list[torch.Tensor]:
        return super().g_parts(inputs, dtype) if self.labelled else []

    def d_output(self, critic: nn.Module, out: torch.Tensor, h: torch.Tensor, y) -> torch.Tensor:
        return super().d_output(critic, out, h, y) if self.labelled else out

    def fix(self, inputs: Inputs, n: int, classes: list[int], codes: dict[int, float], grid: bool):
        if self.labelled:
            return super().fix(inputs, n, classes, codes, grid)
        return Conditioning.fix(self, inputs, n, classes, codes, grid)


class InfoCodes(Conditioning):
    """InfoGAN: a categorical code of ``info_categorical`` values and ``info_continuous``
    codes ~ U[-1, 1] after z in G's input; Q reads them back from D's features."""

    def __init__(self, cfg: Any, num_classes: int = 0):
        super().__init__(cfg, num_classes)
        self.n_cat, self.n_cont = cfg.info_categorical, cfg.info_continuous
        if self.n_cat + self.n_cont == 0:
            raise ConfigError("infogan needs info_categorical > 0 or info_continuous > 0")

    @property
    def code_dim(self) -> int:
        return self.n_cat + self.n_cont

    def add_heads(self, critic: nn.Module, dim: int) -> list[nn.Module]:
        critic.q = nn.Sequential(
            nn.Linear(dim, 128), nn.LeakyReLU(0.2), nn.Linear(128, self.n_cat + self.n_cont)
        )
        return []  # Q is not a critic: spectral norm leaves it alone

    def draw(self, n: int, device: torch.device, generator: torch.Generator | None) -> Inputs:
        cat = torch.randint(0, max(self.n_cat, 1), (n,), device=device, generator=generator)
        cont = torch.rand(n, self.n_cont, device=device, generator=generator) * 2 - 1
        return {"cat": cat, "cont": cont}

    def g_parts(self, inputs: Inputs, dtype: torch.dtype) -> list[torch.Tensor]:
        parts = [F.one_hot(inputs["cat"], self.n_cat).to(dtype)] if self.n_cat else []
        return [*parts, inputs["cont"].to(dtype)]

    def info_loss(self, q_head: nn.Module, h: torch.Tensor, inputs: Inputs) -> torch.Tensor:
        """-L_I up to a constant, from Q's logits (no softmax before cross-entropy)."""
        q = q_head(h)
        loss = q.new_zeros(())
        if self.n_cat:
            loss = loss + F.cross_entropy(q[:, : self.n_cat], inputs["cat"])
        if self.n_cont:
            loss = loss + 0.5 * (q[:, self.n_cat :] - inputs["cont"]).pow(2).sum(1).mean()
        return loss

    def d_terms(self, game: Any, r_h, f_h, labels, inputs: Inputs, logs: Logs):
        info = self.info_loss(game.D.q, f_h, inputs)
        logs["info"] = info.detach()
        return self.cfg.info_weight * info

    def g_terms(self, game: Any, f_h, inputs: Inputs):
        return self.cfg.info_weight * self.info_loss(game.D.q, f_h, inputs)

    def fix(self, inputs: Inputs, n: int, classes: list[int], codes: dict[int, float], grid: bool):
        """``grid=True`` (sample pictures only) makes the categorical code vary along rows, a
        pattern that must not reach evaluation samples (with n = 10,000 it would give codes
        0-1 13.2 % each); ``codes`` {index: value} pin code 0 (categorical) or 1.. (continuous).
        """
        if classes:
            raise ConfigError("--class needs a conditional run (cgan, acgan, projection, ...)")
        cat, cont = inputs["cat"], inputs["cont"]
        if self.n_cat and grid:
            cat = (torch.arange(n) // max(1, round(math.sqrt(n)))) % self.n_cat
        for i, value in codes.items():
            if i == 0 and self.n_cat:
                if not 0 <= int(value) < self.n_cat:
                    raise ConfigError(f"code 0 is categorical: value must be 0..{self.n_cat - 1}")
                cat = torch.full((n,), int(value))
            elif 1 <= i <= self.n_cont:
                cont[:, i - 1] = float(value)
            else:
                raise ConfigError(
                    f"bad --code {i}: 0 is the categorical code, 1..{self.n_cont} continuous"
                )
        return {**inputs, "cat": cat, "cont": cont}


CONDITIONING: dict[str, type[Conditioning]] = {
    "none": Conditioning,
    "concat": Concat,
    "matching": Matching,
    "acgan": AuxiliaryClassifier,
    "projection": Projection,
    "cbn": ClassBatchNorm,
    "infogan": InfoCodes,
}
LABELLED = tuple(name for name, kind in CONDITIONING.items() if kind.labelled)


def build_conditioning(cfg: Any, num_classes: int = 0) -> Conditioning:
    """The scheme named by ``cfg.conditioning`` for a dataset of ``num_classes`` classes."""
    if cfg.conditioning not in CONDITIONING:
        raise ConfigError(
            f"bad value {cfg.conditioning!r} for 'conditioning': allowed values are "
            f"{', '.join(CONDITIONING)}"
        )
    return CONDITIONING[cfg.conditioning](cfg, num_classes)
