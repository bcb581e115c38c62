"""Packaging promises: data work imports no torch, and the CLI lists its subcommands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gui_agent_rl.cli import main


@pytest.mark.parametrize("module", ["gui_agent_rl.schemas", "gui_agent_rl.datagen", "gui_agent_rl.rewards"])
def test_data_modules_do_not_import_torch_or_transformers(module):
    code = (
        f"import sys, importlib, pkgutil; m = importlib.import_module({module!r}); "
        "[importlib.import_module(f'{m.__name__}.{s.name}') for s in pkgutil.iter_modules(m.__path__)]; "
        "print(sorted(x for x in ('torch', 'transformers', 'trl') if x in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_help_lists_the_subcommands(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "schema" in capsys.readouterr().out


def test_schema_command_prints_the_action_schema(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "click" in schema["discriminator"]["mapping"]


def test_schema_think_prints_the_four_fields(capsys):
    assert main(["schema", "--think", "--indent", "0"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert set(json.loads(out)["required"]) == {
        "task_interpretation",
        "current_page_audit",
        "path_alignment_check",
        "action_validation",
    }


def test_unknown_option_exits_2_with_usage(capsys):
    with pytest.raises(SystemExit) as info:
        main(["schema", "--bogus"])
    assert info.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_unwritable_output_is_one_line_and_exit_2(capsys, tmp_path):
    dataset = Path(__file__).parent.parent / "examples" / "corpus.jsonl"
    predictions = tmp_path / "pred.jsonl"
    predictions.write_text('{"id": 1, "completion": "<answer>{}</answer>"}\n')
    blocker = tmp_path / "file"
    blocker.write_text("")
    argv = ["viz", "--dataset", str(dataset), "--predictions", str(predictions)]
    code = main([*argv, "--output", str(blocker / "pictures")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == [f"gui-agent-rl viz: error: {blocker / 'pictures'}: Not a directory"]
