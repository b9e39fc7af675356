"""scripts/model-report.py (the model's report of a pull request) on real trainer metrics, and
its place in the PR comment (scripts/plan-comment.py --section)."""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from forecast_helpers import SMALL, monthly_fixture

from ipeacast.ml.forecast import train_and_forecast
from ipeacast.ml.model import ModelConfig

ROOT = Path(__file__).resolve().parents[1]


def _script(name: str, module: str):
    spec = importlib.util.spec_from_file_location(module, ROOT / "scripts" / name)
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[module] = loaded
    spec.loader.exec_module(loaded)
    return loaded


mr = _script("model-report.py", "model_report")
pc = _script("plan-comment.py", "plan_comment_for_sections")


@pytest.fixture(scope="module")
def metrics() -> dict:
    result = train_and_forecast(monthly_fixture(), ModelConfig(**SMALL), "TEST", "r1", "2020-05-17")
    return json.loads(json.dumps(result.metrics, default=str))  # as metrics.json holds it


def _rows(body: str) -> dict[str, list[str]]:
    rows = [line for line in body.splitlines() if line.startswith("| M+")]
    return {r.split("|")[1].strip(): [c.strip() for c in r.split("|")[2:-1]] for r in rows}


def _set(metrics: dict, horizon: int, **values) -> dict:
    changed = copy.deepcopy(metrics)
    for row in changed["comparison"]:
        if row["horizon"] == horizon:
            row.update(values)
    return changed


def test_same_metrics_give_one_row_per_horizon_with_no_difference_and_no_flag(metrics):
    body = mr.render(metrics, metrics)
    rows = _rows(body)

    assert list(rows) == [f"M+{h}" for h in range(1, 7)]
    for h, cells in rows.items():
        row = next(r for r in metrics["comparison"] if f"M+{r['horizon']}" == h)
        assert cells[0] == cells[1] == f"{row['mae_champion']:.3f}"
        assert cells[2] == "+0.000"
        assert cells[3] == f"{row['ratio_naive_last_price']:.3f}"
        assert cells[5] == f"{row['coverage']:.1%}"
        assert "(changed)" not in cells[7]
    flagged = [f for f in mr.flags(mr.horizons(metrics), mr.horizons(metrics)) if "MAE" in f]
    assert flagged == []
    assert body.startswith(mr.MARKER)


def test_a_horizon_worse_beyond_the_tolerance_is_flagged_and_within_it_is_not(metrics):
    base = _set(metrics, 3, mae_champion=2.0)
    worse = _set(metrics, 3, mae_champion=2.0 * (1 + mr.MAE_TOLERANCE) + 1e-6)
    within = _set(metrics, 3, mae_champion=2.0 * (1 + mr.MAE_TOLERANCE) - 1e-6)

    flags = mr.flags(mr.horizons(worse), mr.horizons(base))
    assert [f for f in flags if "MAE" in f] == [
        f"M+3: MAE {2.0 * 1.01 + 1e-6:.3f} is 1.0% worse than main's 2.000 (tolerance 1%)"
    ]
    assert not [f for f in mr.flags(mr.horizons(within), mr.horizons(base)) if "MAE" in f]
    assert _rows(mr.render(worse, base))["M+3"][2] == f"{2.0 * 0.01 + 1e-6:+.3f}"
    better = _set(metrics, 3, mae_champion=1.0)
    assert not [f for f in mr.flags(mr.horizons(better), mr.horizons(base)) if "MAE" in f]


@pytest.mark.parametrize(
    ("coverage", "flagged"), [(0.74, True), (0.75, False), (0.85, False), (0.86, True)]
)
def test_coverage_outside_75_to_85_percent_is_flagged(metrics, coverage, flagged):
    head = _set(metrics, 2, coverage=coverage)
    found = [
        f for f in mr.flags(mr.horizons(head), mr.horizons(metrics)) if f.startswith("M+2: 80 %")
    ]
    assert bool(found) == flagged


def test_a_change_of_shipped_model_is_marked(metrics):
    head = copy.deepcopy(metrics)
    head["champion"]["1"]["candidate"] = "some_new_model"
    cells = _rows(mr.render(head, metrics))["M+1"]
    assert cells[7] == "`some_new_model` **(changed)**"
    assert cells[8] == f"`{metrics['champion']['1']['candidate']}`"


def test_without_a_base_the_head_is_shown_alone(metrics):
    body = mr.render(metrics, None, png_url="https://example.invalid/artifact/1")
    assert "_No base report" in body
    assert all(cells[1] == "-" and cells[2] == "-" for cells in _rows(body).values())
    assert "(https://example.invalid/artifact/1)" in body


def test_the_cli_renders_from_files_and_names_a_missing_head(metrics, tmp_path):
    head = tmp_path / "head.json"
    head.write_text(json.dumps(metrics))
    script = str(ROOT / "scripts" / "model-report.py")
    ok = subprocess.run(
        [sys.executable, script, "render", "--head", str(head), "--base", str(tmp_path / "no")],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0 and "_No base report" in ok.stdout
    missing = subprocess.run(
        [sys.executable, script, "render", "--head", str(tmp_path / "nope.json")],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 1 and "nope.json does not exist" in missing.stderr


def test_the_plan_comment_carries_the_section_within_the_size_limit(metrics):
    section = mr.render(metrics, metrics)
    plan = pc.EnvPlan(env="dev", status="changes", counts={"update": 1}, text="x\n" * 80_000)
    body = pc.render_comment([plan], run_url="https://example.invalid/run", sections=[section])

    assert len(body) < pc.COMMENT_LIMIT
    assert body.startswith(pc.MARKER) and section.strip() in body  # whole, after the plan
    assert body.index("## Terraform plan") < body.index("## Model report")


def test_a_section_too_long_for_the_comment_points_to_the_run():
    body = pc.render_comment(
        [pc.EnvPlan(env="dev", status="no-changes")],
        run_url="https://example.invalid/run",
        sections=["y" * (pc.SECTION_BUDGET + 1)],
    )
    assert "yyyy" not in body
    assert "too long for the comment: see the [job summary](https://example.invalid/run)" in body


def test_a_missing_section_file_is_named_in_the_comment(tmp_path):
    plans = tmp_path / "plan-dev"
    plans.mkdir()
    (plans / "exitcode").write_text("0\n")
    (plans / "plan.txt").write_text("No changes.\n")
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "plan-comment.py"), "comment", "--repo", "o/r",
         "--pr", "1", "--dry-run", "--section", str(tmp_path / "model" / "section.md"),
         str(plans)],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "section.md is missing (its job failed or was skipped)" in result.stdout
