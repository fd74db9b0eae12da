"""IDX files (MNIST's format): where to find them, how to download and verify them, how to read them.

Search order for a named IDX dataset: ``--data-dir``, ``$GANFORGE_DATA``, Debian's
``/usr/share/datasets/<name>``, the user cache ``~/.cache/ganforge/<name>``, then a download from
the official mirrors into that cache, each file verified against its SHA-256.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganforge.errors import DataError
from ganforge.run_dir import file_mode

IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4")}


@dataclass(frozen=True)
class IdxSpec:
    """A dataset published as four IDX files, with mirrors and the SHA-256 of each file."""

    name: str
    mirrors: tuple[str, ...]
    sha256: dict[str, str]  # file name -> SHA-256 of the file as served (gzipped)

    @property
    def files(self) -> dict[str, str]:
        return {
            "train-images": "train-images-idx3-ubyte.gz",
            "train-labels": "train-labels-idx1-ubyte.gz",
            "test-images": "t10k-images-idx3-ubyte.gz",
            "test-labels": "t10k-labels-idx1-ubyte.gz",
        }


FASHION_MNIST = IdxSpec(
    name="fashion-mnist",
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    sha256={
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
)

MNIST = IdxSpec(
    name="mnist",
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    sha256={
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
)

IDX_DATASETS = {spec.name: spec for spec in (FASHION_MNIST, MNIST)}


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (optionally gzipped) into a numpy array, checking magic and size."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(
            f"cannot read IDX file {path}: {exc} (file corrupt or truncated?)"
        ) from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise DataError(f"{path} is not an IDX file (wrong magic number {raw[:4].hex() or 'none'})")
    dtype, ndim = np.dtype(IDX_TYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"IDX file {path} is truncated (header incomplete)")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise DataError(
            f"IDX file {path} is truncated or padded: {len(raw)} bytes, header says {expected}"
        )
    return (
        np.frombuffer(raw, dtype=dtype, offset=header)
        .reshape(shape)
        .astype(dtype.newbyteorder("="))
    )


def check_data_dir(data_dir: str | Path | None) -> None:
    """Refuse a ``--data-dir`` that is not an existing folder (it used to be skipped silently,
    so the data came from elsewhere without a word)."""
    if not data_dir:
        return
    path = Path(data_dir).expanduser()
    if not path.exists():
        raise DataError(f"--data-dir {data_dir} does not exist: give the folder holding the data")
    if not path.is_dir():
        raise DataError(f"--data-dir {data_dir} is not a folder")


def candidate_dirs(name: str, data_dir: str | None = None) -> list[Path]:
    """Where a named IDX dataset is looked for, in order."""
    dirs: list[Path] = []
    for base in (data_dir, os.environ.get("GANFORGE_DATA")):
        if base:
            dirs += [Path(base).expanduser(), Path(base).expanduser() / name]
    dirs.append(Path("/usr/share/datasets") / name)
    dirs.append(cache_dir() / name)
    return dirs


def cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "ganforge"


def _find_file(directory: Path, gz_name: str) -> Path | None:
    for candidate in (directory / gz_name, directory / gz_name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def locate(spec: IdxSpec, data_dir: str | None = None, download: bool = True) -> dict[str, Path]:
    """Find the four files of ``spec`` (see module docstring for the order); download if allowed."""
    check_data_dir(data_dir)
    searched = candidate_dirs(spec.name, data_dir)
    for directory in searched:
        found = {key: _find_file(directory, fname) for key, fname in spec.files.items()}
        if all(found.values()):
            return found  # type: ignore[return-value]
    places = ", ".join(str(d) for d in dict.fromkeys(searched))
    hint = (
        f"put the four IDX .gz files ({', '.join(spec.files.values())}) in one of them or "
        f"pass --data-dir DIR"
    )
    if download and os.environ.get("GANFORGE_OFFLINE") != "1":
        try:
            return fetch(spec)
        except DataError as exc:
            raise DataError(
                f"{spec.name} not found (searched {places}) and the download failed ({exc}); {hint}"
            ) from None
    raise DataError(
        f"{spec.name} not found (searched {places}); {hint}, or run "
        f"`ganforge data fetch {spec.name}` when online"
    )


def fetch(spec: IdxSpec, dest: Path | None = None, timeout: float = 30.0) -> dict[str, Path]:
    """Download the files of ``spec`` into ``dest`` (the cache), verifying every SHA-256."""
    dest = dest or cache_dir() / spec.name
    dest.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for key, fname in spec.files.items():
        target = dest / fname
        if target.is_file() and _sha256(target) == spec.sha256[fname]:
            out[key] = target
            continue
        errors = []
        for mirror in spec.mirrors:
            try:
                download(mirror + fname, target, spec.sha256[fname], timeout=timeout)
                break
            except DataError as exc:
                errors.append(str(exc))
        else:
            raise DataError(f"could not download {fname} of {spec.name}: {errors[-1]}")
        out[key] = target
    return out


def download(url: str, target: Path, sha256: str, timeout: float = 30.0) -> Path:
    """Download ``url`` to ``target`` atomically; refuse it unless its SHA-256 matches."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".download-")
    os.fchmod(fd, file_mode())  # not mkstemp's owner-only 0600
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as fh:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as resp:
                    length = resp.headers.get("Content-Length")
                    received = 0
                    while chunk := resp.read(1 << 20):
                        fh.write(chunk)
                        digest.update(chunk)
                        received += len(chunk)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                reason = getattr(exc, "reason", exc)
                raise DataError(f"download of {url} failed: {reason}") from None
            if length is not None and received != int(length):
                raise DataError(f"download of {url} truncated: {received} of {length} bytes")
        if digest.hexdigest() != sha256:
            raise DataError(
                f"checksum mismatch for {url}: got sha256 {digest.hexdigest()[:16]}…, "
                f"expected {sha256[:16]}… (file corrupt or tampered with; not saved)"
            )
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def load_idx_split(
    spec: IdxSpec, split: str, data_dir: str | None = None, download: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) uint8 and labels (N,) int64 of ``split`` ('train' or 'test')."""
    files = locate(spec, data_dir, download=download)
    images = read_idx(files[f"{split}-images"])
    labels = read_idx(files[f"{split}-labels"])
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(
            f"{files[f'{split}-images']} and its labels disagree: shapes {images.shape}, "
            f"{labels.shape}"
        )
    return images.astype(np.uint8), labels.astype(np.int64)
