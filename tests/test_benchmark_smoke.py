"""The side-by-side benchmark runs (``--quick``) and prints its tables.

Only that it runs and what it prints: speed is measured by running the
benchmark itself, never in a test.
"""

import importlib.util
import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info

ROOT = Path(__file__).resolve().parents[1]
BENCHMARK = ROOT / "benchmarks" / "bench_vs_mlp.py"
CONFIGURATIONS = ["digits", "synth60k", "wide", "spiral", "sparse"]
MAIN_HEADER = "| config | dtype | fit s ours"
LATENCY_HEADER = "| rows | method | dtype | µs ours | µs MLP | ratio |"
LATENCY_ROWS = ["1", "10", "100", "10000"]
LATENCY_METHODS = ["predict_proba", "predict"]


def run_benchmark(*args):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [env.get("PYTHONPATH")])]
    )
    completed = subprocess.run(
        [sys.executable, str(BENCHMARK), "--quick", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.splitlines()


def table(lines, header_start):
    """The line before the table (blank lines skipped) and its rows' cells."""
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    before = next(line for line in reversed(lines[:start]) if line.strip())
    rows = []
    for line in lines[start + 2 :]:  # past the header and the |---| line
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return before, rows


def cpu_model_name():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    return value.strip()
    except OSError:
        pass
    return None


def check_machine_line(line):
    assert line.startswith("Machine: ")
    assert f"NumPy {np.__version__}" in line
    assert "BLAS: " in line
    # NumPy's BLAS, as this process sees it (other tests may load others).
    for info in threadpool_info():
        if info["user_api"] == "blas" and "numpy" in info["filepath"]:
            assert f"{info['internal_api']} {info['version']}" in line
    cpu = cpu_model_name()
    if cpu is not None:
        assert cpu in line


def test_quick_benchmark_prints_both_tables_after_the_machine_line(tmp_path):
    json_path = tmp_path / "rows.json"
    lines = run_benchmark("--json", str(json_path))

    machine_line, rows = table(lines, MAIN_HEADER)
    check_machine_line(machine_line)
    assert [row[0] for row in rows] == CONFIGURATIONS

    # After the main table, with the machine line again, one row per row
    # count and method (--quick: float64 only).
    main_start = next(i for i, line in enumerate(lines) if line.startswith(MAIN_HEADER))
    assert lines.index(LATENCY_HEADER) > main_start + len(rows)
    machine_line, rows = table(lines, LATENCY_HEADER)
    check_machine_line(machine_line)
    assert [row[:3] for row in rows] == [
        [n_rows, method, "float64"]
        for n_rows, method in itertools.product(LATENCY_ROWS, LATENCY_METHODS)
    ]
    for row in rows:
        assert all(float(cell) > 0 for cell in row[3:])

    results = json.loads(json_path.read_text())
    assert [row["config"] for row in results["rows"]] == CONFIGURATIONS
    assert [(row["rows"], row["method"]) for row in results["latency"]] == [
        (int(n_rows), method)
        for n_rows, method in itertools.product(LATENCY_ROWS, LATENCY_METHODS)
    ]
    assert results["machine"]["numpy"] == np.__version__


def test_no_latency_leaves_the_latency_table_out(tmp_path):
    json_path = tmp_path / "rows.json"
    lines = run_benchmark(
        "--config", "digits", "--no-latency", "--json", str(json_path)
    )
    _, rows = table(lines, MAIN_HEADER)
    assert [row[0] for row in rows] == ["digits"]
    assert LATENCY_HEADER not in lines
    assert json.loads(json_path.read_text())["latency"] == []


# ------------------------------------------------- defaults_vs_mlp.py --quick
DEFAULTS_BENCHMARK = ROOT / "benchmarks" / "defaults_vs_mlp.py"
CLASSIFICATION_HEADER = "| data set | X | accuracy ours | accuracy MLP"
REGRESSION_HEADER = "| data set | X | R² ours | R² MLP"
ROWS_AND_MEANS = ["scaled", "raw"]
MEANS = [["**mean**", "scaled"], ["**mean**", "raw"], ["**mean**", "all"]]


def run_defaults_benchmark(*args, check=True):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [env.get("PYTHONPATH")])]
    )
    completed = subprocess.run(
        [sys.executable, str(DEFAULTS_BENCHMARK), "--quick", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    if check:
        assert completed.returncode == 0, completed.stderr
    return completed


def test_defaults_benchmark_prints_both_tables_with_their_means(tmp_path):
    json_path = tmp_path / "defaults.json"
    lines = run_defaults_benchmark("--json", str(json_path)).stdout.splitlines()

    machine_line, rows = table(lines, CLASSIFICATION_HEADER)
    check_machine_line(machine_line)
    assert [row[:2] for row in rows] == [
        [name, features] for name in ("iris", "moons") for features in ROWS_AND_MEANS
    ] + MEANS
    # Accuracy cells are percentages, log-loss and fit seconds positive; the
    # fits at max_iter are out of 2 seeds x 2 folds per row, summed in a mean.
    for row, n_fits in zip(rows, [4, 4, 4, 4, 8, 8, 16], strict=True):
        assert all(0 < float(cell.rstrip(" %")) <= 100 for cell in row[2:4])
        assert all(float(cell) > 0 for cell in row[4:8])
        assert all(cell.endswith(f"/{n_fits}") for cell in row[8:10])
    machine_line, rows = table(lines, REGRESSION_HEADER)
    check_machine_line(machine_line)
    assert [row[:2] for row in rows] == [
        ["diabetes", features] for features in ROWS_AND_MEANS
    ] + MEANS
    assert any(line.startswith("Total fit seconds: ours ") for line in lines)
    assert lines[-1] in ("Every bar met: yes.", "Every bar met: no.")

    results = json.loads(json_path.read_text())
    assert results["params"] == {}
    assert [(row["dataset"], row["features"]) for row in results["rows"]][:4] == [
        ("iris", "scaled"),
        ("iris", "raw"),
        ("moons", "scaled"),
        ("moons", "raw"),
    ]
    # 3 data sets x 2 feature sets x 2 seeds, each with both sides' 2 folds.
    assert len(results["jobs"]) == 12
    assert all(len(job["mlp"]["fit_seconds"]) == 2 for job in results["jobs"])
    assert results["machine"]["numpy"] == np.__version__


def test_defaults_benchmark_params_reach_ours_and_mlp_results_can_be_reused(
    tmp_path,
):
    first_path, second_path = tmp_path / "first.json", tmp_path / "second.json"
    run_defaults_benchmark("--dataset", "iris", "--json", str(first_path))
    lines = run_defaults_benchmark(
        "--dataset",
        "iris",
        "--params",
        '{"weight_init": "nnfs", "bias_init": "zeros"}',
        "--mlp-from",
        str(first_path),
        "--json",
        str(second_path),
    ).stdout.splitlines()
    assert any("with weight_init='nnfs', bias_init='zeros'" in line for line in lines)
    _, rows = table(lines, CLASSIFICATION_HEADER)
    assert [row[:2] for row in rows] == [["iris", "scaled"], ["iris", "raw"]] + MEANS
    assert REGRESSION_HEADER not in "\n".join(lines)

    first = json.loads(first_path.read_text())
    second = json.loads(second_path.read_text())
    assert second["params"] == {"weight_init": "nnfs", "bias_init": "zeros"}
    # MLP's results are the first run's; ours were fitted again, differently.
    assert [job["mlp"] for job in second["jobs"]] == [
        job["mlp"] for job in first["jobs"]
    ]
    assert [job["ours"]["log_loss"] for job in second["jobs"]] != [
        job["ours"]["log_loss"] for job in first["jobs"]
    ]


def test_defaults_benchmark_rejects_params_that_are_not_an_object():
    completed = run_defaults_benchmark("--params", "[1, 2]", check=False)
    assert completed.returncode == 2
    assert "--params must be a JSON object" in completed.stderr


def load_defaults_benchmark():
    spec = importlib.util.spec_from_file_location("defaults_vs_mlp", DEFAULTS_BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_paired_intervals_of_the_bars_by_hand():
    paired_interval = load_defaults_benchmark().paired_interval
    mlp = np.array([0.8, 0.9, 0.85, 0.95])
    assert paired_interval(mlp, mlp, "accuracy_gap") == (0.0, 0.0)
    # A constant difference (ratio) is the same in every resample.
    low, high = paired_interval(mlp + 0.01, mlp, "accuracy_gap")
    assert (low, high) == pytest.approx((0.01, 0.01), abs=1e-12)
    low, high = paired_interval(1.1 * mlp, mlp, "log_loss_ratio")
    assert (low, high) == pytest.approx((0.1, 0.1), abs=1e-12)
    # Noisy pairs: an interval around the difference of the means, no wider
    # than the differences themselves.
    rng = np.random.default_rng(1)
    ours = mlp + rng.normal(0.0, 0.05, mlp.size)
    low, high = paired_interval(ours, mlp, "accuracy_gap")
    differences = ours - mlp
    assert differences.min() <= low < differences.mean() < high <= differences.max()


def test_a_missed_bar_is_said_with_its_interval():
    # One epoch at a tiny learning rate: ours cannot reach MLP's accuracy.
    lines = run_defaults_benchmark(
        "--dataset", "iris", "--params", '{"max_iter": 1, "learning_rate": 1e-6}'
    ).stdout.splitlines()
    missed = next(line for line in lines if line.startswith("Bars missed: "))
    assert re.search(
        r"iris \(scaled\): accuracy -\d+\.\d\d pts "
        r"\(95 % interval -\d+\.\d\d to [-+]\d+\.\d\d\)",
        missed,
    ), missed
