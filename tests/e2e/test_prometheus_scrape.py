"""A real Prometheus (Debian's `prometheus` package) scrapes `flora serve` on loopback, and every
`vllm:` series that the Gateway API Inference Extension reads arrives with its type and labels.

The scrape configuration is the one README.md shows ("Metrics"), with a 1 s interval.
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import pytest

from conftest import run_threads

# What the Inference Extension's vLLM protocol reads, and the type each must have.
GATEWAY_SERIES = {
    "vllm:num_requests_waiting": "gauge",
    "vllm:num_requests_running": "gauge",
    "vllm:kv_cache_usage_perc": "gauge",
    "vllm:lora_requests_info": "gauge",
}
# Series the dashboards people copy from vLLM read, with their types.
OTHER_SERIES = {
    "vllm:prompt_tokens_total": "counter",
    "vllm:generation_tokens_total": "counter",
    "vllm:time_to_first_token_seconds": "histogram",
    "vllm:e2e_request_latency_seconds": "histogram",
}

CONFIG = """global:
  scrape_interval: 1s
scrape_configs:
  - job_name: flora
    metrics_path: /metrics
    static_configs:
      - targets: ["127.0.0.1:{port}"]
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(base, path, **query):
    url = f"{base}/api/v1/{path}" + ("?" + urllib.parse.urlencode(query) if query else "")
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    return body["data"]


@pytest.fixture(scope="module")
def prometheus(server):
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("Debian's prometheus package is not installed (make e2e-deps installs it as root)")
    work = tempfile.mkdtemp(prefix="flora-prometheus-")
    config = os.path.join(work, "prometheus.yml")
    with open(config, "w") as f:
        f.write(CONFIG.format(port=server.port))
    port = free_port()
    log = open(os.path.join(work, "prometheus.log"), "w")
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={work}/data", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    yield base
    process.terminate()
    process.wait(timeout=30)
    log.close()
    shutil.rmtree(work, ignore_errors=True)


def test_prometheus_scrapes_every_gateway_series_with_its_type_and_labels(server, prometheus):
    # Traffic with an adapter, so every series has samples and the LoRA info names one.
    server.client.completions.create(model="lora-r8", prompt="Once upon a time", max_tokens=4, temperature=0)
    deadline = time.time() + 60
    found = {}
    while time.time() < deadline:
        try:
            targets = api(prometheus, "targets")["activeTargets"]
            if targets and targets[0]["health"] == "up":
                found = {name: api(prometheus, "query", query=name)["result"] for name in GATEWAY_SERIES}
                if all(found.values()):
                    break
        except OSError:
            pass  # Prometheus is still starting
        time.sleep(0.5)
    assert all(found.values()), f"series Prometheus has not scraped after 60 s: {[n for n, r in found.items() if not r]}"
    assert targets[0]["health"] == "up", targets[0].get("lastError")

    metadata = api(prometheus, "metadata")
    for name, kind in {**GATEWAY_SERIES, **OTHER_SERIES}.items():
        assert name in metadata, f"{name} is not in Prometheus's metadata"
        assert metadata[name][0]["type"] == kind, f"{name}: {metadata[name][0]['type']}, expected {kind}"

    for name in ("vllm:num_requests_waiting", "vllm:num_requests_running", "vllm:kv_cache_usage_perc"):
        value = float(found[name][0]["value"][1])
        assert value >= 0, f"{name} = {value}"
    assert float(found["vllm:kv_cache_usage_perc"][0]["value"][1]) <= 1

    info = found["vllm:lora_requests_info"]
    for series in info:
        labels = series["metric"]
        assert int(labels["max_lora"]) >= 1, labels
        assert labels["job"] == "flora", labels


def test_the_lora_info_names_the_adapter_a_running_request_uses(server, prometheus):
    # Prometheus drops labels whose value is empty, so the adapter labels only show while a
    # request uses an adapter: one long enough to be scraped while it runs.
    query = 'vllm:lora_requests_info{running_lora_adapters=~"(.*,)?ia3(,.*)?"}'
    seen = []

    def long_request():
        return server.client.completions.create(
            model="ia3", prompt="Tell me a long story.", max_tokens=400, temperature=0, extra_body={"ignore_eos": True})

    def watch():
        deadline = time.time() + 60
        while time.time() < deadline and not seen:
            seen.extend(api(prometheus, "query", query=query)["result"])
            time.sleep(0.25)

    results = run_threads([long_request, watch])
    assert not isinstance(results[0], Exception), results[0]
    assert seen, "no scrape saw ia3 among the running adapters"
    labels = seen[0]["metric"]
    assert "ia3" in labels["running_lora_adapters"].split(","), labels
    assert int(labels["max_lora"]) >= 1, labels
