"""Training throughput of ganforge against the tutorial-style reference loop, in one process.

For each recipe (``gan``, ``dcgan``, ``wgan-gp``) the ganforge trainer (its real ``run`` loop,
extended segment by segment) and :class:`reference_loop.ReferenceLoop` are run alternately,
``--rounds`` times ``--steps`` steps each, so that both see the same machine load; the table
gives the median images/sec and ms/step of every variant, the ratio to the reference, the
FLOPs of one training step (``torch.utils.flop_counter``'s formulas, forward and
backward of G and D, penalty included) and the achieved GFLOP/s = FLOPs/step / s/step.

It also measures (1) the machine's conv throughput: a large 3x3 convolution, forward and
backward, the best this CPU reaches for conv arithmetic, and DCGAN's own conv layers alone,
and (2) the generator's sampling throughput (eval mode, no autograd).

    nice -n 10 python benchmarks/throughput.py --recipes gan dcgan wgan-gp --rounds 3
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_loop import ReferenceLoop  # noqa: E402

from ganforge.recipes import get_recipe  # noqa: E402
from ganforge.run_hooks import view_hooks  # noqa: E402
from ganforge.study.budget import count_flops  # noqa: E402
from ganforge.training.trainer import Trainer  # noqa: E402


# -- ganforge through its own loop -------------------------------------------------------
class GanforgeRunner:
    """A Trainer whose budget is extended by ``n`` steps per call; the real ``run`` loop."""

    def __init__(self, recipe: str, batch_size: int, **overrides):
        self.tmp = tempfile.TemporaryDirectory(prefix="ganforge-bench-")
        cfg = get_recipe(recipe).config(
            batch_size=batch_size,
            steps=1,
            device="cpu",
            log_every=10**6,
            sample_every=10**6,
            checkpoint_minutes=0,
            keep_checkpoints=1,
            **overrides,
        )
        run = Path(self.tmp.name) / "run"
        self.trainer = Trainer(cfg, run, progress=False, hooks=view_hooks(cfg))
        self.images_per_step = cfg.batch_size * cfg.d_steps

    def seconds_for(self, n: int) -> float:
        t = self.trainer
        t.cfg = t.cfg.with_overrides({"steps": t.step + n})
        summary = t.run()  # its wall time covers the loop only, not the final save
        return n * self.images_per_step / summary.images_per_sec

    def step_flops(self) -> int:
        """FLOPs of one step, counted on a copy of the game (the loop's own arithmetic)."""
        t = self.trainer
        game = copy.deepcopy(t.game)
        from ganforge.training import precision

        def step() -> None:
            with precision.autocast(t.cfg.precision, t.device):
                for i in range(t.cfg.d_steps):
                    batch = next(t.batches)
                    loss, _, fakes = game.d_loss(batch, 0, i == t.cfg.d_steps - 1)
                    loss.backward()
                game.D.requires_grad_(False)
                loss, _ = game.g_loss(batch, 0, fakes)
                loss.backward()

        return count_flops(step)

    def generator(self) -> nn.Module:
        return self.trainer.game.G


class ReferenceRunner:
    def __init__(self, recipe: str, batch_size: int, **overrides):
        self.loop = ReferenceLoop(recipe, batch_size, **overrides)
        self.images_per_step = self.loop.images_per_step()

    def seconds_for(self, n: int) -> float:
        t = time.perf_counter()
        for _ in range(n):
            self.loop.step()
        return time.perf_counter() - t

    def step_flops(self) -> int:
        return count_flops(self.loop.step)


# -- conv throughput ---------------------------------------------------------------------
def conv_gflops(layer: nn.Module, x: torch.Tensor, reps: int, backward: bool = True) -> float:
    """GFLOP/s of ``layer`` on ``x`` (forward, and backward when asked), FLOPs counted."""
    x = x.requires_grad_(backward)

    def once():
        y = layer(x)
        if backward:
            y.sum().backward()

    with FlopCounterMode(display=False) as fc:
        once()
    flops = fc.get_total_flops()
    once()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        once()
        times.append(time.perf_counter() - t)
    return flops / statistics.median(times) / 1e9


def machine_conv_throughput(reps: int, channels_last: bool) -> float:
    """A large 3x3 conv, forward + backward: what this CPU's conv kernels reach."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    layer = nn.Conv2d(128, 128, 3, padding=1).to(memory_format=fmt)
    x = torch.randn(64, 128, 14, 14).contiguous(memory_format=fmt)
    return conv_gflops(layer, x, reps)


def dcgan_layers_throughput(trainer: Trainer, reps: int) -> float:
    """DCGAN's own conv layers alone (forward + backward), in the run's memory format."""
    flops, seconds = 0, 0.0
    fmt = torch.channels_last if trainer.cfg.channels_last else torch.contiguous_format
    batch = trainer.cfg.batch_size
    shapes: list[tuple[nn.Module, tuple[int, ...]]] = []
    x = torch.zeros(batch, *trainer.game.data_shape)
    for m in trainer.game.D.modules():
        if isinstance(m, nn.Conv2d):
            shapes.append((m, tuple(x.shape)))
            x = m(x)
    x = torch.zeros(batch, *trainer.game.G.start)
    for m in trainer.game.G.modules():
        if isinstance(m, nn.ConvTranspose2d):
            shapes.append((m, tuple(x.shape)))
            x = m(x)
    for m, shape in shapes:
        layer = copy.deepcopy(m).to(memory_format=fmt)
        inp = torch.randn(shape).contiguous(memory_format=fmt)
        g = conv_gflops(layer, inp, reps)
        with FlopCounterMode(display=False) as fc:
            layer(inp.detach().requires_grad_(True)).sum().backward()
        flops += fc.get_total_flops()
        seconds += fc.get_total_flops() / (g * 1e9)
    return flops / seconds / 1e9


# -- sampling ----------------------------------------------------------------------------
@torch.inference_mode()
def sampling_rate(G: nn.Module, z_dim: int, n: int, reps: int) -> float:
    was = G.training
    G.eval()
    z = torch.randn(n, z_dim)
    G(z)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        G(z)
        times.append(time.perf_counter() - t)
    G.train(was)
    return n / statistics.median(times)


# -- main ---------------------------------------------------------------------------------
def bench_recipe(recipe: str, args) -> list[dict]:
    variants: dict[str, object] = {"reference fp32": ReferenceRunner(recipe, args.batch_size)}
    for prec in args.precision:
        extra = {"precision": prec}
        if args.compile:  # measure compiled steps only: no trial against eager
            extra.update(compile=True, compile_trial=0)
        variants[f"ganforge {prec}"] = GanforgeRunner(recipe, args.batch_size, **extra)
        if args.channels_last_off and recipe != "gan":
            variants[f"ganforge {prec} no-CL"] = GanforgeRunner(
                recipe, args.batch_size, channels_last=False, **extra
            )
    flops = {name: v.step_flops() for name, v in variants.items()}
    for v in variants.values():  # warm-up (and compilation)
        v.seconds_for(args.warmup)
    times: dict[str, list[float]] = {name: [] for name in variants}
    peaks: list[float] = []
    for _ in range(args.rounds):
        for name, v in variants.items():
            times[name].append(v.seconds_for(args.steps) / args.steps)
        if recipe == "dcgan":  # the machine's conv throughput under the same load
            peaks.append(machine_conv_throughput(3, channels_last=True))
    ref = statistics.median(times["reference fp32"])
    rows = []
    for name, v in variants.items():
        s = statistics.median(times[name])
        rows.append(
            {
                "recipe": recipe,
                "variant": name,
                "images/s": v.images_per_step / s,
                "ms/step": 1000 * s,
                "GFLOP/step": flops[name] / 1e9,
                "GFLOP/s": flops[name] / s / 1e9,
                "x reference": ref / s,
            }
        )
    gf = variants[f"ganforge {args.precision[0]}"]
    G = gf.generator()
    z_dim = gf.trainer.cfg.z_dim
    rows.append(
        {
            "recipe": recipe,
            "variant": "G sampling (ganforge G, eval, batch 256)",
            "images/s": sampling_rate(G, z_dim, 256, args.rounds * 3),
        }
    )
    if recipe == "dcgan":
        peak = statistics.median(peaks)
        rows.append(
            {
                "recipe": recipe,
                "variant": "machine conv: 3x3 conv 128->128, 64x128x14x14, fwd+bwd (interleaved)",
                "GFLOP/s": peak,
                "peak": True,
            }
        )
        rows.append(
            {
                "recipe": recipe,
                "variant": "DCGAN's own conv layers alone (fwd+bwd)",
                "GFLOP/s": dcgan_layers_throughput(gf.trainer, 5),
            }
        )
    return rows


def print_table(rows: list[dict]) -> None:
    cols = ["recipe", "variant", "images/s", "ms/step", "GFLOP/step", "GFLOP/s", "x reference"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c, "")
            cells.append(
                f"{v:.2f}"
                if isinstance(v, float) and v < 10
                else (f"{v:.0f}" if isinstance(v, float) else str(v))
            )
        print("| " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipes", nargs="+", default=["gan", "dcgan", "wgan-gp"])
    ap.add_argument("--precision", nargs="+", default=["fp32", "bf16"], choices=("fp32", "bf16"))
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20, help="timed steps per segment")
    ap.add_argument("--rounds", type=int, default=3, help="alternations of the variants")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    ap.add_argument("--compile", action="store_true", help="ganforge with compile=true")
    ap.add_argument("--channels-last-off", action="store_true", help="also channels_last=false")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"CPU capability {torch.backends.cpu.get_cpu_capability()}",
        flush=True,
    )
    peak = machine_conv_throughput(5, channels_last=True)
    peak_nchw = machine_conv_throughput(5, channels_last=False)
    print(
        f"conv 3x3 128->128 on 64x128x14x14, fwd+bwd, at start: {peak:.1f} GFLOP/s "
        f"channels_last, {peak_nchw:.1f} GFLOP/s NCHW",
        flush=True,
    )
    rows: list[dict] = []
    for recipe in args.recipes:
        rows += bench_recipe(recipe, args)
    print_table(rows)
    best = next((r["GFLOP/s"] for r in rows if r.get("peak")), None)
    for r in rows:
        if best and r["recipe"] == "dcgan" and r["variant"].startswith("ganforge"):
            print(
                f"DCGAN step, {r['variant']}: {r['GFLOP/s']:.1f} GFLOP/s = "
                f"{100 * r['GFLOP/s'] / best:.0f}% of the measured conv throughput "
                f"({best:.1f} GFLOP/s, target >= 70%)"
            )


if __name__ == "__main__":
    main()
