"""Helpers shared by the tests: tiny runs and image folders, subprocess runs, the outcome check
of a bad input, scripts/ as modules, and the bad-input catalogue."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
# Tiny models for CLI runs: a few hundred parameters train in milliseconds.
TINY = ["--set", "g_width=8", "--set", "d_width=8", "--batch-size", "16", "--set", "report=false"]


def tiny_folder(path: Path, n: int = 64, size: int = 8, seed: int = 0) -> Path:
    """``n`` random grayscale PNGs of ``size`` x ``size`` pixels."""
    path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        arr = rng.integers(0, 256, (size, size), dtype=np.uint8)
        Image.fromarray(arr, "L").save(path / f"img{i:03d}.png")
    return path


def rgb_folder(path: Path, n: int = 32, size: int = 32) -> Path:
    """``n`` procedural RGB PNGs of ``size`` px: a coloured disc on a coloured gradient."""
    path.mkdir(parents=True)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size]
    for i in range(n):
        bg = rng.integers(0, 256, 3)
        img = (bg[None, None] * (xx[..., None] / size)).astype(np.uint8)
        lo, hi = size // 4, size - size // 4
        cy, cx, r = rng.integers(lo, hi, 2).tolist() + [int(rng.integers(4, 9))]
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.integers(0, 256, 3)
        Image.fromarray(img, "RGB").save(path / f"p{i:03d}.png")
    return path


def write_png(path: Path, arr: np.ndarray) -> Path:
    """``arr`` (H, W) or (H, W, 3), values 0..255, as a PNG at ``path`` (folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(arr).astype(np.uint8)).save(path)
    return path


def tiny_args(folder: Path | None, out: Path, steps: int, *extra: str) -> list[str]:
    """CLI arguments of a tiny MLP GAN run on ``folder`` (None: ``extra`` names the dataset)."""
    return [
        "train",
        "gan",
        *(["--dataset", f"folder:{folder}"] if folder is not None else []),
        "--image-size",
        "8",
        "--channels",
        "1",
        "--steps",
        str(steps),
        "--out",
        str(out),
        "--batch-size",
        "16",
        "--set",
        "g_width=8",
        "--set",
        "d_width=8",
        "--set",
        "sample_every=100000",
        *extra,
    ]


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + e.get("PYTHONPATH", "")
    e["GANFORGE_OFFLINE"] = "1"
    e["OMP_NUM_THREADS"] = "1"
    e.pop("GANFORGE_DEBUG", None)
    return e


def popen(args: list[str]) -> subprocess.Popen:
    """``python -m ganforge ARGS`` in a subprocess (stdout/stderr captured)."""
    return subprocess.Popen(
        [sys.executable, "-m", "ganforge", *args],
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ganforge", *args],
        env=env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def error_line(err: str) -> str:
    """The one ``ganforge: error:`` line of ``err``; fails on none, several, or a traceback."""
    assert "Traceback" not in err and "internal error" not in err, err
    lines = [ln for ln in err.splitlines() if ln.startswith("ganforge: error:")]
    assert len(lines) == 1, err
    return lines[0]


def assert_outcome(desc: str, rc: int, out: str, err: str, expect: str, code: int) -> None:
    """A case of a catalogue ended as it should: exit ``code``; on 2 one error line holding
    ``expect``, otherwise ``expect`` in the output; never a traceback."""
    assert "Traceback" not in err and "internal error" not in err, (desc, err)
    assert rc == code, (desc, rc, err)
    if code == 2:
        assert expect in error_line(err), (desc, err)
    else:
        assert expect in out + err, (desc, out, err)


# ------------------------------------------------------------- the bad-input catalogue
# Each case builds its input under a scratch folder and returns the CLI arguments that use it
# and a fragment the one-line error (or, for handled inputs, the output) must contain. The
# tests run them all; scripts/bad_inputs_table.py prints the table in docs/robustness.md.


def _png_bytes(size: tuple[int, int] = (8, 8), mode: str = "L") -> bytes:
    import io

    buf = io.BytesIO()
    Image.new(mode, size, 128 if mode in ("L", "P", "1") else None).save(buf, "PNG")
    return buf.getvalue()


def _folder_with(tmp: Path, name: str, make) -> Path:
    folder = tiny_folder(tmp / name, n=20)
    make(folder)
    return folder


def _mixed(folder: Path) -> None:
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 256, (7, 13, 4), dtype=np.uint8), "RGBA").save(
        folder / "rgba.png"
    )
    Image.fromarray(rng.integers(0, 256, (50, 100, 3), dtype=np.uint8), "RGB").save(
        folder / "wide.jpg"
    )
    Image.new("P", (30, 30), 3).save(folder / "palette.gif")
    Image.new("1", (9, 9), 1).save(folder / "bilevel.bmp")
    Image.fromarray(rng.integers(0, 65535, (12, 12), dtype=np.uint16)).save(folder / "gray16.png")
    Image.new("CMYK", (10, 10), (0, 50, 100, 0)).save(folder / "cmyk.jpg")
    (folder / "notes.txt").write_text("not an image, ignored by its suffix\n")


def _idx_bytes(magic: bytes, shape: tuple[int, ...], payload: bytes) -> bytes:
    import struct

    return magic + b"".join(struct.pack(">I", s) for s in shape) + payload


def _idx_dir(
    tmp: Path, name: str, train_images: bytes, gz: bool = True, train_labels: bytes | None = None
) -> Path:
    """A folder with the four IDX files of fashion-mnist, train-images (and the raw label
    bytes of train-labels, if given) replaced."""
    import gzip

    d = tmp / name
    d.mkdir(parents=True, exist_ok=True)
    good_imgs = _idx_bytes(b"\x00\x00\x08\x03", (4, 28, 28), bytes(4 * 784))
    good_lbls = _idx_bytes(b"\x00\x00\x08\x01", (4,), bytes(4))
    files = {
        "train-images-idx3-ubyte.gz": train_images,
        "train-labels-idx1-ubyte.gz": (
            good_lbls
            if train_labels is None
            else _idx_bytes(b"\x00\x00\x08\x01", (4,), train_labels)
        ),
        "t10k-images-idx3-ubyte.gz": good_imgs,
        "t10k-labels-idx1-ubyte.gz": good_lbls,
    }
    for fname, data in files.items():
        if fname == "train-images-idx3-ubyte.gz" and not gz:
            (d / fname).write_bytes(data)  # raw bytes under the .gz name
        else:
            (d / fname).write_bytes(gzip.compress(data))
    return d


def bad_cases(tmp: Path) -> list[tuple[str, list[str], str, int]]:
    """(description, dataset args, expected fragment, expected exit code) for every bad input."""
    import gzip

    cases: list[tuple[str, list[str], str, int]] = []

    def folder_case(desc, name, make, expect, rc=2, skip=False):
        folder = _folder_with(tmp, name, make)
        extra = ["--set", "skip_bad=true"] if skip else []
        cases.append((desc, ["--dataset", f"folder:{folder}", *extra], expect, rc))

    corrupt = _png_bytes()[:30]
    folder_case(
        "corrupt PNG (cut after 30 bytes)",
        "corrupt",
        lambda f: (f / "corrupt.png").write_bytes(corrupt),
        "corrupt.png: ",
    )

    def half_png(f: Path) -> None:
        rng = np.random.default_rng(2)
        Image.fromarray(rng.integers(0, 256, (32, 32), dtype=np.uint8), "L").save(f / "cut.png")
        raw = (f / "cut.png").read_bytes()
        (f / "cut.png").write_bytes(raw[: len(raw) // 2])

    folder_case(
        "PNG truncated in its pixel data", "cut", half_png, "cut.png: image file is truncated"
    )
    folder_case(
        "zero-byte .png",
        "zero",
        lambda f: (f / "zero.png").write_bytes(b""),
        "zero.png is an empty (zero-byte) file",
    )
    folder_case(
        "text file named .jpg",
        "text",
        lambda f: (f / "text.jpg").write_text("hello\n"),
        "text.jpg: not an image PIL can decode",
    )

    def loop(f: Path) -> None:
        (f / "a.png").symlink_to(f / "b.png")
        (f / "b.png").symlink_to(f / "a.png")

    folder_case("symlink loop a.png -> b.png -> a.png", "loop", loop, "Too many levels of symbolic")
    folder_case(
        "dangling symlink",
        "dangling",
        lambda f: (f / "gone.png").symlink_to(f / "missing.png"),
        "gone.png: No such file or directory",
    )
    folder_case(
        "directory symlink loop (sub/up -> ..)",
        "dirloop",
        lambda f: ((f / "sub").mkdir(), (f / "sub" / "up").symlink_to(f)),
        "trained 1 steps",
        rc=0,
    )
    folder_case(
        "mixed sizes and modes (RGBA, RGB 100x50 JPEG, palette GIF, 1-bit BMP, 16-bit PNG, "
        "CMYK JPEG, a .txt)",
        "mixed",
        _mixed,
        "trained 1 steps",
        rc=0,
    )

    def gray16(f: Path) -> None:
        grad = (np.arange(64, dtype=np.uint16) * 1040).reshape(8, 8)
        for i in range(3):
            Image.fromarray(grad + i).save(f / f"deep{i}.png")  # mode I;16

    folder_case(
        "16-bit gray PNGs (scaled by their bit depth, not clipped to white)",
        "gray16",
        gray16,
        "trained 1 steps",
        rc=0,
    )

    def all_bad(f: Path) -> None:
        (f / "corrupt.png").write_bytes(corrupt)
        (f / "zero.png").write_bytes(b"")
        (f / "text.jpg").write_text("hello\n")

    folder_case(
        "corrupt + zero-byte + text-as-image with skip_bad=true",
        "skipped",
        all_bad,
        "skipped 3 unreadable image file(s)",
        rc=0,
        skip=True,
    )
    empty = tmp / "empty"
    empty.mkdir()
    cases.append(("empty folder", ["--dataset", f"folder:{empty}"], "no images found in", 2))
    only_text = tmp / "only-text"
    only_text.mkdir()
    (only_text / "readme.txt").write_text("x")
    cases.append(
        ("folder with no image files", ["--dataset", f"folder:{only_text}"], "no images found", 2)
    )
    every_bad = tmp / "every-bad"
    every_bad.mkdir()
    (every_bad / "x.png").write_bytes(b"")
    cases.append(
        (
            "every file bad, skip_bad=true",
            ["--dataset", f"folder:{every_bad}", "--set", "skip_bad=true"],
            "none of the 1 files",
            2,
        )
    )
    cases.append(
        (
            "folder does not exist",
            ["--dataset", f"folder:{tmp / 'nope'}"],
            "does not exist",
            2,
        )
    )
    a_file = tmp / "a-file.png"
    a_file.write_bytes(_png_bytes())
    cases.append(
        ("a file given as folder", ["--dataset", f"folder:{a_file}"], "is not a folder", 2)
    )

    # IDX archives (fashion-mnist layout in --data-dir)
    good = _idx_bytes(b"\x00\x00\x08\x03", (4, 28, 28), bytes(4 * 784))
    for desc, name, data, gz, expect in (
        ("IDX wrong magic number", "idx-magic", b"\x12\x34" + good[2:], True, "wrong magic"),
        ("IDX payload truncated", "idx-short", good[:-100], True, "is truncated or padded"),
        ("IDX header truncated", "idx-header", good[:9], True, "header incomplete"),
        (
            "gzip archive truncated",
            "idx-gz",
            gzip.compress(good)[:-20],
            False,
            "file corrupt or truncated?",
        ),
    ):
        d = _idx_dir(tmp, name, data, gz=gz)
        cases.append((desc, ["--dataset", "fashion-mnist", "--data-dir", str(d)], expect, 2))
    d = _idx_dir(tmp, "idx-labels", good, train_labels=bytes([3, 200, 1, 9]))
    cases.append(
        (
            "IDX labels out of range (200 with 10 classes)",
            ["--dataset", "fashion-mnist", "--data-dir", str(d)],
            "1 of 4 lie outside 0..9",
            2,
        )
    )
    # issue 24: silent fallbacks and ordinary problems once reported as internal errors
    cases.append(
        (
            "--data-dir that does not exist",
            ["--dataset", "fashion-mnist", "--data-dir", str(tmp / "no-such-dir")],
            "no-such-dir does not exist",
            2,
        )
    )
    cases.append(("--steps 0 (a zero budget)", ["--steps", "0"], "a budget must be > 0", 2))
    cases.append(
        (
            "--out below a file (cannot be created)",
            ["--dataset", f"folder:{tiny_folder(tmp / 'ok', n=20)}", "--out", str(a_file / "run")],
            "cannot create --out",
            2,
        )
    )
    return cases


def command_cases(tmp: Path, run: Path) -> list[tuple[str, list[str], str, int]]:
    """(description, full CLI arguments, expected fragment, exit code) for bad inputs to the
    other commands (eval, sample, translate, export), given a finished tiny unconditional run
    ``run`` (copied, never changed)."""
    import shutil

    tmp.mkdir(parents=True, exist_ok=True)
    cases: list[tuple[str, list[str], str, int]] = []
    (tmp / "text.npy").write_text("1 2 3\n")
    cases.append(
        (
            "text file named .npy (eval)",
            ["eval", str(tmp / "text.npy"), "--dataset", "digits"],
            "is not a .npy file (it lacks the .npy header)",
            2,
        )
    )
    (tmp / "empty.npy").write_bytes(b"")
    cases.append(
        (
            "empty .npy (eval)",
            ["eval", str(tmp / "empty.npy"), "--dataset", "digits"],
            "is not a .npy file (an empty file)",
            2,
        )
    )
    damaged = tmp / "damaged-run"
    shutil.copytree(run, damaged)
    for path in (damaged / "checkpoints").glob("step-*.safetensors"):
        path.write_text("damaged\n")
    cases.append(
        (
            "run whose every checkpoint is damaged (sample)",
            ["sample", str(damaged), "--out", str(tmp / "s.png")],
            "damaged file(s) in checkpoints/",
            2,
        )
    )
    Image.new("L", (8, 8), 0).save(tmp / "x.png")
    cases.append(
        (
            "translate with a GAN run",
            ["translate", str(run), "--input", str(tmp / "x.png"), "--out", str(tmp / "t")],
            "is an adversarial run",
            2,
        )
    )
    cases.append(
        (
            "export --input latent of an unconditional run (ONNX)",
            ["export", str(run), "--format", "onnx", "--input", "latent"]
            + ["--out", str(tmp / "g.onnx")],
            "wrote ",
            0,
        )
    )
    return cases


def feature_cases(tmp: Path) -> list[tuple[str, list[str], str, int]]:
    """(description, full CLI args, expected fragment, exit code) for bad input to `features
    train` and to `eval` of an own-folder run (issue 24 item 4). Makes a 1-step 16 px RGB run
    on a folder of coloured shapes in ``tmp``."""
    import contextlib
    import io

    from ganforge.cli import main

    folder = load_script("make_shapes").make_shapes(tmp / "shapes", n=20, size=16)
    run_dir = tmp / "folder-run"
    args = ["train", "dcgan", "--dataset", f"folder:{folder}", "--image-size", "16"]
    args += ["--channels", "3", "--steps", "1", "--batch-size", "16", "--out", str(run_dir)]
    args += ["--set", "g_width=8", "--set", "d_width=8", "--set", "report=false"]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(args) == 0, "the folder run for the feature cases did not train"
    kept = tmp / "kept.safetensors"
    kept.write_bytes(b"mine")
    npy = tmp / "x.npy"
    np.save(npy, np.zeros((4, 1, 28, 28), dtype=np.uint8))
    evals = ["eval", str(run_dir), "--n", "50", "--allow-small"]
    return [
        ("eval of a folder run, no extractor", evals, "make one with `ganforge features train", 2),
        (
            "eval of a 16 px RGB run with --features fashion-mnist",
            [*evals, "--features", "fashion-mnist"],
            "takes 1x28x28 images but run",
            2,
        ),
        (
            "eval --features FILE.safetensors that does not exist",
            ["eval", str(npy), "--features", str(tmp / "missing.safetensors")],
            "not found",
            2,
        ),
        (
            "features train on a missing folder",
            ["features", "train", f"folder:{tmp / 'nope'}", "--out", str(tmp / "n.safetensors")],
            "does not exist",
            2,
        ),
        (
            "features train --out not .safetensors",
            ["features", "train", str(folder), "--out", str(tmp / "f.pt")],
            "must end in .safetensors",
            2,
        ),
        (
            "features train --steps 0",
            ["features", "train", str(folder), "--steps", "0", "--out", str(tmp / "z.safetensors")],
            "bad --steps 0",
            2,
        ),
        (
            "features train onto an existing file",
            ["features", "train", str(folder), "--out", str(kept)],
            "exists; pass --force",
            2,
        ),
    ]


def load_script(name: str, folder: str = "scripts") -> ModuleType:
    """The module ``FOLDER/NAME.py`` (scripts and benchmarks are not packages), imported once."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
