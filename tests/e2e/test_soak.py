"""The soak test's two-minute version (tests/soak/soak.py; `make soak` runs it for 30 minutes):
mixed traffic with hang-ups, garbage, bursts, preemption and adapter churn against its own
`flora serve`; no request lost, no KV block or adapter pin leaked, no crash, SIGTERM exits 0."""

import json
import os
import subprocess
import sys

from conftest import FLORA, MODEL

SOAK = os.path.join(os.path.dirname(__file__), "../soak/soak.py")


def test_two_minutes_of_mixed_traffic_lose_nothing(tmp_path):
    figures = tmp_path / "soak.json"
    run = subprocess.run([sys.executable, SOAK, "--flora", FLORA, "--model", MODEL, "--seconds", "120", "--clients", "8",
                          "--require-preemption", "--progress", "0", "--json", str(figures)],
                         capture_output=True, text=True, timeout=900)
    print(run.stdout, run.stderr)
    assert run.returncode == 0, run.stdout + run.stderr
    summary = json.loads(figures.read_text())
    assert summary["lost"] == 0 and not summary["crashed"] and summary["sigterm_exit_code"] == 0
    assert summary["kv_blocks_free"] == summary["kv_blocks_total"] and summary["adapter_pins"] == 0
    kinds = summary["kinds"]
    # The mix really ran: completions, streams, hang-ups, garbage, bursts and adapter churn.
    for kind in ["complete", "stream", "hang-up", "garbage", "admin-load", "admin-unload"]:
        assert kind in kinds and sum(kinds[kind]["outcomes"].values()) > 0, kind
    assert kinds["complete"]["outcomes"].get("ok", 0) > 0 and kinds["stream"]["outcomes"].get("ok", 0) > 0
    assert any(name.startswith("burst-") for name in kinds)
