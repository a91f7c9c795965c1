"""One `flora serve` on the real default model for the whole session, on a free loopback port.

Three random adapters (fLoRA r4, LoRA r8, IA3) are written with `flora adapter init --random`
into a temporary --adapter-dir, plus one more in a subfolder for the load/unload test.
`--max-num-seqs 2` makes requests wait, so the queue metrics have something to show.
"""

import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request

import openai
import pytest

FLORA = os.environ.get("FLORA_BIN", os.path.join(os.path.dirname(__file__), "../../.build/release/flora"))
MODEL = os.environ.get(
    "FLORA_MODEL",
    os.path.join(os.environ.get("FLORA_HOME", os.path.expanduser("~/.cache/flora")), "models/SmolLM2-135M-Instruct.Q4_1.gguf"),
)
ADAPTERS = {
    "flora-r4": ["--type", "flora", "--rank", "4", "--targets", "q_proj,v_proj,gate_proj,up_proj,down_proj", "--seed", "4"],
    "lora-r8": ["--type", "lora", "--rank", "8", "--targets", "q_proj,k_proj,v_proj,o_proj", "--seed", "8"],
    "ia3": ["--type", "ia3", "--targets", "k_proj,v_proj,down_proj", "--seed", "3"],
}
EXTRA = ["--type", "flora", "--rank", "2", "--targets", "q_proj,k_proj", "--seed", "22"]


class Server:
    def __init__(self, process, port, adapter_dir, log_path):
        self.process = process
        self.port = port
        self.adapter_dir = adapter_dir
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{port}"
        self.client = openai.OpenAI(base_url=self.url + "/v1", api_key="unused", max_retries=0, timeout=300)
        self.base_model = self.client.models.list().data[0].id

    def adapter_path(self, name):
        return os.path.join(self.adapter_dir, name)

    def log(self):
        with open(self.log_path) as f:
            return f.read()


def make_adapter(out, options):
    subprocess.run([FLORA, "adapter", "init", "--model", MODEL, "--random", "--out", out, *options], check=True, capture_output=True)


@pytest.fixture(scope="session")
def server():
    work = tempfile.mkdtemp(prefix="flora-e2e-")
    adapter_dir = os.path.join(work, "adapters")
    for name, options in ADAPTERS.items():
        make_adapter(os.path.join(adapter_dir, name), options)
    make_adapter(os.path.join(adapter_dir, "later", "extra"), EXTRA)
    log_path = os.path.join(work, "serve.log")
    log = open(log_path, "w")
    process = subprocess.Popen(
        [FLORA, "serve", "--model", MODEL, "--host", "127.0.0.1", "--port", "0", "--adapter-dir", adapter_dir,
         "--max-num-seqs", "2", "--max-queue", "256", "--kv-cache-tokens", "16384", "--drain-seconds", "30"],
        stdout=log, stderr=subprocess.STDOUT)
    port = None
    deadline = time.time() + 120
    while port is None and time.time() < deadline and process.poll() is None:
        match = re.search(r"on http://127\.0\.0\.1:(\d+)", open(log_path).read())
        if match:
            port = int(match.group(1))
        else:
            time.sleep(0.1)
    if port is None:
        process.kill()
        pytest.fail("flora serve did not start:\n" + open(log_path).read())
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as response:
        assert response.status == 200
    instance = Server(process, port, adapter_dir, log_path)
    yield instance
    if process.poll() is None:  # the shutdown test did not run or failed
        process.kill()
        process.wait()
    log.close()


@pytest.fixture(scope="session")
def generate(server):
    """`flora generate --format json` on prompts, each with its adapter ('base': none), greedy."""

    def run(prompts, uses, chat=False, max_tokens=16):
        command = [FLORA, "generate", "--model", MODEL, "--format", "json", "--max-tokens", str(max_tokens), "--temperature", "0"]
        for name in ADAPTERS:
            command += ["--adapter", f"{name}={server.adapter_path(name)}"]
        for prompt, use in zip(prompts, uses):
            command += ["--prompt", prompt, "--use", use]
        if chat:
            command.append("--chat")
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        return [json.loads(line) for line in output.splitlines() if line.strip()]

    return run


def run_threads(functions):
    """Runs every function in its own thread; returns their results (or exceptions) in order."""
    results = [None] * len(functions)

    def run(i, function):
        try:
            results[i] = function()
        except Exception as error:  # noqa: BLE001 - reported by the caller
            results[i] = error

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    return results


def metrics(server):
    from prometheus_client.parser import text_string_to_metric_families
    with urllib.request.urlopen(server.url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def sample_value(families, name):
    family = families.get(name)
    assert family is not None, f"{name} missing from /metrics"
    return family.samples[0].value


def signal_server(server, sig=signal.SIGTERM):
    server.process.send_signal(sig)
