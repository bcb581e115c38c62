"""Walking a corpus: numeric order; entries that are no task or step skipped (refused with a reason)."""

from __future__ import annotations

from pathlib import Path

from gui_agent_rl.datagen.walk import iter_steps, iter_tasks, step_files


def _touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}", encoding="utf-8")


class TestIterTasks:
    def test_task_folders_sort_by_number_not_text(self, tmp_path: Path) -> None:
        for name in ("100", "2", "10", "9"):
            (tmp_path / name).mkdir()
        assert [t.task_id for t in iter_tasks(tmp_path)] == ["2", "9", "10", "100"]

    def test_other_folders_and_files_are_ignored(self, tmp_path: Path) -> None:
        (tmp_path / "7").mkdir()
        (tmp_path / "images").mkdir()
        (tmp_path / "7a").mkdir()
        (tmp_path / "-3").mkdir()
        _touch(tmp_path / "8")  # a file whose name is digits is not a task
        _touch(tmp_path / "README.md")
        assert [t.task_id for t in iter_tasks(tmp_path)] == ["7"]

    def test_equal_numbers_keep_a_total_order(self, tmp_path: Path) -> None:
        for name in ("7", "007", "07"):
            (tmp_path / name).mkdir()
        assert [t.task_id for t in iter_tasks(tmp_path)] == ["007", "07", "7"]

    def test_paths_are_absolute(self, tmp_path: Path, monkeypatch) -> None:
        (tmp_path / "1").mkdir()
        monkeypatch.chdir(tmp_path)
        (task,) = iter_tasks(".")
        assert Path(task.path).is_absolute() and Path(task.path).name == "1"


class TestStepFiles:
    def test_steps_sort_by_number_not_text(self, tmp_path: Path) -> None:
        for n in (10, 2, 1, 100, 0):
            _touch(tmp_path / "5" / f"step_{n}.json")
        (task,) = iter_tasks(tmp_path)
        assert [s.step for s in step_files(task)] == [0, 1, 2, 10, 100]

    def test_only_step_number_json_files_count(self, tmp_path: Path) -> None:
        task_dir = tmp_path / "5"
        for name in ("step_3.json", "step_a.json", "Step_4.json", "step_5.json.bak", "step_6.JSON", "x.json"):
            _touch(task_dir / name)
        (task_dir / "step_7.json").mkdir()  # a folder with a step's name is not a step
        (task,) = iter_tasks(tmp_path)
        steps = step_files(task)
        assert [s.step for s in steps if s.problem is None] == [3]
        # step-like names are refused with a reason (the build reports them); x.json, .bak are not step-like
        refused = {Path(s.path).name for s in steps if s.problem is not None}
        assert refused == {"step_a.json", "Step_4.json", "step_6.JSON", "step_7.json"}

    def test_step_numbers_are_ascii_digits_only(self, tmp_path: Path) -> None:
        task_dir = tmp_path / "5"
        for name in ("step_.json", "step_\u0663.json", "step_\uff11.json", "step_-1.json", "step_1.5.json"):
            _touch(task_dir / name)
        _touch(task_dir / "step_0012.json")
        (task,) = iter_tasks(tmp_path)
        steps = step_files(task)
        assert [(s.step, Path(s.path).name) for s in steps if s.problem is None] == [(12, "step_0012.json")]
        assert len([s for s in steps if s.problem is not None]) == 5  # each refused with a reason

    def test_empty_task_folder_gives_no_steps_and_no_error(self, tmp_path: Path) -> None:
        (tmp_path / "1").mkdir()
        _touch(tmp_path / "2" / "step_0.json")
        assert [(s.task_id, s.step) for s in iter_steps(tmp_path)] == [("2", 0)]

    def test_relative_path_uses_forward_slashes(self, tmp_path: Path) -> None:
        _touch(tmp_path / "12" / "step_3.json")
        (step,) = iter_steps(tmp_path)
        assert step.relative(str(tmp_path)) == "12/step_3.json"


class TestIterSteps:
    def test_walk_order_is_tasks_then_steps_numerically(self, tmp_path: Path) -> None:
        for task, n in [("10", 0), ("2", 10), ("2", 2), ("10", 1)]:
            _touch(tmp_path / task / f"step_{n}.json")
        assert [(s.task_id, s.step) for s in iter_steps(tmp_path)] == [
            ("2", 2),
            ("2", 10),
            ("10", 0),
            ("10", 1),
        ]
