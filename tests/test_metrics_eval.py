"""Shipped extractors, calibration orderings, `ganforge eval` and FD during training."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ganforge.data.catalog import load_dataset
from ganforge.errors import GanforgeError
from ganforge.metrics.evaluate import evaluate_images, reference
from ganforge.metrics.features import load_feature_extractor
from ganforge.metrics.frechet import frechet_distance
from robust_util import TINY

N = 2048


@pytest.fixture(scope="module")
def fx():
    return load_feature_extractor("fashion-mnist")


@pytest.fixture(scope="module")
def test_images():
    return load_dataset("fashion-mnist", "test")


def _unit(images: torch.Tensor) -> torch.Tensor:
    return images.float() / 127.5 - 1


def test_extractor_card_shapes_and_eval_mode(fx, test_images):
    card = fx.card
    assert card["test_accuracy"] >= 0.92, card
    assert "fashion-mnist train split" in card["training_data"] and card["seed"] == 0
    x = test_images.images[:300]
    f, lg = fx.features(x), fx.logits(_unit(x))
    assert f.shape == (300, 128) and lg.shape == (300, 10)
    assert torch.allclose(fx.features(_unit(x)), f, atol=1e-5)  # uint8 == float input
    fx.train()
    assert not fx.net.training
    acc = (lg.argmax(1) == test_images.labels[:300]).float().mean().item()
    assert acc > 0.85
    with pytest.raises(GanforgeError, match="do not fit"):
        fx.features(torch.zeros(2, 1, 32, 32))
    with pytest.raises(GanforgeError, match=r"\[-1, 1\]"):
        fx.features(torch.full((2, 1, 28, 28), 3.0))


def test_mnist_extractor_card():
    card = load_feature_extractor("mnist5k").card
    assert card["name"] == "mnist" and card["test_accuracy"] > 0.9
    assert "mnist" in card["training_data"]


def test_unknown_and_inception_errors(tmp_path):
    with pytest.raises(GanforgeError, match="no feature extractor"):
        load_feature_extractor("cifar10")
    with pytest.raises(GanforgeError, match="not bundled"):
        load_feature_extractor(f"inception:{tmp_path / 'missing.pth'}")
    bad = tmp_path / "bad.pth"
    torch.save({"conv.weight": torch.zeros(3)}, bad)
    with pytest.raises(GanforgeError, match="not the FID Inception-v3 state dict"):
        load_feature_extractor(f"inception:{bad}")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(GanforgeError, match="cannot read Inception weights"):
        load_feature_extractor(f"inception:{junk}")


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    r = 3
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = (k / k.sum()).view(1, 1, 1, -1)
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), k)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), k.transpose(2, 3))


def test_calibration_orderings(fx, test_images):
    """FD(train, test) is the floor; noise and blur raise FD monotonically; collapse is bad."""
    ref = reference("fashion-mnist", "test", fx)
    train = load_dataset("fashion-mnist", "train")
    gen = torch.Generator().manual_seed(0)
    real = _unit(train.images[torch.randperm(len(train), generator=gen)[:N]])
    floor = frechet_distance(ref.stats, fx.features(real))
    noisy = [
        frechet_distance(
            ref.stats, fx.features((real + s * torch.randn(real.shape, generator=gen)).clamp(-1, 1))
        )
        for s in (0.1, 0.2, 0.4)
    ]
    blurred = [frechet_distance(ref.stats, fx.features(_blur(real, s))) for s in (0.6, 1.0, 1.6)]
    assert floor < noisy[0] < noisy[1] < noisy[2], (floor, noisy)
    assert floor < blurred[0] < blurred[1] < blurred[2], (floor, blurred)
    repeated = real[:1].expand(N, -1, -1, -1)
    one = evaluate_images(repeated, "fashion-mnist", "fid,pr,dc")
    assert one["fid"] > 20 * floor and one["recall"] < 0.01 and one["coverage"] < 0.01
    shirts = _unit(train.images[train.labels == 1][:N])
    cls = evaluate_images(shirts, "fashion-mnist", "fid,pr,dc")
    assert cls["fid"] > 10 * floor and cls["recall"] < 0.2 and cls["coverage"] < 0.2
    assert cls["precision"] > 0.5  # the samples are real images: faithful but not diverse


def test_cas_of_real_test_data_is_classifier_accuracy(fx, test_images):
    res = evaluate_images(
        test_images.images[:N], "fashion-mnist", "cas,is", labels=test_images.labels[:N]
    )
    assert res["cas"] == pytest.approx(fx.card["test_accuracy"], abs=0.02)
    assert 5 < res["is"] <= 10


def test_memorisation_copies_vs_real(fx, test_images):
    train = load_dataset("fashion-mnist", "train")
    copies = evaluate_images(train.images[:N], "fashion-mnist", "nn")
    fresh = evaluate_images(test_images.images[:N], "fashion-mnist", "nn")
    assert copies["memorised"] == 1.0  # distance 0 to a train image
    assert fresh["memorised"] == pytest.approx(0.05, abs=0.02)  # the 5th percentile by design


def test_cli_eval_npy_json(cli, tmp_path, test_images):
    path = tmp_path / "x.npy"
    np.save(path, test_images.images[:N].numpy())
    rc, out, err = cli("eval", path, "--metrics", "fid,kid,pr", "--json")
    assert rc == 0, err
    assert "real reference: fashion-mnist test split (10000 images)" in out
    result = json.loads(out.strip().splitlines()[-1])
    assert set(result) == {"fid", "kid", "precision", "recall"}
    assert result["fid"] < 5 and abs(result["kid"]) < 0.01 and result["precision"] > 0.6
    small = tmp_path / "small.npy"
    np.save(small, test_images.images[:100].numpy())
    rc, out, err = cli("eval", small, "--metrics", "fid")
    assert rc == 2 and "ganforge: error: FD on 100 < 2048" in err
    rc, out, err = cli("eval", small, "--metrics", "fid,bogus")
    assert rc == 2 and "unknown metric 'bogus'" in err
    rc, out, err = cli("eval", small, "--metrics", "cas")
    assert rc == 2 and "cas needs the requested classes" in err


def test_eval_run_and_fd_during_training(cli, tmp_path):
    run = tmp_path / "run"
    rc, out, err = cli(
        "train", "cgan", "--steps", "4", "--out", run, *TINY,
        "--set", "eval_every=2", "--set", "eval_samples=256",
    )  # fmt: skip
    assert rc == 0, err
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    fids = [r["eval_fid"] for r in rows if "eval_fid" in r]
    assert len(fids) == 2 and all(f > 1 for f in fids)
    assert (run / "checkpoints" / "best.safetensors").is_file()
    rc, out, err = cli(
        "eval", run, "--n", "300", "--allow-small", "--metrics", "fid,cas,is", "--json"
    )
    assert rc == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert set(result) == {"fid", "cas", "is"} and 0 <= result["cas"] <= 1
    assert result["fid"] > 1  # an untrained generator is far from the data
    rc, out, err = cli("eval", run, "--n", "300", "--metrics", "fid")
    assert rc == 2 and "--allow-small" in err
