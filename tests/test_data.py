import functools
import gzip
import hashlib
import http.server
import struct
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.data import Batches, ImageData, load_dataset, sources, to_unit_range
from ganforge.errors import DataError


def idx_bytes(arr: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def write_idx_set(directory: Path, n: int = 12, seed: int = 0) -> dict[str, bytes]:
    rng = np.random.default_rng(seed)
    blobs = {
        "train-images-idx3-ubyte.gz": gzip.compress(idx_bytes(rng.integers(0, 256, (n, 28, 28)))),
        "train-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(rng.integers(0, 10, (n,)))),
        "t10k-images-idx3-ubyte.gz": gzip.compress(idx_bytes(rng.integers(0, 256, (4, 28, 28)))),
        "t10k-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(rng.integers(0, 10, (4,)))),
    }
    directory.mkdir(parents=True, exist_ok=True)
    for name, blob in blobs.items():
        (directory / name).write_bytes(blob)
    return blobs


@pytest.fixture
def http_server(tmp_path):
    """A local HTTP server on 127.0.0.1 serving tmp_path/www."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def spec_for(blobs: dict[str, bytes], mirror: str, name="tiny") -> sources.IdxSpec:
    return sources.IdxSpec(
        name, (mirror,), {k: hashlib.sha256(v).hexdigest() for k, v in blobs.items()}
    )


def test_read_idx_round_trip_and_errors(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "ok").write_bytes(idx_bytes(arr))
    np.testing.assert_array_equal(sources.read_idx(tmp_path / "ok"), arr)
    (tmp_path / "magic").write_bytes(b"\x01\x02" + idx_bytes(arr)[2:])
    with pytest.raises(DataError, match="not an IDX file"):
        sources.read_idx(tmp_path / "magic")
    (tmp_path / "short").write_bytes(idx_bytes(arr)[:-5])
    with pytest.raises(DataError, match="truncated"):
        sources.read_idx(tmp_path / "short")
    (tmp_path / "badgz").write_bytes(gzip.compress(idx_bytes(arr))[:-10])
    with pytest.raises(DataError, match="cannot read IDX file"):
        sources.read_idx(tmp_path / "badgz")


def test_download_verifies_checksums(http_server, tmp_path):
    root, url = http_server
    blobs = write_idx_set(root)
    spec = spec_for(blobs, url)
    files = sources.fetch(spec, dest=tmp_path / "cache")
    assert sorted(p.name for p in files.values()) == sorted(blobs)
    images, labels = sources.load_idx_split(spec, "train", data_dir=str(tmp_path / "cache"))
    assert images.shape == (12, 28, 28) and images.dtype == np.uint8 and labels.shape == (12,)


def test_download_refuses_wrong_checksum_and_keeps_nothing(http_server, tmp_path):
    root, url = http_server
    blobs = write_idx_set(root)
    spec = spec_for(blobs, url)
    spec.sha256["train-images-idx3-ubyte.gz"] = "0" * 64
    with pytest.raises(DataError, match="checksum mismatch"):
        sources.fetch(spec, dest=tmp_path / "cache")
    assert not (tmp_path / "cache" / "train-images-idx3-ubyte.gz").exists()
    assert not list((tmp_path / "cache").glob(".download-*"))


def test_download_refuses_truncated_file(http_server, tmp_path):
    root, url = http_server
    blobs = write_idx_set(root)
    spec = spec_for(blobs, url)
    (root / "train-labels-idx1-ubyte.gz").write_bytes(blobs["train-labels-idx1-ubyte.gz"][:-7])
    with pytest.raises(DataError, match="checksum mismatch"):
        sources.fetch(spec, dest=tmp_path / "cache")


def test_download_reports_unreachable_mirror(tmp_path):
    spec = sources.IdxSpec(
        "tiny", ("http://127.0.0.1:9/",), {f: "0" * 64 for f in sources.FASHION_MNIST.sha256}
    )
    with pytest.raises(DataError, match="could not download train-images"):
        sources.fetch(spec, dest=tmp_path / "cache", timeout=2)


def test_search_order_prefers_data_dir_then_env(tmp_path, monkeypatch):
    write_idx_set(tmp_path / "mine", n=5)
    write_idx_set(tmp_path / "env" / "tiny", n=7)
    spec = sources.IdxSpec("tiny", (), {})
    monkeypatch.setenv("GANFORGE_DATA", str(tmp_path / "env"))
    first = sources.locate(spec, str(tmp_path / "mine"), download=False)
    assert first["train-images"].parent == tmp_path / "mine"
    second = sources.locate(spec, None, download=False)
    assert second["train-images"].parent == tmp_path / "env" / "tiny"


def test_offline_with_nothing_found_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("GANFORGE_DATA", str(tmp_path / "nowhere"))
    spec = sources.IdxSpec("tiny-absent", (), {})
    (tmp_path / "given").mkdir()  # exists but is empty (a missing --data-dir is refused)
    with pytest.raises(DataError) as info:
        sources.locate(spec, str(tmp_path / "given"))
    msg = str(info.value)
    assert "searched" in msg and str(tmp_path / "given") in msg
    assert "/usr/share/datasets/tiny-absent" in msg and "--data-dir" in msg
    assert "\n" not in msg


def test_fashion_mnist_loads_as_uint8_in_memory():
    data = load_dataset("fashion-mnist", "test")
    assert data.images.shape == (10000, 1, 28, 28) and data.images.dtype == torch.uint8
    assert data.labels.shape == (10000,) and int(data.labels.max()) == 9
    assert data.num_classes == 10 and data.class_names[9] == "Ankle boot"
    assert torch.bincount(data.labels).tolist() == [1000] * 10


def test_digits_are_8x8_and_resizable():
    data = load_dataset("digits", "train")
    assert data.images.shape[1:] == (1, 8, 8) and int(data.images.max()) == 255
    bigger = load_dataset("digits", "train", image_size=16, channels=3)
    assert bigger.images.shape[1:] == (3, 16, 16)


def test_folder_resizes_crops_and_converts(tmp_path):
    Image.new("RGB", (40, 20), (255, 0, 0)).save(tmp_path / "wide.png")
    Image.new("L", (30, 30), 128).save(tmp_path / "gray.jpg")
    data = load_dataset(f"folder:{tmp_path}", image_size=16, channels=3)
    assert data.images.shape == (2, 3, 16, 16) and data.images.dtype == torch.uint8
    gray = load_dataset(f"folder:{tmp_path}", image_size=8, channels=1)
    assert gray.images.shape == (2, 1, 8, 8)


def _png16(path: Path, arr: np.ndarray) -> None:
    """A 16-bit PNG (gray for 2-D ``arr``, 48-bit RGB for H x W x 3), written byte by byte."""
    import zlib

    h, w = arr.shape[:2]
    ctype = 0 if arr.ndim == 2 else 2
    raw = b"".join(b"\x00" + arr[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", w, h, 16, ctype, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)


def test_folder_scales_16bit_pngs_by_their_bit_depth(tmp_path):
    """Issue 24 item 5: a 16-bit gray PNG loaded as nearly all white (values clipped at 255)."""
    from ganforge.data.folder import load_folder

    grad = (np.arange(16 * 16).reshape(16, 16) * 257 + np.arange(16)).astype(np.uint16)
    _png16(tmp_path / "gray16.png", grad)  # every 8-bit level 0..255, plus a little noise
    expected = np.rint(grad / 257.0).astype(np.uint8)
    gray, _ = load_folder(tmp_path, size=16, channels=1)
    assert gray.shape == (1, 1, 16, 16)
    np.testing.assert_array_equal(gray[0, 0], expected)
    rgb, _ = load_folder(tmp_path, size=16, channels=3)
    for c in range(3):
        np.testing.assert_array_equal(rgb[0, c], expected)
    (tmp_path / "gray16.png").unlink()
    _png16(tmp_path / "rgb48.png", np.stack([grad, grad // 2, 65535 - grad], -1))
    rgb, _ = load_folder(tmp_path, size=16, channels=3)  # Pillow keeps the high byte
    np.testing.assert_array_equal(rgb[0, 0], grad >> 8)
    np.testing.assert_array_equal(rgb[0, 2], (65535 - grad) >> 8)


def test_folder_errors_name_the_problem(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(f"folder:{tmp_path / 'missing'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images found"):
        load_dataset(f"folder:{tmp_path / 'empty'}")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match=r"cannot read image .*x\.png"):
        load_dataset(f"folder:{tmp_path / 'bad'}")
    with pytest.raises(DataError, match="unknown dataset 'cifar'"):
        load_dataset("cifar")


def test_batches_scale_per_batch_and_follow_seed_and_epoch():
    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1).expand(10, 1, 2, 2) * 25
    data = ImageData("toy", images.contiguous(), torch.arange(10))
    a, b = Batches(data, 3, seed=1, device="cpu"), Batches(data, 3, seed=1, device="cpu")
    first = [next(a)[1].tolist() for _ in range(6)]
    assert first == [next(b)[1].tolist() for _ in range(6)]
    epoch0 = sum(first[:3], [])
    assert len(set(epoch0)) == 9  # drop_last: 3 batches of 3 distinct items per epoch
    assert first[3:] != first[:3]  # a new permutation per epoch
    state = a.state_dict()
    c = Batches(data, 3, seed=1, device="cpu")
    c.load_state_dict(state)
    assert next(c)[1].tolist() == next(a)[1].tolist()
    x = to_unit_range(next(a)[0])
    assert x.dtype == torch.float32 and x.min() >= -1 and x.max() <= 1
    assert to_unit_range(torch.tensor([0, 255], dtype=torch.uint8)).tolist() == [-1.0, 1.0]


def test_ranks_see_disjoint_shards():
    data = ImageData("toy", torch.zeros(12, 1, 1, 1, dtype=torch.uint8), torch.arange(12))
    r0 = Batches(data, 2, seed=3, device="cpu", rank=0, world_size=2)
    r1 = Batches(data, 2, seed=3, device="cpu", rank=1, world_size=2)
    seen0 = {i for _ in range(3) for i in next(r0)[1].tolist()}
    seen1 = {i for _ in range(3) for i in next(r1)[1].tolist()}
    assert not seen0 & seen1 and len(seen0 | seen1) == 12


def test_failed_download_names_the_places_searched(tmp_path, monkeypatch):
    monkeypatch.delenv("GANFORGE_OFFLINE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    spec = sources.IdxSpec(
        "tiny-absent", ("http://127.0.0.1:9/",), {f: "0" * 64 for f in sources.FASHION_MNIST.sha256}
    )
    (tmp_path / "given").mkdir()  # exists but is empty (a missing --data-dir is refused)
    with pytest.raises(DataError) as info:
        sources.locate(spec, str(tmp_path / "given"))
    msg = str(info.value)
    assert "searched" in msg and "download failed" in msg and "--data-dir" in msg
    assert str(tmp_path / "given") in msg and "\n" not in msg
