"""The side-by-side benchmark runs (``--quick``) and prints its table.

Only that it runs: speed is measured by running the benchmark itself, never
in a test.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARK = ROOT / "benchmarks" / "bench_vs_mlp.py"
CONFIGURATIONS = ["digits", "synth60k", "wide", "spiral", "sparse"]


def test_quick_benchmark_prints_one_row_per_configuration(tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [env.get("PYTHONPATH")])]
    )
    json_path = tmp_path / "rows.json"
    completed = subprocess.run(
        [sys.executable, str(BENCHMARK), "--quick", "--json", str(json_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert any(line.startswith("| config | dtype | fit s ours") for line in lines)
    rows = [line for line in lines if line.startswith("| ") and "config" not in line]
    assert [row.split("|")[1].strip() for row in rows] == CONFIGURATIONS
    assert json_path.exists()
