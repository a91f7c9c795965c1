"""Runs last (pytest takes files in name order): SIGTERM lets the running request finish,
then the server exits 0."""

import http.client
import json
import signal

from conftest import ADAPTERS


def test_zz_sigterm_drains_and_exits_zero(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    body = json.dumps({"model": list(ADAPTERS)[0], "prompt": "A long story:", "max_tokens": 64, "temperature": 0, "stream": True})
    connection.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    assert response.status == 200
    response.readline()
    server.process.send_signal(signal.SIGTERM)
    rest = response.read().decode()
    assert rest.rstrip().endswith("data: [DONE]"), rest[-300:]
    finishes = [json.loads(line[6:])["choices"][0]["finish_reason"] for line in rest.splitlines()
                if line.startswith("data: {") and json.loads(line[6:])["choices"]]
    assert finishes[-1] == "length", "the in-flight request ran to its end"
    assert server.process.wait(timeout=60) == 0, server.log()[-2000:]
