"""`ganforge export`: the generator alone, as TorchScript or ONNX, checked against PyTorch.

Two input conventions:

- ``vector``: one float input ``x`` of shape (N, in_dim), the exact vector G was trained on
  (z, then one-hot labels, then InfoGAN codes, in that order).
- ``latent``: the parts separately: ``z`` (N, z_dim) float; ``y`` (N,) int64 labels for
  conditional runs; ``cat`` (N,) int64 and ``cont`` (N, n_cont) float for InfoGAN. The one-hot
  encodings are built inside the model (a row lookup in an identity matrix).

The output is ``images`` (N, C, H, W) in [-1, 1]. The batch dimension is dynamic. G is in eval
mode (BatchNorm uses its running statistics; EMA weights when the run has them). After export the
file is loaded back and run on fresh inputs; the largest absolute difference from PyTorch is
returned and must stay within ``atol`` (1e-5 by default).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ganforge.errors import ConfigError, GanforgeError
from ganforge.run_dir import ensure_writable

if TYPE_CHECKING:
    from ganforge.training.loaded_run import LoadedRun

FORMATS = ("torchscript", "onnx")
INPUTS = ("vector", "latent")


class LatentGenerator(nn.Module):
    """G behind the latent convention: forward(z[, y][, cat][, cont]) -> images."""

    def __init__(self, G: nn.Module, num_classes: int = 0, n_cat: int = 0, n_cont: int = 0):
        super().__init__()
        self.G = G
        self.num_classes, self.n_cat, self.n_cont = num_classes, n_cat, n_cont
        self.register_buffer("eye_y", torch.eye(max(num_classes, 1)), persistent=False)
        self.register_buffer("eye_cat", torch.eye(max(n_cat, 1)), persistent=False)

    def forward(self, z: torch.Tensor, *rest: torch.Tensor) -> torch.Tensor:
        parts = [z]
        i = 0
        if self.num_classes:
            parts.append(self.eye_y[rest[i]])
            i += 1
        if self.n_cat or self.n_cont:
            if self.n_cat:
                parts.append(self.eye_cat[rest[i]])
            i += 1
            if self.n_cont:
                parts.append(rest[i])
        return self.G(torch.cat(parts, 1) if len(parts) > 1 else z)


@dataclass
class ExportSpec:
    """What the exported model takes: (name, shape with -1 for the batch, dtype) per input."""

    inputs: list[tuple[str, list[int], str]]

    def example(self, n: int, seed: int, game) -> tuple[torch.Tensor, ...]:
        """Inputs for ``n`` samples drawn as in training (z ~ N(0, I), labels uniform)."""
        inputs = game.draw_inputs(n, "cpu", torch.Generator().manual_seed(seed))
        if self.inputs[0][0] == "x":
            return (game.g_input(inputs),)
        return tuple(inputs[name] for name, _, _ in self.inputs)


def spec_for(game, input_kind: str) -> ExportSpec:
    """One input per entry of the game's generator-input dict (refused by games whose G
    takes images), or the one vector G takes."""
    drawn = game.draw_inputs(1, "cpu", torch.Generator())
    if input_kind == "vector":
        return ExportSpec([("x", [-1, game.g_input(drawn).shape[1]], "float32")])
    return ExportSpec(
        [(k, [-1, *v.shape[1:]], str(v.dtype).removeprefix("torch.")) for k, v in drawn.items()]
    )


def _module(G: nn.Module, game, input_kind: str) -> nn.Module:
    if input_kind == "vector":
        return G
    return LatentGenerator(G, game.num_classes, game.n_cat, game.n_cont).eval()


def _write_via_temp(out: Path, write) -> None:
    """Call ``write(tmp)`` for a hidden temporary beside ``out``, then move it onto ``out``.

    The temporary is removed on any failure (and on Ctrl-C), so a failed export leaves no
    ``.NAME.tmp`` behind and never replaces an existing ``out`` with a partial file.
    """
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        write(tmp)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)


def _export_torchscript(module: nn.Module, example: tuple, out: Path, meta: dict) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit's deprecation notice
        traced = torch.jit.trace(module, example, check_trace=False)
        traced = torch.jit.freeze(traced.eval())
    _write_via_temp(
        out,
        lambda tmp: torch.jit.save(
            traced, str(tmp), _extra_files={"ganforge.json": json.dumps(meta)}
        ),
    )


def _rename_inputs(graph, names: list[str]) -> None:
    """Give ``graph``'s inputs ``names``, first renaming any other value that already has one.

    The exporter names values after their ops (``torch.cat`` -> ``cat``); asking it for an
    input called ``cat`` (InfoGAN) gave two values one name, which ONNX refuses. Renaming after
    export keeps the graph in single-assignment form.
    """
    taken = {v for n in graph.node for v in (*n.input, *n.output)}
    taken |= {v.name for v in (*graph.input, *graph.output, *graph.initializer)}
    mapping: dict[str, str] = {}
    for value in sorted(taken & set(names)):
        k = 1
        while f"{value}_{k}" in taken:
            k += 1
        mapping[value] = f"{value}_{k}"
        taken.add(mapping[value])
    for inp, name in zip(graph.input, names, strict=True):
        mapping[inp.name] = name
    for node in graph.node:
        node.input[:] = [mapping.get(v, v) for v in node.input]
        node.output[:] = [mapping.get(v, v) for v in node.output]
    for value in (*graph.input, *graph.output, *graph.value_info, *graph.initializer):
        value.name = mapping.get(value.name, value.name)


def _onnx_program(module: nn.Module, example: tuple):
    """``torch.onnx.export`` (dynamo) with a dynamic batch; its failures as one clean line."""
    import logging
    import re
    import warnings

    batch = torch.export.Dim("batch", min=1, max=1 << 20)
    dynamic: tuple = tuple({0: batch} for _ in example)
    if isinstance(module, LatentGenerator):  # forward(z, *rest): the shapes nest the same way
        dynamic = (dynamic[0], dynamic[1:]) if len(example) > 1 else (dynamic[0],)
    quiet = logging.getLogger("torch.onnx")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # e.g. "torchvision is not installed" notices
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return torch.onnx.export(
                module,
                example,
                output_names=["images"],
                dynamic_shapes=dynamic,
                dynamo=True,
                optimize=True,
                verbose=False,
            )
        except ImportError as exc:
            raise GanforgeError(
                f"ONNX export needs onnxscript: pip install 'ganforge[export]' ({exc})"
            ) from None
        except Exception as exc:  # torch's message spans pages and carries colour codes
            first = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines() or [""]
            raise GanforgeError(
                f"ONNX export failed in torch.onnx ({type(exc).__name__}: {first[0]}); "
                "--format torchscript may work (GANFORGE_DEBUG=1 shows the cause)"
            ) from exc
        finally:
            quiet.setLevel(level)


def _export_onnx(module: nn.Module, example: tuple, names: list[str], out: Path, meta: dict):
    try:
        import onnx
    except ImportError:
        raise GanforgeError("ONNX export needs onnx: pip install 'ganforge[export]'") from None
    model = _onnx_program(module, example).model_proto
    _rename_inputs(model.graph, names)
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = f"ganforge.{key}", json.dumps(value)

    def write(tmp: Path) -> None:
        onnx.save_model(model, str(tmp))
        onnx.checker.check_model(str(tmp))

    _write_via_temp(out, write)


def load_exported(path: str | Path, fmt: str):
    """A callable ``f(*inputs) -> np.ndarray`` running the exported file.

    ONNX runs on onnxruntime when installed, else on onnx's reference evaluator.
    """
    import numpy as np

    path = Path(path)
    if fmt == "torchscript":
        model = torch.jit.load(str(path), map_location="cpu")

        def run_ts(*inputs):
            with torch.no_grad():
                return model(*[torch.as_tensor(np.asarray(a)) for a in inputs]).numpy()

        return run_ts
    try:
        import onnxruntime as ort

        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        names = [i.name for i in sess.get_inputs()]

        def run_ort(*inputs):
            return sess.run(None, dict(zip(names, [np.asarray(a) for a in inputs], strict=True)))[0]

        return run_ort
    except ImportError:
        from onnx.reference import ReferenceEvaluator

        ref = ReferenceEvaluator(str(path))
        names = list(ref.input_names)

        def run_ref(*inputs):
            feeds = dict(zip(names, [np.asarray(a) for a in inputs], strict=True))
            return ref.run(None, feeds)[0]

        return run_ref


def check_choices(fmt: str, input_kind: str) -> None:
    """Refuse an unknown format or input convention (before any run is loaded)."""
    if fmt not in FORMATS:
        raise ConfigError(f"bad --format {fmt!r}: choose torchscript or onnx")
    if input_kind not in INPUTS:
        raise ConfigError(f"bad --input {input_kind!r}: choose vector or latent")


def export_generator(
    run: LoadedRun,
    fmt: str,
    out: str | Path,
    input_kind: str = "vector",
    atol: float = 1e-5,
    check_n: int = 8,
) -> dict[str, Any]:
    """Export a loaded run's generator to ``out``; returns facts incl. ``max_abs_diff`` vs
    PyTorch."""
    check_choices(fmt, input_kind)
    return export_loaded(run.game, run.G, fmt, out, input_kind, atol, check_n, run.step)


def export_loaded(
    game,
    G: nn.Module,
    fmt: str,
    out: str | Path,
    input_kind: str = "vector",
    atol: float = 1e-5,
    check_n: int = 8,
    step: int | None = None,
) -> dict[str, Any]:
    """Export a generator already in memory (see :func:`export_generator`)."""
    out = Path(out)
    if out.is_dir():
        raise GanforgeError(f"bad --out {out}: it is a folder; give a file name")
    ensure_writable(out.parent, f"--out {out}")  # a read-only place: one line, before any work
    G = G.cpu().eval()
    spec = spec_for(game, input_kind)
    module = _module(G, game, input_kind)
    example = spec.example(4, 0, game)
    meta = {
        "inputs": [{"name": n, "shape": s, "dtype": d} for n, s, d in spec.inputs],
        "output": {"name": "images", "shape": [-1, *game.data_shape], "range": [-1, 1]},
        "step": step,
        "recipe": game.cfg.recipe,
    }
    if fmt == "torchscript":
        _export_torchscript(module, example, out, meta)
    else:
        _export_onnx(module, example, [n for n, _, _ in spec.inputs], out, meta)
    check = spec.example(check_n, 1, game)
    with torch.no_grad():
        expected = module(*check).float().numpy()
    got = load_exported(out, fmt)(*[t.numpy() for t in check])
    if got.shape != expected.shape:
        raise GanforgeError(
            f"exported model returned shape {got.shape}, PyTorch {expected.shape}; please report"
        )
    diff = float(abs(got - expected).max())
    if not diff <= atol:
        raise GanforgeError(
            f"exported model differs from PyTorch by {diff:.3g} (> {atol:g}); please report"
        )
    return {
        "path": str(out),
        "format": fmt,
        "max_abs_diff": diff,
        "checked_samples": check_n,
        **meta,
    }
