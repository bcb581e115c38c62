"""The report in a real browser: Debian's headless Chromium through selenium and chromium-driver.

What a person would check: the metrics shown are ``eval``'s, the gallery shows every sample, the
wrong-only filter shows exactly the wrong ones, an episode lists its steps in order, and the page
logs no error and asks for nothing outside its folder. Screenshots are kept in ``$TEST_ARTIFACTS``
(default ``build/test-artifacts/``; the test prints the paths). ``make test`` installs chromium and
chromium-driver when they are missing (as root, from Debian); without them these tests are skipped.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from report_fixtures import HOSTILE, make_corpus

from gui_agent_rl.cli import main as cli

pytestmark = pytest.mark.slow  # a browser start and a few page loads: several seconds

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", "build/test-artifacts"))
RATES = ("type_accuracy", "step_success", "grounding_accuracy", "format_rate")

if CHROMIUM is None or DRIVER is None:
    pytest.skip(
        "Debian's chromium and chromium-driver are not installed (make test installs them as root: "
        "apt-get install -y chromium chromium-driver)",
        allow_module_level=True,
    )
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium missing: pip install -e '.[test]'")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("browser")
    paths = make_corpus(root)
    paths["metrics"], paths["verdicts"] = root / "eval.json", root / "verdicts.jsonl"
    common = ["--dataset", str(paths["data"]), "--predictions", str(paths["pred"])]
    eval_args = ["--by-task", "--output", str(paths["metrics"]), "--per-sample", str(paths["verdicts"])]
    assert cli(["eval", *common, *eval_args]) == 0
    paths["one"], paths["two"] = root / "one", root / "two"
    images = ["--image-folder", str(paths["corpus"])]
    assert cli(["report", *common, *images, "--output", str(paths["one"])]) == 0
    assert (
        cli(["report", *common, *images, "--compare", str(paths["other"]), "--output", str(paths["two"])])
        == 0
    )
    return paths


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def open_page(driver, folder: Path, hash_: str = "") -> None:
    """A fresh load (a new document: no filter left from the last test)."""
    driver.get("about:blank")
    driver.get((folder / "index.html").resolve().as_uri() + hash_)
    assert driver.execute_script("return document.body.dataset.ready") == "1"


def assert_quiet(driver, folder: Path) -> None:
    """No console message at warning level or above, and every request a file inside ``folder``."""
    problems = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert problems == []
    events = [json.loads(e["message"])["message"] for e in driver.get_log("performance")]
    sent = [e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"]
    urls = [u for u in sent if not u.startswith("about:")]
    inside = folder.resolve().as_uri() + "/"
    assert urls and all(u.startswith(inside) for u in urls), [u for u in urls if not u.startswith(inside)]


def screenshot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    print(f"screenshot: {path.resolve()}")
    return path


def shown(driver, css: str) -> list:
    return driver.find_elements("css selector", css)


def gallery_ids(driver) -> list[str]:
    """The ids the gallery lists, page after page (the smallest page size, to walk the pager)."""
    driver.execute_script(
        "const s = document.getElementById('page-size'); s.value = '24'; s.dispatchEvent(new Event('change'))"
    )
    ids = []
    while True:
        ids += [c.get_attribute("data-id") for c in shown(driver, "#cards .card")]
        button = driver.find_element("id", "next")
        if not button.is_enabled():
            return ids
        button.click()


def test_metrics_shown_are_evals(report, browser) -> None:
    metrics = json.loads(report["metrics"].read_text(encoding="utf-8"))
    open_page(browser, report["one"])
    cells = {c.get_attribute("data-key"): c for c in shown(browser, "#summary td[data-side='0']")}
    assert int(cells["count"].text) == metrics["count"]
    for key in RATES:
        assert float(cells[key].get_attribute("data-value")) == metrics[key]
        assert cells[key].text == f"{100 * metrics[key]:.2f}%"
    for name, value in metrics["rewards"].items():
        assert cells[f"rewards.{name}"].text == f"{value:.4f}"
    for key in ("episode_success", "goal_progress"):
        assert cells[f"by_task.{key}"].text == f"{100 * metrics['by_task'][key]:.2f}%"
    per_type = {c.get_attribute("data-key"): c.text for c in shown(browser, "#per-type td[data-key]")}
    for kind, m in metrics["per_type"].items():
        assert per_type[f"per_type.{kind}.step_success"] == f"{100 * m['step_success']:.2f}%"
    for truth, row in metrics["confusion"].items():
        for pred, n in row.items():
            cell = browser.find_element(
                "css selector", f"#confusion td[data-truth='{truth}'][data-pred='{pred}']"
            )
            assert cell.text == str(n)
    screenshot(browser, "report-overview.png")
    assert_quiet(browser, report["one"])


def test_gallery_count_and_wrong_only_filter(report, browser) -> None:
    verdicts = [json.loads(line) for line in report["verdicts"].read_text(encoding="utf-8").splitlines()]
    wrong = [str(v["id"]) for v in verdicts if not v["step_ok"]]
    open_page(browser, report["one"], "#gallery")
    assert browser.find_element("id", "count").get_attribute("data-count") == str(len(verdicts))
    assert gallery_ids(browser) == [str(v["id"]) for v in verdicts]
    browser.find_element("id", "wrong-only").click()
    assert browser.find_element("id", "count").get_attribute("data-count") == str(len(wrong))
    assert gallery_ids(browser) == wrong
    cards = shown(browser, "#cards .card")
    assert all(c.get_attribute("data-ok") == "false" for c in cards)
    assert HOSTILE in browser.page_source.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert browser.title.startswith("gui-agent-rl report")  # the hostile completion ran nothing
    browser.execute_script("document.getElementById('prev').click(); window.scrollTo(0, 0)")
    screenshot(browser, "report-gallery-wrong.png")
    assert_quiet(browser, report["one"])


def test_search_by_id_and_type_filter(report, browser) -> None:
    open_page(browser, report["one"], "#gallery")
    browser.find_element("id", "search").send_keys("17")
    assert [c.get_attribute("data-id") for c in shown(browser, "#cards .card")] == ["17"]
    browser.find_element("id", "search").clear()
    browser.execute_script(
        "const s = document.getElementById('type'); s.value = 'back'; s.dispatchEvent(new Event('change'))"
    )
    types = {c.find_element("css selector", ".ttype").text for c in shown(browser, "#cards .card")}
    assert types == {"back"}
    assert_quiet(browser, report["one"])


def test_episode_view_lists_steps_in_order(report, browser) -> None:
    samples = [json.loads(line) for line in report["data"].read_text(encoding="utf-8").splitlines()]
    task = samples[5]["task_id"]
    expected = sorted((s for s in samples if s["task_id"] == task), key=lambda s: s["step"])
    open_page(browser, report["one"], "#gallery")
    link = next(a for a in shown(browser, "#cards a.task") if a.text.startswith(f"task {task} "))
    link.click()
    items = shown(browser, "#episode-steps > li")
    assert [i.get_attribute("data-id") for i in items] == [str(s["id"]) for s in expected]
    assert [i.get_attribute("data-step") for i in items] == [str(s["step"]) for s in expected]
    assert browser.find_element("id", "episode").is_displayed()
    assert_quiet(browser, report["one"])


def test_compare_puts_disagreements_first(report, browser) -> None:
    open_page(browser, report["two"], "#gallery")
    cards = shown(browser, "#cards .card")
    assert len(shown(browser, "#cards .card .side[data-side='b']")) == len(cards) > 0
    records = browser.execute_script("return window.REPORT_DATA.records.map(r => [String(r.id), r.disagree])")
    first = [rid for rid, d in records if d]
    assert [c.get_attribute("data-id") for c in cards][: len(first)] == first
    assert len(shown(browser, "#summary td[data-side='1']")) > 0
    browser.execute_script("window.scrollTo(0, 0)")
    screenshot(browser, "report-compare.png")
    assert_quiet(browser, report["two"])
