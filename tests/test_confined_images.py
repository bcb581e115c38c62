"""Screenshot paths in a dataset stay inside the image folder (issue 11, item 13).

A dataset naming ``../secret.png`` or ``/etc/passwd`` must not make ``viz``, ``train`` or ``predict``
read it (nor ``predict --api-base`` upload it): one line naming the sample and the path, exit 2,
before a model loads or a request is sent. Symbolic links inside the folder are followed, as
``build`` follows them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fake_http import JsonHandler, serving
from PIL import Image

from gui_agent_rl.cli import main
from gui_agent_rl.schemas import ImagePathError, confined_image_path
from gui_agent_rl.train.data import DataError, DataSource, load_records

WAIT = json.dumps({"action_type": "wait", "action_parameter": {"wait": ""}})


def dataset(tmp: Path, images: list[str]) -> Path:
    """``tmp/corpus/data.jsonl`` (images relative to ``tmp/corpus``), sample id 7; a real screen at
    ``corpus/ok.png`` and a "secret" image outside the folder at ``tmp/secret.png``."""
    folder = tmp / "corpus"
    folder.mkdir(exist_ok=True)
    Image.new("RGB", (56, 112), "white").save(folder / "ok.png")
    Image.new("RGB", (56, 112), "red").save(tmp / "secret.png")
    line = {
        "id": 7,
        "image": images,
        "conversations": [
            {"from": "human", "value": "<image>" * len(images) + "看"},
            {"from": "gpt", "value": WAIT},
        ],
        "image_sizes": [[56, 112]] * len(images),
    }
    path = folder / "data.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    (tmp / "pred.jsonl").write_text(json.dumps({"id": 7, "completion": f"<answer>{WAIT}</answer>"}) + "\n")
    return path


ESCAPES = ["../secret.png", "ok.png/../../secret.png", "{tmp}/secret.png", "/etc/passwd"]


class TestConfinedImagePath:
    @pytest.mark.parametrize("relative", ["a.png", "12/a.png", "./12/a.png", "12/./a.png", "a..b.png"])
    def test_relative_paths_inside_the_folder_pass(self, relative: str) -> None:
        assert confined_image_path("root", relative) == Path("root") / relative

    @pytest.mark.parametrize(
        "relative", ["../a.png", "12/../../a.png", "/etc/passwd", "..", "", "a\\..\\..\\b.png", "a\0.png"]
    )
    def test_paths_that_could_leave_the_folder_are_refused(self, relative: str) -> None:
        with pytest.raises(ImagePathError, match="leaves the image folder root"):
            confined_image_path("root", relative)


@pytest.mark.parametrize("escape", ESCAPES)
class TestEveryReaderRefuses:
    def test_load_records_for_train_and_predict(self, tmp_path: Path, escape: str) -> None:
        data = dataset(tmp_path, ["ok.png", escape.format(tmp=tmp_path)])
        with pytest.raises(DataError, match=r"data\.jsonl: id 7: image path .* leaves the image folder"):
            load_records([DataSource(data, data.parent)])

    def test_viz_draws_nothing(self, tmp_path: Path, escape: str, capsys: pytest.CaptureFixture) -> None:
        data = dataset(tmp_path, [escape.format(tmp=tmp_path)])
        out = tmp_path / "pics"
        argv = [
            "viz",
            "--dataset",
            str(data),
            "--predictions",
            str(tmp_path / "pred.jsonl"),
            "--output",
            str(out),
        ]
        assert main([*argv, "--image-folder", str(data.parent)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "id 7" in err and "leaves the image folder" in err, err
        assert not list(out.glob("*.png"))

    def test_predict_api_sends_nothing(
        self, tmp_path: Path, escape: str, capsys: pytest.CaptureFixture
    ) -> None:
        requests: list[str] = []

        class Recorder(JsonHandler):
            def do_POST(self) -> None:  # http.server's name
                requests.append(self.path)
                self.reply_json({"choices": [{"message": {"content": "x"}}]})

        data = dataset(tmp_path, [escape.format(tmp=tmp_path)])
        with serving(Recorder) as base:
            code = main(
                ["predict", "--model", "m", "--dataset", str(data), "--output", str(tmp_path / "p.jsonl"),
                 "--api-base", base + "/v1", "--min-pixels", "3136", "--max-pixels", "50176"]
            )  # fmt: skip
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1 and "id 7" in err, err
        assert "leaves the image folder" in err and requests == []

    def test_train_stops_before_the_model_loads(
        self, tmp_path: Path, escape: str, capsys: pytest.CaptureFixture
    ) -> None:
        data = dataset(tmp_path, [escape.format(tmp=tmp_path)])
        recipe, model = tmp_path / "r.yaml", tmp_path / "model"
        model.mkdir()  # exists, so only loading it would fail: the data check must come first
        recipe.write_text(
            f"model_name_or_path: {model}\ndata_file_paths: [{data}]\n"
            f"image_folders: [{data.parent}]\nuse_cpu: true\nbf16: false\nreport_to: none\n"
            f"output_dir: {tmp_path}/run\n"
        )
        assert main(["train", "--config", str(recipe)]) == 2
        err = capsys.readouterr().err.strip()
        assert "id 7" in err and "leaves the image folder" in err, err


def test_a_symlink_inside_the_folder_is_followed_as_build_follows_it(tmp_path: Path) -> None:
    data = dataset(tmp_path, ["shots/secret.png"])
    os.symlink(tmp_path, data.parent / "shots")  # the folder owner's own link
    (record,) = load_records([DataSource(data, data.parent)])
    assert record["image_paths"] == [str(data.parent / "shots" / "secret.png")]
