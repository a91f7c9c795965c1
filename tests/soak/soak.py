#!/usr/bin/env python3
"""Soak test: mixed traffic against one `flora serve` on loopback for a bounded time, with faults.

What a long-running server meets in a day, compressed: streaming and non-streaming completions and
chat, `n` > 1, stop strings, clients that hang up at random points, malformed bodies, bursts above
`--max-num-seqs`, a KV pool small enough that the scheduler must preempt, and adapters loaded,
unloaded, replaced and corrupted on disk while requests use them (`--max-resident-adapters` is small, so
adapters are evicted and read from disk again).

Every request must end in a complete response (every choice has a finish_reason; a stream ends with
`data: [DONE]`) or in a clear error (OpenAI's error shape with a 4xx status, or an error event in the
stream). Anything else is a lost request: a reset connection, a timeout, a 5xx, a stream that stops.
At the end every KV block must be free, no adapter pinned, the process alive with a flat resident
memory after warm-up, and SIGTERM must end it with status 0. The script prints its figures, writes
them as JSON with --json, and exits 1 on any lost request, leak or crash.

Standard library only. Usage:
  tests/soak/soak.py --flora .build/release/flora --model MODEL.gguf --seconds 1800 [--json out.json]
"""

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

STABLE = {
    "flora-r4": ["--type", "flora", "--rank", "4", "--targets", "q_proj,v_proj,gate_proj,up_proj,down_proj"],
    "lora-r8": ["--type", "lora", "--rank", "8", "--targets", "q_proj,k_proj,v_proj,o_proj"],
    "ia3": ["--type", "ia3", "--targets", "k_proj,v_proj,down_proj"],
}
# Folders the churn thread copies over the churn adapters' folders while they may be in use.
VARIANTS = [
    ["--type", "flora", "--rank", "2", "--targets", "q_proj,k_proj"],
    ["--type", "flora", "--rank", "8", "--targets", "o_proj,down_proj"],
    ["--type", "lora", "--rank", "4", "--targets", "v_proj,up_proj"],
    ["--type", "ia3", "--targets", "k_proj,down_proj"],
]
CHURN = [f"churn-{i}" for i in range(3)]
PROMPTS = [
    "The history of the lighthouse keepers on the northern coast",
    "Write a haiku about rain on a tin roof.",
    "List three prime numbers and explain why each is prime.",
    "def fibonacci(n):\n    ",
    "Once upon a time, in a village at the edge of a forest, there lived",
    "Translate to French: the cat sleeps on the warm windowsill.",
    "Q: What is the capital of Australia?\nA:",
    "Summarize the plot of a story about a lost robot finding its way home, in two sentences.",
]
GARBAGE = [b'{"prompt": "x"', b"\xff\xfe\xfd", b'{"prompt": 5}', b"[]", b'{"prompt": "x", "max_tokens": -1}', b"null",
           b'{"model": "no-such-adapter", "prompt": "x"}', b'{"messages": [{"role": "user"}], "max_tokens": 4}',
           b'{"prompt": "x", "n": 0}', b'{"prompt": "x", "stop": [1, 2]}', b'{"prompt": "x", "temperature": "hot"}']
CLEAR_ERROR_STATUSES = {400, 404, 409, 413, 422, 429}


class Lost(Exception):
    """A request that ended neither in a complete response nor in a clear error."""


def percentile(values, q):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def slope_per_minute(samples):
    """Least-squares slope of (seconds, value) samples, per minute."""
    if len(samples) < 3:
        return 0.0
    xs, ys = [s[0] for s in samples], [s[1] for s in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 0.0 if den == 0 else 60 * sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den


class Soak:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.lock = threading.Lock()
        self.records = []          # (kind, outcome, seconds, detail)
        self.lost = []
        self.rss = []              # (seconds since start, MiB)
        self.stop_at = 0.0
        self.started = 0.0
        self.work = tempfile.mkdtemp(prefix="flora-soak-")
        self.adapter_dir = os.path.join(self.work, "adapters")
        self.process = None
        self.port = None

    # ----- set-up -----
    def make_adapter(self, out, options, seed):
        subprocess.run([self.args.flora, "adapter", "init", "--model", self.args.model, "--random", "--out", out,
                        "--seed", str(seed), *options], check=True, capture_output=True)

    def prepare(self):
        for i, (name, options) in enumerate(STABLE.items()):
            self.make_adapter(os.path.join(self.adapter_dir, name), options, 10 + i)
        for i, options in enumerate(VARIANTS):
            self.make_adapter(os.path.join(self.work, "variants", f"v{i}"), options, 20 + i)
        for i, name in enumerate(CHURN):
            shutil.copytree(os.path.join(self.work, "variants", f"v{i % len(VARIANTS)}"), os.path.join(self.adapter_dir, "churn", name))

    def start_server(self):
        self.log_path = os.path.join(self.work, "serve.log")
        log = open(self.log_path, "w")
        a = self.args
        self.process = subprocess.Popen(
            [a.flora, "serve", "--model", a.model, "--host", "127.0.0.1", "--port", "0", "--adapter-dir", self.adapter_dir,
             "--max-num-seqs", str(a.max_num_seqs), "--max-queue", "256", "--kv-cache-tokens", str(a.kv_cache_tokens),
             "--max-resident-adapters", "3", "--drain-seconds", "60"],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 180
        while self.port is None:
            if time.time() > deadline or self.process.poll() is not None:
                raise SystemExit("soak: flora serve did not start:\n" + self.log_tail())
            match = re.search(r"on http://127\.0\.0\.1:(\d+)", open(self.log_path).read())
            if match:
                self.port = int(match.group(1))
            else:
                time.sleep(0.1)

    def log_tail(self, lines=40):
        with open(self.log_path) as f:
            return "".join(f.readlines()[-lines:])

    # ----- HTTP -----
    def post(self, path, body, timeout=600):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        connection.request("POST", path, data, {"Content-Type": "application/json"})
        return connection, connection.getresponse()

    def metrics(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode()
        connection.close()
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values

    @staticmethod
    def check_error(status, payload):
        try:
            error = json.loads(payload)["error"]
        except Exception as problem:  # noqa: BLE001 - any shape but OpenAI's is a lost request
            raise Lost(f"status {status} without an OpenAI error body: {payload[:200]!r} ({problem})")
        if not isinstance(error.get("message"), str) or not error["message"]:
            raise Lost(f"status {status} error without a message: {payload[:200]!r}")
        # A folder corrupted on disk after it was registered is the operator's fault: a server
        # error, acceptable when it names the adapter's folder and the cause.
        if status == 500 and "failed to load" in error["message"]:
            return "error 500 adapter folder"
        if status not in CLEAR_ERROR_STATUSES:
            raise Lost(f"status {status}: {error['message']}")
        return f"error {status}"

    def complete(self, path, body):
        connection, response = self.post(path, body)
        payload = response.read()
        connection.close()
        if response.status != 200:
            return self.check_error(response.status, payload)
        result = json.loads(payload)
        choices = result.get("choices")
        if not isinstance(choices, list) or len(choices) != body.get("n", 1):
            raise Lost(f"{len(choices or [])} choices for n={body.get('n', 1)}")
        if any(c.get("finish_reason") not in ("stop", "length") for c in choices):
            raise Lost(f"finish reasons {[c.get('finish_reason') for c in choices]}")
        if "usage" not in result:
            raise Lost("no usage")
        return "ok"

    def stream(self, path, body, hang_up_after=None):
        """Reads server-sent events; with `hang_up_after`, closes the socket after that many events."""
        connection, response = self.post(path, body)
        if response.status != 200:
            payload = response.read()
            connection.close()
            return self.check_error(response.status, payload)
        finished, events, first_token = set(), 0, None
        started = time.time()
        try:
            while True:
                line = response.readline()
                if not line:
                    raise Lost(f"stream ended after {events} events without [DONE]")
                line = line.strip()
                if not line.startswith(b"data: "):
                    continue
                data = line[6:]
                if data == b"[DONE]":
                    break
                event = json.loads(data)
                events += 1
                if first_token is None:
                    first_token = time.time() - started
                if "error" in event:
                    self.check_error(400, data)  # an error after the stream began: a message, then [DONE]
                    rest = [line.strip() for line in iter(response.readline, b"")]
                    if b"data: [DONE]" not in rest:
                        raise Lost(f"error event without [DONE] after it: {data[:200]!r}")
                    return "stream error"
                for choice in event.get("choices", []):
                    if choice.get("finish_reason"):
                        finished.add(choice["index"])
                if hang_up_after is not None and events >= hang_up_after:
                    connection.sock.close()
                    return "hung up"
        finally:
            connection.close()
        if len(finished) != body.get("n", 1):
            raise Lost(f"stream finished {sorted(finished)} of n={body.get('n', 1)} choices")
        return "ok"

    # ----- traffic -----
    def models(self):
        return ["base"] + list(STABLE) + CHURN

    def one_request(self, rng):
        model = rng.choice(self.models())
        chat = rng.random() < 0.4
        body = {"max_tokens": rng.choice([1, 4, 16, 32, 64, 128]), "temperature": rng.choice([0, 0.7, 1.0]), "seed": rng.randrange(1 << 30)}
        if model != "base":
            body["model"] = model
        prompt = rng.choice(PROMPTS)
        if chat:
            path = "/v1/chat/completions"
            body["messages"] = [{"role": "user", "content": prompt}]
        else:
            path = "/v1/completions"
            body["prompt"] = prompt
        if rng.random() < 0.2:
            body["n"] = rng.choice([2, 3])
        if rng.random() < 0.25:
            body["stop"] = rng.choice([["."], [" the", "\n"], ["e"]])
        roll = rng.random()
        if roll < 0.05:
            kind = "garbage"
            call = lambda: self.garbage(rng.choice(GARBAGE), path)  # noqa: E731
        elif roll < 0.20:
            kind = "hang-up"
            body["stream"] = True
            body["max_tokens"] = 64
            call = lambda: self.stream(path, body, hang_up_after=rng.randrange(0, 6))  # noqa: E731
        elif roll < 0.55:
            kind = "stream"
            body["stream"] = True
            call = lambda: self.stream(path, body)  # noqa: E731
        else:
            kind = "complete"
            call = lambda: self.complete(path, body)  # noqa: E731
        return kind, call

    def garbage(self, data, path):
        connection, response = self.post(path, data)
        payload = response.read()
        connection.close()
        if response.status == 200:
            raise Lost(f"garbage body {data[:40]!r} was accepted")
        return self.check_error(response.status, payload)

    def record(self, kind, call):
        started = time.time()
        try:
            outcome = call()
        except Lost as problem:
            outcome = None
            detail = str(problem)
        except Exception as problem:  # noqa: BLE001 - a reset, a timeout, bad JSON: all lost
            outcome = None
            detail = f"{type(problem).__name__}: {problem}"
        seconds = time.time() - started
        with self.lock:
            if outcome is None:
                self.lost.append((kind, detail))
            self.records.append((kind, outcome or "lost", seconds))

    def client(self, index):
        rng = random.Random(self.args.seed * 1000 + index)
        while time.time() < self.stop_at:
            kind, call = self.one_request(rng)
            self.record(kind, call)

    def burst(self):
        rng = random.Random(self.args.seed + 7)
        while time.time() + 20 < self.stop_at:
            time.sleep(rng.uniform(5, 20))
            calls = [self.one_request(rng) for _ in range(3 * self.args.max_num_seqs)]
            threads = [threading.Thread(target=self.record, args=("burst-" + kind, call)) for kind, call in calls]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

    def churn(self):
        """Loads, unloads, replaces and corrupts the churn adapters while clients use them."""
        rng = random.Random(self.args.seed + 13)
        while time.time() < self.stop_at:
            time.sleep(rng.uniform(0.5, 2.5))
            name = rng.choice(CHURN)
            folder = os.path.join(self.adapter_dir, "churn", name)
            action = rng.choice(["load", "load", "unload", "unload", "replace", "corrupt"])
            try:
                if action == "load":
                    outcome = self.admin("/v1/load_lora_adapter", {"lora_name": name, "lora_path": folder})
                elif action == "unload":
                    outcome = self.admin("/v1/unload_lora_adapter", {"lora_name": name})
                elif action == "replace":
                    fresh = folder + ".new"
                    shutil.rmtree(fresh, ignore_errors=True)
                    shutil.copytree(os.path.join(self.work, "variants", f"v{rng.randrange(len(VARIANTS))}"), fresh)
                    shutil.rmtree(folder, ignore_errors=True)
                    os.rename(fresh, folder)
                    outcome = "replaced"
                else:
                    weights = os.path.join(folder, "adapter_model.safetensors")
                    if rng.random() < 0.5 and os.path.exists(weights):
                        with open(weights, "r+b") as f:
                            f.truncate(max(0, os.path.getsize(weights) // rng.choice([2, 3, 50])))
                    else:
                        with open(os.path.join(folder, "adapter_config.json"), "w") as f:
                            f.write(rng.choice(['{"peft_type": "LORA", "r": -1}', "{", '{"peft_type": "NOPE"}']))
                    outcome = "corrupted"
            except Lost as problem:
                with self.lock:
                    self.lost.append(("admin-" + action, str(problem)))
                outcome = "lost"
            except Exception as problem:  # noqa: BLE001
                with self.lock:
                    self.lost.append(("admin-" + action, f"{type(problem).__name__}: {problem}"))
                outcome = "lost"
            with self.lock:
                self.records.append(("admin-" + action, outcome, 0.0))

    def admin(self, path, body):
        connection, response = self.post(path, body, timeout=120)
        payload = response.read()
        connection.close()
        if response.status == 200:
            return "ok"
        return self.check_error(response.status, payload)

    def sample_memory(self):
        while time.time() < self.stop_at + 5 and self.process.poll() is None:
            try:
                with open(f"/proc/{self.process.pid}/status") as f:
                    rss = int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1)) / 1024
                self.rss.append((time.time() - self.started, rss))
            except (OSError, AttributeError):
                pass
            time.sleep(2)

    # ----- the run -----
    def wait_idle(self, seconds=120):
        deadline = time.time() + seconds
        while True:
            m = self.metrics()
            idle = (m.get("vllm:num_requests_running") == 0 and m.get("vllm:num_requests_waiting") == 0
                    and m.get("flora_kv_blocks_free") == m.get("flora_kv_blocks_total") and m.get("flora_adapter_pins") == 0)
            if idle or time.time() > deadline:
                return m
            time.sleep(0.2)

    def run(self):
        a = self.args
        self.prepare()
        self.start_server()
        self.started = time.time()
        self.stop_at = self.started + a.seconds
        threads = [threading.Thread(target=self.client, args=(i,)) for i in range(a.clients)]
        threads += [threading.Thread(target=self.burst), threading.Thread(target=self.churn), threading.Thread(target=self.sample_memory)]
        for thread in threads:
            thread.start()
        last_report = self.started
        while any(t.is_alive() for t in threads):
            time.sleep(1)
            if a.progress and time.time() - last_report >= a.progress:
                last_report = time.time()
                with self.lock:
                    print(f"soak: {time.time() - self.started:6.0f} s  {len(self.records)} requests  {len(self.lost)} lost"
                          f"  rss {self.rss[-1][1] if self.rss else 0:.0f} MiB", file=sys.stderr, flush=True)
        crashed = self.process.poll() is not None
        final = {} if crashed else self.wait_idle()
        exit_code = None
        if not crashed:
            self.process.send_signal(signal.SIGTERM)
            try:
                exit_code = self.process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.process.kill()
                exit_code = "hung on SIGTERM"
        return self.report(crashed, final, exit_code)

    def report(self, crashed, final, exit_code):
        a = self.args
        by_kind = {}
        for kind, outcome, seconds in self.records:
            entry = by_kind.setdefault(kind, {"outcomes": {}, "seconds": []})
            entry["outcomes"][outcome] = entry["outcomes"].get(outcome, 0) + 1
            if outcome == "ok" and not kind.startswith("admin"):
                entry["seconds"].append(seconds)
        warm = max(30.0, 0.2 * a.seconds)
        steady = [s for s in self.rss if s[0] >= warm]
        ok_seconds = [s for e in by_kind.values() for s in e["seconds"]]
        summary = {
            "seconds": a.seconds, "clients": a.clients, "max_num_seqs": a.max_num_seqs, "kv_cache_tokens": a.kv_cache_tokens,
            "requests": len(self.records), "lost": len(self.lost), "lost_examples": self.lost[:20],
            "crashed": crashed, "sigterm_exit_code": exit_code,
            "kv_blocks_free": final.get("flora_kv_blocks_free"), "kv_blocks_total": final.get("flora_kv_blocks_total"),
            "adapter_pins": final.get("flora_adapter_pins"), "preemptions": final.get("vllm:num_preemptions_total"),
            "aborted": final.get('vllm:request_success_total{finished_reason="abort"}'),
            "latency_p50_s": percentile(ok_seconds, 50), "latency_p99_s": percentile(ok_seconds, 99),
            "rss_mib_after_warmup": steady[0][1] if steady else None, "rss_mib_end": self.rss[-1][1] if self.rss else None,
            "rss_slope_mib_per_min": slope_per_minute(steady),
            "kinds": {k: {"outcomes": e["outcomes"], "p50_s": percentile(e["seconds"], 50), "p99_s": percentile(e["seconds"], 99)}
                      for k, e in sorted(by_kind.items())},
        }
        problems = []
        if crashed:
            problems.append("the server crashed:\n" + self.log_tail())
        if self.lost:
            problems.append(f"{len(self.lost)} requests lost, e.g. {self.lost[:5]}")
        if not crashed and summary["kv_blocks_free"] != summary["kv_blocks_total"]:
            problems.append(f"KV blocks leaked: {summary['kv_blocks_free']} of {summary['kv_blocks_total']} free when idle")
        if not crashed and summary["adapter_pins"] != 0:
            problems.append(f"adapter pins leaked: {summary['adapter_pins']} held when idle")
        if exit_code not in (0, None):
            problems.append(f"SIGTERM ended the server with {exit_code}")
        if a.require_preemption and not summary["preemptions"]:
            problems.append("no preemption happened: the KV pool was not small enough to test it")
        if a.max_rss_slope is not None and summary["rss_slope_mib_per_min"] > a.max_rss_slope:
            problems.append(f"resident memory grew {summary['rss_slope_mib_per_min']:.2f} MiB/min after warm-up (limit {a.max_rss_slope})")
        summary["problems"] = problems
        if a.json:
            with open(a.json, "w") as f:
                json.dump(summary, f, indent=1)
        self.print_summary(summary)
        if not problems:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            print(f"soak: kept {self.work} (server log: {self.log_path})", file=sys.stderr)
        return 1 if problems else 0

    @staticmethod
    def print_summary(s):
        print(f"soak: {s['seconds']:.0f} s, {s['clients']} clients + bursts + adapter churn; {s['requests']} requests, {s['lost']} lost")
        print(f"soak: crashed {s['crashed']}, SIGTERM exit {s['sigterm_exit_code']}; KV blocks free {s['kv_blocks_free']}/{s['kv_blocks_total']};"
              f" adapter pins {s['adapter_pins']}; preemptions {s['preemptions']}; aborted {s['aborted']}")
        p50, p99 = s["latency_p50_s"], s["latency_p99_s"]
        print(f"soak: complete requests: latency p50 {p50 if p50 is None else round(p50, 3)} s, p99 {p99 if p99 is None else round(p99, 3)} s")
        print(f"soak: resident memory {s['rss_mib_after_warmup']} MiB after warm-up → {s['rss_mib_end']} MiB at end,"
              f" slope {s['rss_slope_mib_per_min']:.3f} MiB/min")
        for kind, entry in s["kinds"].items():
            outcomes = ", ".join(f"{k} {v}" for k, v in sorted(entry["outcomes"].items()))
            print(f"soak:   {kind:18} {outcomes}")
        for problem in s["problems"]:
            print("soak: FAIL: " + problem)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flora", default=os.path.join(os.path.dirname(__file__), "../../.build/release/flora"), help="the flora executable")
    parser.add_argument("--model", required=True, help="the model file flora serves")
    parser.add_argument("--seconds", type=float, default=1800, help="how long the traffic runs")
    parser.add_argument("--clients", type=int, default=10, help="client threads, each sending one request after another")
    parser.add_argument("--max-num-seqs", type=int, default=4, help="the server's --max-num-seqs (bursts send 3× this at once)")
    parser.add_argument("--kv-cache-tokens", type=int, default=256, help="the server's KV pool: small, to force preemption")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--require-preemption", action="store_true", help="fail if the scheduler never preempted")
    parser.add_argument("--max-rss-slope", type=float, default=None, help="fail if resident memory grows faster after warm-up (MiB/min)")
    parser.add_argument("--progress", type=float, default=60, help="seconds between progress lines on stderr (0: none)")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    sys.exit(Soak(args).run())


if __name__ == "__main__":
    main()
