"""flash_attention_2 falls back to sdpa, with a warning saying why, when flash-attn cannot serve (issue 10/8).

transformers 5.23 checks flash-attn by metadata only (``is_flash_attn_2_available``: package found,
``flash-attn`` >= 2.3.3, a CUDA device) and imports it while the model loads, so a build broken against
this torch (undefined symbol) ended the run with a traceback. A fake ``flash_attn`` package on
``sys.path`` stands in for such installs.
"""

from __future__ import annotations

import importlib
import logging
import sys

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from gui_agent_rl.train import model as model_lib

pytestmark = pytest.mark.train
UNDEFINED_SYMBOL = "flash_attn_2_cuda.so: undefined symbol: _ZN3c104cuda9SetDeviceEi"


@pytest.fixture
def fake_flash_attn(tmp_path, monkeypatch):
    """Write ``flash_attn/__init__.py`` with the given body and put it first on ``sys.path``."""

    def make(body: str) -> None:
        package = tmp_path / "flash_attn"
        package.mkdir()
        (package / "__init__.py").write_text(body, encoding="utf-8")
        monkeypatch.syspath_prepend(str(tmp_path))
        importlib.invalidate_caches()

    sys.modules.pop("flash_attn", None)
    yield make
    sys.modules.pop("flash_attn", None)


def transformers_says(monkeypatch, available: bool) -> None:
    from transformers import utils as hf_utils

    monkeypatch.setattr(hf_utils, "is_flash_attn_2_available", lambda *a, **k: available)


class TestPickAttnImplementation:
    @pytest.mark.parametrize("requested", [None, "sdpa", "eager"])
    def test_other_kernels_pass_through(self, requested):
        assert model_lib.pick_attn_implementation(requested) == requested

    def test_not_installed(self, monkeypatch, caplog):
        real = importlib.util.find_spec
        missing = lambda name, *a: None if name == "flash_attn" else real(name, *a)  # noqa: E731
        monkeypatch.setattr(importlib.util, "find_spec", missing)
        with caplog.at_level(logging.WARNING, logger=model_lib.__name__):
            assert model_lib.pick_attn_implementation("flash_attention_2") == "sdpa"
        assert "not installed" in caplog.text

    @pytest.mark.parametrize(
        ("error", "message"),
        [("ImportError", UNDEFINED_SYMBOL), ("OSError", "libcudart.so.12: cannot open shared object file")],
    )
    def test_broken_install_falls_back_naming_the_error(
        self, fake_flash_attn, monkeypatch, caplog, error, message
    ):
        fake_flash_attn(f"raise {error}({message!r})\n")
        transformers_says(monkeypatch, True)  # metadata looks fine: only importing shows the problem
        with caplog.at_level(logging.WARNING, logger=model_lib.__name__):
            assert model_lib.pick_attn_implementation("flash_attention_2") == "sdpa"
        assert f"{error}: {message}" in caplog.text
        assert "using sdpa" in caplog.text

    def test_importable_but_transformers_cannot_use_it(self, fake_flash_attn, monkeypatch, caplog):
        fake_flash_attn("__version__ = '2.7.4'\n")
        transformers_says(monkeypatch, False)  # e.g. no CUDA device, or flash-attn older than 2.3.3
        with caplog.at_level(logging.WARNING, logger=model_lib.__name__):
            assert model_lib.pick_attn_implementation("flash_attention_2") == "sdpa"
        assert "transformers cannot use flash-attn" in caplog.text

    def test_working_install_is_kept(self, fake_flash_attn, monkeypatch, caplog):
        fake_flash_attn("__version__ = '2.7.4'\n")
        transformers_says(monkeypatch, True)
        with caplog.at_level(logging.WARNING, logger=model_lib.__name__):
            assert model_lib.pick_attn_implementation("flash_attention_2") == "flash_attention_2"
        assert caplog.text == ""


def test_tiny_model_loads_with_sdpa_when_flash_attn_is_broken(tmp_path, fake_flash_attn, monkeypatch, caplog):
    from gui_agent_rl.train.tiny import build_tiny_model

    path = build_tiny_model(tmp_path / "model")
    fake_flash_attn(f"raise ImportError({UNDEFINED_SYMBOL!r})\n")
    transformers_says(monkeypatch, True)
    with caplog.at_level(logging.WARNING, logger=model_lib.__name__):
        model = model_lib.load_model(str(path), "float32", "flash_attention_2")
    assert model.config._attn_implementation == "sdpa"
    assert "undefined symbol" in caplog.text
