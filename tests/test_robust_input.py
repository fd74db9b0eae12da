"""Bad input: image folders and IDX archives are handled or refused with the file named."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from PIL import Image

from ganforge.data.folder import load_folder
from ganforge.data.sources import download
from ganforge.errors import DataError
from robust_util import assert_outcome, bad_cases, command_cases, tiny_args, tiny_folder


def test_every_bad_input_is_handled_or_refused(tmp_path, cli):
    cases = bad_cases(tmp_path / "cases")
    assert len(cases) >= 15
    for i, (desc, args, expect, code) in enumerate(cases):
        rc, out, err = cli(*tiny_args(None, tmp_path / f"run{i}", 1), *args)
        assert_outcome(desc, rc, out, err, expect, code)
        if code == 0:
            info = json.loads((tmp_path / f"run{i}" / "run.json").read_text())
            assert info["status"] == "finished"


def test_every_bad_command_input_is_handled_or_refused(tmp_path, cli):
    """eval/sample/translate/export cases of the catalogue (issue 24 items 6 and 11)."""
    run = tmp_path / "run"
    rc, _, err = cli(*tiny_args(tiny_folder(tmp_path / "imgs", n=16), run, 2))
    assert rc == 0, err
    for desc, args, expect, code in command_cases(tmp_path / "cases", run):
        rc, out, err = cli(*args)
        assert_outcome(desc, rc, out, err, expect, code)
        assert code == 2 or expect in out, (desc, out)


def test_skip_bad_counts_in_run_json(tmp_path, cli):
    cases = {c[0]: c for c in bad_cases(tmp_path / "cases")}
    desc, args, _, _ = cases["corrupt + zero-byte + text-as-image with skip_bad=true"]
    rc, _, err = cli(*tiny_args(None, tmp_path / "run0", 1), *args)
    assert rc == 0, err
    info = json.loads((tmp_path / "run0" / "run.json").read_text())
    assert info["skipped_images"] == 3
    for name in ("corrupt.png", "zero.png", "text.jpg"):  # each skipped file is named
        assert any("warning: skipping" in ln and name in ln for ln in err.splitlines()), name


def test_mixed_sizes_and_modes_are_converted(tmp_path):
    cases = {c[0].split(" (")[0]: c for c in bad_cases(tmp_path / "cases")}
    folder = cases["mixed sizes and modes"][1][1].removeprefix("folder:")
    for channels in (1, 3):
        images, skipped = load_folder(folder, size=8, channels=channels)
        assert images.shape == (26, channels, 8, 8) and images.dtype == np.uint8
        assert skipped == 0


def test_decompression_bomb_is_refused(tmp_path, monkeypatch):
    folder = tiny_folder(tmp_path / "f", n=2)
    Image.new("L", (30, 30)).save(folder / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(DataError, match="bomb.png: Image size"):
        load_folder(folder, size=8, channels=1)
    images, skipped = load_folder(folder, size=8, channels=1, skip_bad=True)
    assert skipped == 1 and images.shape[0] == 2


def test_wrong_checksum_is_refused_and_not_saved(tmp_path):
    src = tmp_path / "served.gz"
    src.write_bytes(b"tampered payload")
    target = tmp_path / "cache" / "train-images-idx3-ubyte.gz"
    wrong = hashlib.sha256(b"the real file").hexdigest()
    with pytest.raises(DataError, match="checksum mismatch .* expected ") as exc:
        download(src.as_uri(), target, wrong)
    assert "\n" not in str(exc.value)
    assert not target.exists() and not list(target.parent.iterdir())
    right = hashlib.sha256(b"tampered payload").hexdigest()
    assert download(src.as_uri(), target, right).read_bytes() == b"tampered payload"


def test_failed_download_names_url(tmp_path):
    with pytest.raises(DataError, match="download of file:.*missing.gz failed"):
        download((tmp_path / "missing.gz").as_uri(), tmp_path / "t.gz", "0" * 64)
