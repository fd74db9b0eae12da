"""Class-labelled image folders (data/folder_classes.py): layouts, labels, class names kept in
the run, and ``sample --class NAME`` drawing that class."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from ganforge import api
from ganforge.data.catalog import load_dataset
from ganforge.data.folder import load_folder
from ganforge.data.folder_classes import folder_layout
from ganforge.errors import GanforgeError
from ganforge.games.adversarial import AdversarialGame
from ganforge.training.loaded_run import LoadedRun, run_class_names
from robust_util import TINY, error_line

CLASSES = ("circle", "square", "stripes")


def _draw(kind: int, i: int, size: int = 16) -> Image.Image:
    """A procedurally drawn gray image of class ``kind`` (variant ``i``)."""
    im = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(im)
    if kind == 0:
        d.ellipse((2 + i % 3, 2, size - 3, size - 3), fill=255)
    elif kind == 1:
        d.rectangle((3, 3 + i % 3, size - 4, size - 4), fill=255)
    else:
        for x in range(i % 2, size, 4):
            d.line((x, 0, x, size - 1), fill=255)
    return im


def class_folder(root: Path, names=CLASSES, per_class: int = 8) -> Path:
    for pos, name in enumerate(names):
        kind = CLASSES.index(name) if name in CLASSES else pos % 3  # the folder's shape
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            _draw(kind, i).save(root / name / f"{i:02d}.png")
    return root


@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("classes")
    data = class_folder(root / "shapes", names=("stripes", "circle", "square"))  # made unsorted
    run = root / "run"
    from ganforge.cli import main

    argv = ["train", "cgan", "--dataset", f"folder:{data}", "--image-size", "16"]
    argv += ["--channels", "1", "--steps", "3", "--out", str(run), *TINY]
    assert main(argv) == 0
    return run


def test_class_subfolders_are_labels_in_sorted_name_order(tmp_path):
    class_folder(tmp_path / "d", names=("stripes", "circle", "square"), per_class=3)
    data = load_dataset(f"folder:{tmp_path / 'd'}", image_size=16, channels=1)
    assert data.class_names == ("circle", "square", "stripes") and data.num_classes == 3
    assert data.labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    # the same images in the same order as the unlabelled loader reads them
    images, _ = load_folder(tmp_path / "d", 16, 1)
    assert torch.equal(data.images, torch.from_numpy(images))
    # the label is the folder's shape: a square covers the pixel (3, 3), a circle does not
    assert data.images[3, 0, 3, 3] == 255 and data.images[0, 0, 3, 3] == 0


def test_nested_images_take_their_top_level_class(tmp_path):
    class_folder(tmp_path / "d", names=("a", "b"), per_class=2)
    (tmp_path / "d" / "b" / "deeper").mkdir()
    _draw(0, 0).save(tmp_path / "d" / "b" / "deeper" / "x.png")
    layout = folder_layout(tmp_path / "d")
    assert layout.labels == [0, 0, 1, 1, 1] and layout.class_names == ("a", "b")


def test_loose_images_stay_unlabelled(tmp_path):
    for i in range(4):
        _draw(0, i).save(tmp_path / f"{i}.png")
    data = load_dataset(f"folder:{tmp_path}", image_size=16, channels=1)
    assert data.labels is None and data.num_classes == 0 and len(data) == 4


def test_mixed_layout_is_unlabelled_with_every_image(tmp_path):
    class_folder(tmp_path, names=("a", "b"), per_class=2)
    _draw(1, 0).save(tmp_path / "loose.png")
    layout = folder_layout(tmp_path)
    assert layout.labels is None and layout.loose == 1 and len(layout.paths) == 5


def test_empty_class_folders_are_not_classes(tmp_path, capsys):
    class_folder(tmp_path, names=("a", "c"), per_class=2)
    (tmp_path / "b_empty").mkdir()
    (tmp_path / "b_empty" / "notes.txt").write_text("no images here")
    data = load_dataset(f"folder:{tmp_path}", image_size=16, channels=1)
    assert data.class_names == ("a", "c") and data.labels.tolist() == [0, 0, 1, 1]
    assert "without images are not classes: b_empty" in capsys.readouterr().err


def test_skipped_bad_files_drop_their_labels(tmp_path):
    class_folder(tmp_path, names=("a", "b"), per_class=2)
    (tmp_path / "a" / "00.png").write_bytes(b"not a png")
    data = load_dataset(f"folder:{tmp_path}", image_size=16, channels=1, skip_bad=True)
    assert data.labels.tolist() == [0, 1, 1] and data.skipped == 1


@pytest.mark.parametrize(
    "layout, message",
    [
        ("loose", "has no classes (a folder:PATH is labelled when PATH holds only class sub"),
        ("mixed", "PATH/CLASS/*.png"),
        ("one", "has only one class"),
    ],
)
def test_conditional_recipe_on_unlabelled_folder_is_refused(cli, tmp_path, layout, message):
    root = tmp_path / "data"
    if layout == "one":
        class_folder(root, names=("only",), per_class=4)
    else:
        class_folder(root, names=("a", "b"), per_class=2) if layout == "mixed" else root.mkdir()
        for i in range(3):
            _draw(0, i).save(root / f"{i}.png")
    rc, _, err = cli(
        "train", "cgan", "--dataset", f"folder:{root}", "--image-size", "16", "--channels",
        "1", "--steps", "1", "--out", tmp_path / "run", *TINY,
    )  # fmt: skip
    assert rc == 2 and message in error_line(err)
    assert "conditioning=concat needs a labelled dataset" in err


@pytest.mark.parametrize("recipe", ["cgan-matching", "acgan", "projection"])
def test_every_conditional_recipe_trains_on_a_class_folder(cli, tmp_path, recipe):
    data = class_folder(tmp_path / "data", per_class=6)
    rc, _, err = cli(
        "train", recipe, "--dataset", f"folder:{data}", "--image-size", "16", "--channels",
        "1", "--steps", "1", "--out", tmp_path / "run", *TINY,
    )  # fmt: skip
    assert rc == 0, err
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["game"]["num_classes"] == 3 and info["class_names"] == list(CLASSES)


def test_class_names_kept_in_the_run_and_report(cgan_run):
    info = json.loads((cgan_run / "run.json").read_text())
    assert info["class_names"] == ["circle", "square", "stripes"]
    assert api.load_run(cgan_run, device="cpu").class_names == ("circle", "square", "stripes")
    from ganforge.api_views import report

    page = Path(report(cgan_run)).read_text()
    assert "circle, square, stripes" in page


def test_sample_class_name_draws_that_class(cli, cgan_run, tmp_path, monkeypatch):
    seen: list[list[int]] = []
    render = AdversarialGame.render

    def spy(self, G, inputs):
        seen.append(inputs["y"].tolist())
        return render(self, G, inputs)

    monkeypatch.setattr(AdversarialGame, "render", spy)
    out = tmp_path / "square.npy"
    rc, stdout, err = cli("sample", cgan_run, "--class", "square", "--n", "6", "--out", out)
    assert rc == 0, err
    assert seen == [[1] * 6]  # G rendered class 1 ("square") for every sample
    by_index = api.sample(cgan_run, 6, class_=1)
    assert np.array_equal(np.load(out), by_index.numpy())
    assert seen[-1] == [1] * 6
    api.sample(cgan_run, 4, class_=["stripes", "circle"])
    assert seen[-1] == [2, 0, 2, 0]


def test_unknown_class_name_is_one_line_listing_the_names(cli, cgan_run, tmp_path):
    out = tmp_path / "x.png"
    rc, _, err = cli("sample", cgan_run, "--class", "triangle", "--out", out)
    assert rc == 2
    assert error_line(err) == (
        "ganforge: error: bad --class 'triangle': unknown class; this run's classes are "
        "circle, square, stripes (or an index)"
    )
    assert not out.exists()
    with pytest.raises(GanforgeError, match="unknown class"):
        api.sample(cgan_run, 2, class_="Triangle")


def _run_with(names: tuple[str, ...]) -> LoadedRun:
    return LoadedRun(Path("."), None, None, None, 0, torch.device("cpu"), names)  # type: ignore[arg-type]


def test_class_spec_names_first_then_indices():
    run = _run_with(("10", "20", "a,b", "Sneaker"))
    assert run.class_indices("20") == [1]  # a name, not index 20
    assert run.class_indices("2") == [2]  # not a name: an index
    assert run.class_indices("a,b") == [2]  # a name with a comma, whole
    assert run.class_indices("Sneaker,0") == [3, 0]
    assert run.class_indices(["10", 3]) == [0, 3]
    assert run.class_indices(None) is None
    with pytest.raises(GanforgeError, match="this run has no class names"):
        _run_with(()).class_indices("cat")


def test_fashion_mnist_runs_know_their_class_names(tmp_path):
    (tmp_path / "run.json").write_text("{}")  # a run from before run.json kept the names
    names = run_class_names(tmp_path, "fashion-mnist")
    assert names[7] == "Sneaker" and _run_with(names).class_indices("Ankle boot") == [9]
    assert run_class_names(tmp_path, "folder:/x") == ()
