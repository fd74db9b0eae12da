"""Typed run configuration: one dataclass, validated at the edge, saved with every run.

Every field has a type, a help text and, where the set is closed, its allowed values. ``--set
key=value`` on the command line and ``train(**overrides)`` in Python both go through
:func:`Config.with_overrides`, which names the key and the allowed values on any error.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, fields
from typing import Any

from ganforge import augment as augmentations
from ganforge import losses, penalties
from ganforge.conditioning import CONDITIONING as SCHEMES
from ganforge.config_attention import check_attention
from ganforge.config_families import ARCH_CHOICES, GAME_CHOICES, FamilyKeys
from ganforge.config_field import _f
from ganforge.config_inpaint import check_inpaint
from ganforge.config_progressive import check_progressive
from ganforge.config_rules import IDLE_UNLESS
from ganforge.config_stargan import check_stargan
from ganforge.config_style import check_style
from ganforge.config_superres import check_superres
from ganforge.errors import ConfigError

REJECTION = ("none", "drs")
# the choices of the parts come from their registries, the only lists of them
LOSSES = tuple(losses.LOSSES)
PENALTIES = ("none", *penalties.D_PENALTIES)
G_PENALTIES = ("none", *penalties.G_PENALTIES)
NORMS = ("batch", "layer", "instance", "none")
CONDITIONING = tuple(SCHEMES)
PRECISION_HELP = "arithmetic precision; auto = bf16 where the CPU has it natively, else fp32"


@dataclass
class Config(FamilyKeys):
    """The full, resolved configuration of one training run.

    The keys of the later families (progressive/style, attention/scale, restoration) live in
    their own modules (``config_*.py``) and are inherited through :class:`FamilyKeys`; they
    are ordinary fields of this class.
    """

    # what
    recipe: str = _f("dcgan", "named recipe the run started from")
    dataset: str = _f("fashion-mnist", "dataset name, folder:PATH, paired:PATH or unpaired:PATH")
    data_dir: str | None = _f(None, "directory holding the dataset files (searched first)")
    image_size: int = _f(0, "image side in pixels; 0 keeps the dataset's own", minimum=0)
    channels: int = _f(0, "1 (grayscale) or 3 (RGB); 0 keeps the dataset's own", minimum=0)
    # game and models
    game: str = _f(
        "adversarial",
        "what one D and one G step compute",
        GAME_CHOICES,
    )
    arch: str = _f("dcgan", "network family", ARCH_CHOICES)
    z_dim: int = _f(100, "latent dimension", minimum=1)
    g_width: int = _f(
        64, "generator width (base channels, or first hidden size for MLPs)", minimum=1
    )
    d_width: int = _f(64, "discriminator width (base channels or hidden size)", minimum=1)
    g_norm: str = _f("batch", "generator normalisation", NORMS)
    d_norm: str = _f("batch", "discriminator normalisation", NORMS)
    spectral_norm: bool = _f(False, "spectral normalisation on every D layer (Miyato et al. 2018)")
    self_attention: bool = _f(False, "self-attention block in G and D (Zhang et al. 2019)")
    # objective
    loss: str = _f("non-saturating", "adversarial loss", LOSSES)
    penalty: str = _f("none", "regulariser on D", PENALTIES)
    penalty_weight: float = _f(10.0, "lambda of the penalty", minimum=0)
    clip: float = _f(0.0, "weight clipping bound c of WGAN; 0 disables", minimum=0)
    g_penalty: str = _f(
        "none", "regulariser on G: path_length (Karras et al. 2020, StyleGAN2)", G_PENALTIES
    )
    g_penalty_weight: float = _f(2.0, "weight of the G regulariser", minimum=0)
    g_penalty_every: int = _f(
        1, "lazy regularisation: G regulariser every k-th step, weighted by k", minimum=1
    )
    conditioning: str = _f("none", "how labels enter G and D", CONDITIONING)
    num_classes: int = _f(0, "classes for conditioning; 0 = the dataset's", minimum=0)
    info_categorical: int = _f(10, "InfoGAN: size of the categorical code", minimum=0)
    info_continuous: int = _f(2, "InfoGAN: number of continuous codes", minimum=0)
    info_weight: float = _f(1.0, "InfoGAN: weight of the mutual-information term", minimum=0)
    aux_weight: float = _f(1.0, "ACGAN: weight of the auxiliary classification loss", minimum=0)
    # optimisation
    optimizer: str = _f("adam", "optimiser of both players", ("adam", "rmsprop"))
    lr_g: float = _f(2e-4, "generator learning rate", minimum=0)
    lr_d: float = _f(2e-4, "discriminator learning rate", minimum=0)
    beta1: float = _f(0.5, "Adam beta1", minimum=0)
    beta2: float = _f(0.999, "Adam beta2", minimum=0)
    d_steps: int = _f(1, "discriminator steps per generator step (k, n_critic)", minimum=1)
    batch_size: int = _f(64, "global batch size", minimum=1)
    steps: int = _f(0, "budget: generator steps (0 = use epochs/minutes)", minimum=0)
    epochs: float = _f(0.0, "budget: passes over the data", minimum=0)
    minutes: float = _f(0.0, "budget: wall-clock minutes", minimum=0)
    seed: int = _f(0, "random seed", minimum=0)
    device: str = _f("auto", "where to train", ("auto", "cpu", "cuda"))
    precision: str = _f("auto", PRECISION_HELP, ("auto", "fp32", "bf16", "fp16"))
    compile: bool = _f(
        False, "torch.compile G and D (eager where it fails or is slower; see compile_trial)"
    )
    compile_trial: int = _f(
        10,
        "with compile: after 2 warm-up steps, time this many steps with compiled and as many "
        "with eager forwards, alternately, and keep the faster; 0 = keep compiled untimed",
        minimum=0,
    )
    channels_last: bool = _f(True, "channels_last memory format for conv models")
    threads: int = _f(
        0, "CPU threads for torch ops; 0 = auto (free cores, said at start)", minimum=0
    )
    # tricks
    label_smoothing: float = _f(0.0, "one-sided label smoothing: real target 1 - s", minimum=0)
    instance_noise: float = _f(0.0, "std of Gaussian noise added to D inputs at step 0", minimum=0)
    instance_noise_steps: int = _f(
        0, "anneal instance noise linearly to 0 over these steps", minimum=0
    )
    augment: str = _f(
        "",
        "DiffAugment policy on every D input (Zhao et al. 2020): comma-separated names of "
        f"{', '.join(augmentations.POLICIES)}, e.g. color,translation,cutout; empty = off",
    )
    ema: float = _f(0.0, "EMA decay of generator weights (e.g. 0.999); 0 disables", minimum=0)
    pack: int = _f(1, "PacGAN: samples packed into one D input", minimum=1)
    unroll: int = _f(0, "unrolled GAN: D steps looked ahead by G", minimum=0)
    rejection: str = _f(
        "none", "sampling: drs = discriminator rejection sampling (Azadi et al. 2019)", REJECTION
    )
    drs_beta: float = _f(
        1.0,
        "DRS: accept with probability exp(beta (logit - max)); 1 = exact density-ratio "
        "correction, > 1 keeps what D finds most real (quality over diversity)",
        minimum=0,
    )
    drs_calibration: int = _f(
        0,
        "DRS: steps of a fresh classifier fitted, after training, to tell real data from G's "
        "samples; its logit replaces D's (Grover et al. 2019); 0 = use D's own logit",
        minimum=0,
    )
    drs_fourier: float = _f(
        4.0,
        "DRS calibration classifier: scale of its random Fourier features, in cycles per unit "
        "of x (about 1 / the finest detail to resolve); 0 = a plain MLP",
        minimum=0,
    )
    # bookkeeping
    log_every: int = _f(50, "steps between metric lines", minimum=1)
    sample_every: int = _f(0, "steps between sample grids; 0 = about 10 grids per run", minimum=0)
    checkpoint_every: int = _f(0, "steps between checkpoints; 0 = only at the end", minimum=0)
    checkpoint_minutes: float = _f(10.0, "minutes between checkpoints; 0 disables", minimum=0)
    keep_checkpoints: int = _f(3, "how many recent checkpoints to keep", minimum=1)
    eval_every: int = _f(0, "steps between FD evaluations; 0 disables", minimum=0)
    eval_samples: int = _f(2048, "samples for FD during training", minimum=2)
    on_nan: str = _f("stop", "what to do on a non-finite loss", ("stop", "skip"))
    tensorboard: bool = _f(False, "write TensorBoard event files")
    report: bool = _f(True, "write report.html and timelapse.gif at the end of training")
    skip_bad: bool = _f(False, "skip unreadable images in folders instead of refusing")
    # image-to-image
    l1_weight: float = _f(100.0, "pix2pix: weight of the L1 term", minimum=0)
    cycle_weight: float = _f(10.0, "CycleGAN: weight of cycle consistency", minimum=0)
    identity_weight: float = _f(
        0.5, "CycleGAN: identity loss as a fraction of cycle_weight", minimum=0
    )
    pool_size: int = _f(50, "CycleGAN: image pool of past fakes", minimum=0)
    lr_decay_start: float = _f(
        0.5, "CycleGAN, StarGAN: fraction of the run after which lr decays", minimum=0
    )

    # -- (de)serialisation -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any], strict: bool = True) -> Config:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown and strict:
            raise ConfigError(
                f"unknown config key '{unknown[0]}' (see `ganforge train --help-keys`)"
            )
        cfg = cls()
        return cfg.with_overrides({k: v for k, v in data.items() if k in known})

    def with_overrides(self, overrides: dict[str, Any]) -> Config:
        """Return a copy with ``overrides`` applied; strings are parsed to the field's type."""
        by_name = {f.name: f for f in fields(self)}
        values = self.to_dict()
        for key, raw in overrides.items():
            if key not in by_name:
                close = [n for n in by_name if key.replace("-", "_") == n]
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise ConfigError(
                    f"unknown config key '{key}'{hint} (`ganforge train --help-keys` lists them)"
                )
            values[key] = _coerce(by_name[key], raw)
        cfg = Config(**values)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        """Check values against choices and bounds, and the cross-field rules."""
        for f in fields(self):
            value = getattr(self, f.name)
            choices = f.metadata.get("choices")
            if choices is not None and value not in choices:
                raise ConfigError(
                    f"bad value {value!r} for '{f.name}': allowed values are {', '.join(choices)}"
                )
            minimum = f.metadata.get("minimum")
            if minimum is not None and value is not None and value < minimum:
                raise ConfigError(f"bad value {value!r} for '{f.name}': must be >= {minimum}")
        self._refuse_idle_keys()
        check_superres(self)
        check_progressive(self)
        check_inpaint(self)
        check_attention(self)
        check_style(self)
        if self.channels not in (0, 1, 3):
            raise ConfigError(f"bad value {self.channels} for 'channels': allowed values are 1, 3")
        augmentations.parse_policy(self.augment)
        if self.augment and self.penalty == "slope":
            # the slope |D(T x1) - D(T x2)| / ||x1 - x2|| needs one transform T for both points
            # of a pair; DiffAugment draws one per row, so the quotient would mix two functions
            raise ConfigError(
                "penalty=slope does not work with augment: the two points of a slope pair "
                "would get different random transforms; use penalty=gp, or augment="
            )
        d_penalty = penalties.D_PENALTIES.get(self.penalty)
        if d_penalty is not None and d_penalty.per_sample and self.d_norm == "batch":
            raise ConfigError(
                f"d_norm=batch is not allowed with penalty={self.penalty}: BatchNorm mixes the "
                "samples a gradient penalty treats independently; use d_norm=layer, "
                "instance or none"
            )
        for key in ("g_norm", "d_norm"):
            if self.arch == "mlp" and getattr(self, key) == "instance":
                raise ConfigError(
                    f"bad value 'instance' for '{key}' with arch=mlp: instance norm needs "
                    "images; use batch, layer or none"
                )
        if self.beta1 >= 1 or self.beta2 >= 1:
            raise ConfigError("bad value for 'beta1'/'beta2': Adam betas must be < 1")
        if self.ema >= 1:
            raise ConfigError(f"bad value {self.ema} for 'ema': the decay must be < 1")
        if self.ema and self.game != "adversarial" and self.g_norm == "batch":
            raise ConfigError(
                f"ema does not work with game={self.game} and g_norm=batch: the averaged G's "
                "BatchNorm statistics are re-estimated from latents, and this G takes images; "
                "use --set g_norm=instance, or ema=0"
            )
        if self.label_smoothing >= 1:
            raise ConfigError("bad value for 'label_smoothing': must be in [0, 1)")
        if self.drs_beta <= 0:
            raise ConfigError(f"bad value {self.drs_beta} for 'drs_beta': must be > 0")
        if self.drs_calibration and self.arch != "toy":
            raise ConfigError(
                f"drs_calibration works on the 2-D toy data only (arch=toy), not arch={self.arch}"
            )
        if self.rejection == "drs":
            if self.conditioning != "none":
                raise ConfigError(
                    f"rejection=drs does not work with conditioning={self.conditioning}; "
                    "use rejection=none"
                )
            why = next((w for w in self._drs_obstacles() if w), "")
            if why and not self.drs_calibration:
                raise ConfigError(
                    f"rejection=drs does not work with {why}; use rejection=none, or "
                    "drs_calibration=1000 to fit a classifier for it after training"
                )
        check_stargan(self)
        if self.batch_size % self.pack:
            raise ConfigError(
                f"bad value {self.pack} for 'pack': batch_size {self.batch_size} must be a "
                "multiple of it"
            )

    def _drs_obstacles(self) -> list[str]:
        """Why D's logit at the end of training is not log p_data/p_G of the sampled G (Azadi
        et al. 2019 need the optimal D of the plain GAN objective for that very G)."""
        return [
            f"loss={self.loss} (D's logit is a density ratio only for non-saturating/minimax)"
            if self.loss not in ("non-saturating", "minimax")
            else "",
            f"pack={self.pack} (D judges packs, not samples)" if self.pack > 1 else "",
            f"ema={self.ema} (D's logit is the density ratio of the live G, not of the averaged "
            "G that is sampled)"
            if self.ema
            else "",
            f"label_smoothing={self.label_smoothing} (D's optimum is then not the density ratio)"
            if self.label_smoothing
            else "",
            f"instance_noise={self.instance_noise} (D learns the ratio of the noised densities)"
            if self.instance_noise
            else "",
            f"augment={self.augment} (D was trained on augmented images: its logit on plain "
            "samples is not the density ratio)"
            if self.augment
            else "",
            "d_norm=batch (D's eval-mode statistics differ from the batch statistics it was "
            "trained with)"
            if self.d_norm == "batch"
            else "",
        ]

    def _refuse_idle_keys(self) -> None:
        """Every key set away from its default must act: one that cannot in this setting is
        refused with the reason, rather than accepted and ignored."""
        defaults = Config()
        for key, (acts, where) in IDLE_UNLESS.items():
            if getattr(self, key) != getattr(defaults, key) and not acts(self):
                raise ConfigError(
                    f"'{key}' has no effect here: it acts only {where}; remove --set {key}=..."
                )


def base_type(tp: Any) -> tuple[type, bool]:
    """The concrete type of a field and whether it may be None."""
    if isinstance(tp, str):
        tp = eval(tp, {"Any": Any}, {})  # annotations are postponed strings
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0], True
    return tp, False


def _coerce(f: dataclasses.Field, raw: Any) -> Any:
    tp, optional = base_type(f.type)
    if optional and (raw is None or (isinstance(raw, str) and raw.lower() in ("none", "null"))):
        return None
    try:
        if tp is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if tp is int:
            if isinstance(raw, bool):
                raise ValueError
            if isinstance(raw, float) and not raw.is_integer():
                raise ValueError
            return int(str(raw)) if isinstance(raw, str) else int(raw)
        if tp is float:
            if isinstance(raw, bool):
                raise ValueError
            value = float(raw)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError
            return value
        if tp is str:
            if not isinstance(raw, str):
                raise ValueError
            return raw
    except (TypeError, ValueError):
        pass
    else:
        return raw
    choices = f.metadata.get("choices")
    expected = (
        ", ".join(choices)
        if choices
        else {bool: "true or false", int: "an integer", float: "a number", str: "a string"}[tp]
    )
    raise ConfigError(f"bad value {raw!r} for '{f.name}': expected {expected}")


def parse_set_args(items: list[str]) -> dict[str, str]:
    """Parse ``["key=value", ...]`` from ``--set``."""
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"bad --set '{item}': expected key=value, e.g. --set d_steps=2")
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def describe_keys() -> str:
    """One line per key: name, type, default, help and choices."""
    lines = []
    for f in fields(Config):
        choices = f.metadata.get("choices")
        extra = f" [{'|'.join(choices)}]" if choices else ""
        lines.append(f"{f.name:22s} {f.default!r:>18}  {f.metadata['help']}{extra}")
    return "\n".join(lines)
