"""/metrics under load: the Gateway API Inference Extension series while adapter requests run
and wait; 64 concurrent streaming clients, some hanging up and some sending garbage, all
answered correctly; afterwards every KV block is free."""

import http.client
import json
import random
import time

from conftest import ADAPTERS, metrics, run_threads, sample_value

ADAPTER_NAMES = list(ADAPTERS)


def stream_text(server, model, prompt, max_tokens):
    stream = server.client.completions.create(model=model, prompt=prompt, max_tokens=max_tokens, temperature=0, stream=True)
    return "".join(chunk.choices[0].text for chunk in stream if chunk.choices)


def wait_until_idle(server, seconds=60):
    deadline = time.time() + seconds
    while True:
        families = metrics(server)
        idle = (sample_value(families, "vllm:num_requests_running") == 0 and sample_value(families, "vllm:num_requests_waiting") == 0
                and sample_value(families, "flora_kv_blocks_free") == sample_value(families, "flora_kv_blocks_total"))
        if idle or time.time() > deadline:
            return families
        time.sleep(0.1)


def test_gateway_series_show_running_and_waiting_adapters(server):
    seen = {"running": set(), "waiting": set(), "max_waiting": 0}
    done = []

    def scrape():
        while not done:
            families = metrics(server)
            seen["max_waiting"] = max(seen["max_waiting"], sample_value(families, "vllm:num_requests_waiting"))
            info = families["vllm:lora_requests_info"].samples
            assert len(info) == 1, info
            labels = info[0].labels
            assert set(labels) == {"max_lora", "running_lora_adapters", "waiting_lora_adapters"}
            assert abs(info[0].value - time.time()) < 120
            seen["running"].update(filter(None, labels["running_lora_adapters"].split(",")))
            seen["waiting"].update(filter(None, labels["waiting_lora_adapters"].split(",")))
            assert 0 <= sample_value(families, "vllm:kv_cache_usage_perc") <= 1
            time.sleep(0.02)
        return True

    calls = [(lambda n=n: stream_text(server, n, "Tell me about " + n, 24)) for n in ADAPTER_NAMES * 2]
    scraper = [scrape]

    def all_requests():
        try:
            return run_threads(calls)
        finally:
            done.append(True)

    results = run_threads([all_requests, *scraper])
    requests, scraped = results[0], results[1]
    assert scraped is True, scraped
    assert all(isinstance(text, str) for text in requests), requests
    assert seen["max_waiting"] > 0, "with --max-num-seqs 2, six requests must queue"
    assert seen["running"] and seen["waiting"], seen
    assert seen["running"] | seen["waiting"] <= set(ADAPTER_NAMES)

    families = wait_until_idle(server)
    info = families["vllm:lora_requests_info"].samples
    assert len(info) == 1 and info[0].labels["running_lora_adapters"] == "" and info[0].labels["waiting_lora_adapters"] == ""
    assert sample_value(families, "vllm:kv_cache_usage_perc") == 0
    assert families["vllm:prompt_tokens"].samples[0].value > 0
    assert families["vllm:generation_tokens"].samples[0].value > 0
    assert families["vllm:time_to_first_token_seconds"].type == "histogram"
    assert families["vllm:inter_token_latency_seconds"].type == "histogram"


def test_64_streaming_clients_with_hang_ups_and_garbage(server):
    cases = [(model, prompt) for model in [server.base_model, *ADAPTER_NAMES] for prompt in ["Rain falls", "Cats like"]]
    expected = {case: server.client.completions.create(model=case[0], prompt=case[1], max_tokens=8, temperature=0).choices[0].text for case in cases}
    rng = random.Random(64)
    kinds = ["hang-up"] * 16 + ["garbage"] * 7 + ["normal"] * 41
    rng.shuffle(kinds)

    def normal(case):
        return ("normal", case, stream_text(server, case[0], case[1], 8))

    def hang_up(case):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
        body = json.dumps({"model": case[0], "prompt": case[1], "max_tokens": 200, "temperature": 0, "stream": True})
        connection.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        first = response.readline()   # the first event, mid-stream
        connection.sock.close()
        connection.close()
        return ("hang-up", case, (response.status, first))

    garbage_bodies = [b'{"prompt": "x"', b"\xff\xfe\xfd", b'{"prompt": 5}', b'{"max_tokens": 3}', b"[]", b'{"prompt": "x", "max_tokens": -1}', b"null"]

    def garbage(index):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
        connection.request("POST", "/v1/completions", garbage_bodies[index % len(garbage_bodies)], {"Content-Type": "application/json"})
        response = connection.getresponse()
        body = json.loads(response.read())
        connection.close()
        return ("garbage", index, (response.status, body))

    calls = []
    for i, kind in enumerate(kinds):
        case = cases[i % len(cases)]
        calls.append({"normal": lambda c=case: normal(c), "hang-up": lambda c=case: hang_up(c), "garbage": lambda i=i: garbage(i)}[kind])
    started = time.time()
    results = run_threads(calls)
    assert time.time() - started < 400
    for result in results:
        assert not isinstance(result, Exception), repr(result)
        kind, case, outcome = result
        if kind == "normal":
            assert outcome == expected[case], case
        elif kind == "hang-up":
            status, first = outcome
            assert status == 200 and first.startswith(b"data: {"), outcome
        else:
            status, body = outcome
            assert status == 400, body
            assert set(body["error"]) == {"message", "type", "param", "code"} and body["error"]["type"] == "BadRequestError"

    families = wait_until_idle(server)
    assert sample_value(families, "vllm:num_requests_running") == 0
    assert sample_value(families, "vllm:num_requests_waiting") == 0
    assert sample_value(families, "flora_kv_blocks_free") == sample_value(families, "flora_kv_blocks_total")
    assert sample_value(families, "vllm:kv_cache_usage_perc") == 0
    aborted = [s.value for s in families["vllm:request_success"].samples if s.labels.get("finished_reason") == "abort"]
    assert aborted and aborted[0] >= 16, "every hang-up aborted its request"
