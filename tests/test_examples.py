"""The examples under examples/ run as they are and print their report (one rank)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_cluster_report_example_runs():
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "cluster_report.py")],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "on 1 rank(s)" in out and "KMeans: k=5" in out and "silhouette score" in out
    # five well separated blobs: every cluster found, and a high silhouette
    sizes = out.split("cluster sizes: ")[1].splitlines()[0]
    assert sizes == "[40000, 40000, 40000, 40000, 40000]"
