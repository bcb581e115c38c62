"""Imported corpora go through ``build`` unchanged: every imported step is kept.

DEPENDS ON THE SCHEMA CHANGE of issue 12 (helper "actions": point clicks, swipe directions, home, key,
``meta`` on steps). Skipped until ``gui_agent_rl.schemas.parameters.ALL_ACTION_TYPES`` exists.
"""

from __future__ import annotations

import json
import shutil

import pytest
from test_import_androidcontrol import SIZES, STEPS
from test_import_fixtures import FIXTURES, ac_episode, aitw_step, forest, png, write_tfrecord

from gui_agent_rl.datagen.build import build_dataset
from gui_agent_rl.datagen.prompts import load_prompt
from gui_agent_rl.importers import ImportOptions, import_corpus
from gui_agent_rl.schemas import parameters

pytestmark = pytest.mark.skipif(
    not hasattr(parameters, "ALL_ACTION_TYPES"), reason="needs the extended action schema (issue 12)"
)


def _build(root, tmp_path):
    out = tmp_path / "data.jsonl"
    summary = build_dataset(root, out, prompt=load_prompt())
    report = (tmp_path / "data.report.jsonl").read_text() if (tmp_path / "data.report.jsonl").exists() else ""
    return summary, [json.loads(line) for line in out.read_text().splitlines()], report


def test_androidcontrol_import_builds_without_rejections(tmp_path):
    write_tfrecord(
        tmp_path / "ac",
        [
            ac_episode(42, "set an alarm", STEPS, SIZES),
            ac_episode(7, "wait", [({"action_type": "wait"}, "wait", forest())], SIZES[:2]),
        ],
    )
    import_corpus("androidcontrol", tmp_path / "ac", tmp_path / "root")
    summary, samples, report = _build(tmp_path / "root", tmp_path)
    assert not summary.rejected, report
    assert len(samples) == 11
    assert samples[0]["meta"]["source"] == "androidcontrol"


def test_aitw_import_builds_without_rejections(tmp_path):
    records = [
        aitw_step("9", 0, 4, 4, touch=(0.5, 0.5), lift=(0.5, 0.5)),
        aitw_step("9", 1, 4, 4, touch=(0.9, 0.5), lift=(0.1, 0.5)),
        aitw_step("9", 2, 4, 7),
        aitw_step("9", 3, 4, 10),
    ]
    write_tfrecord(tmp_path / "aitw", records)
    import_corpus("aitw", tmp_path / "aitw", tmp_path / "root")
    summary, samples, report = _build(tmp_path / "root", tmp_path)
    assert not summary.rejected, report
    assert len(samples) == 4


def test_aitz_import_builds_with_think_blocks(tmp_path):
    name = "GOOGLE_APPS-1000000000000000001"
    shutil.copytree(FIXTURES / "aitz" / name, tmp_path / "aitz" / name)
    for k in range(4):
        (tmp_path / "aitz" / name / f"{name}_{k}.png").write_bytes(png(270, 600))
    import_corpus("aitz", tmp_path / "aitz", tmp_path / "root")
    summary, samples, report = _build(tmp_path / "root", tmp_path)
    assert not summary.rejected, report
    assert len(samples) == 4


def test_uir1_placeholder_import_builds(tmp_path):
    import_corpus(
        "ui-r1",
        FIXTURES / "ui-r1" / "ac_sample.json",
        tmp_path / "root",
        ImportOptions(screen_size=(1080, 2400)),
    )
    summary, samples, report = _build(tmp_path / "root", tmp_path)
    assert not summary.rejected, report
    assert len(samples) == 5
