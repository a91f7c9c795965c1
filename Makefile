# Flora's two entry points: `make run` and `make test` (see README.md).
# Swift's SIMD types only become vector FMA code when compiled for this CPU (DESIGN.md section 9),
# so every build and test passes -target-cpu. Everything builds in one configuration (release).

SHELL := /bin/bash
FLORA_HOME ?= $(HOME)/.cache/flora
export FLORA_HOME
TARGET_CPU ?= native
SWIFT_FLAGS := -c release -Xswiftc -target-cpu -Xswiftc $(TARGET_CPU)
FLORA := .build/release/flora
MODEL = $(FLORA_HOME)/models/SmolLM2-135M-Instruct.Q4_1.gguf
PROMPT ?= Write a short poem about the sea.
DEMO_ADAPTERS = $(FLORA_HOME)/demo-adapters
HOST ?= 127.0.0.1
PORT ?= 8000
E2E_VENV := .venv-e2e

.PHONY: run test e2e e2e-run e2e-deps prometheus soak demo-adapters generate build model deps clean fuzz

deps:
	@command -v swift >/dev/null || { echo "make: Swift 6 is required and 'swift' is not on PATH: install a Swift 6 toolchain for Debian 12 (swift.org/install) and add its usr/bin to PATH"; exit 1; }
	@command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1 || { \
		echo "make: installing python3 and pip"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-pip; }

model: deps
	@scripts/fetch-model.sh >/dev/null

build: deps
	swift build $(SWIFT_FLAGS) --product flora

# Serves the default model with the demo adapters (one of each kind) on $(HOST):$(PORT).
run: model build demo-adapters
	@echo "flora: try  curl -s http://$(HOST):$(PORT)/v1/chat/completions -H 'Content-Type: application/json' -d '{\"model\": \"flora-r4\", \"messages\": [{\"role\": \"user\", \"content\": \"$(PROMPT)\"}], \"max_tokens\": 64}'"
	@echo "flora: models: curl -s http://$(HOST):$(PORT)/v1/models   (Ctrl-C stops the server)"
	$(FLORA) serve --model "$(MODEL)" --host $(HOST) --port $(PORT) --adapter-dir "$(DEMO_ADAPTERS)"

demo-adapters: model build
	@scripts/demo-adapters.sh "$(FLORA)" "$(MODEL)" "$(DEMO_ADAPTERS)"

# One prompt through the engine, without the server.
generate: model build
	$(FLORA) generate --model "$(MODEL)" --chat --max-tokens 128 --prompt "$(PROMPT)"

# --build-tests also builds the flora executable that the end-to-end tests start; building the
# product alone first would compile the server's dependencies twice (they differ by configuration).
# scripts/run-tests.sh bounds the run and names any test that never ends.
test: model
	swift build $(SWIFT_FLAGS) --build-tests
	scripts/run-tests.sh swift test $(SWIFT_FLAGS) --skip-build
	$(MAKE) e2e-run

# The server end to end on the real model, driven by the official openai client (tests/e2e).
e2e: model build
	$(MAKE) e2e-run

e2e-run: e2e-deps
	FLORA_BIN="$(abspath $(FLORA))" FLORA_MODEL="$(MODEL)" $(E2E_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/e2e

e2e-deps: $(E2E_VENV)/.installed prometheus

# The soak test (tests/soak/soak.py): SOAK_SECONDS of mixed traffic, hang-ups, bursts, preemption and
# adapter churn against one server; fails on any lost request, leaked KV block or pin, or crash.
SOAK_SECONDS ?= 1800
soak: model build
	python3 tests/soak/soak.py --flora "$(abspath $(FLORA))" --model "$(MODEL)" --seconds $(SOAK_SECONDS) \
		--require-preemption --json soak.json

# Debian's Prometheus, for the end-to-end scrape test (skipped, saying why, when it cannot be installed).
prometheus:
	@command -v prometheus >/dev/null || { echo "make: installing prometheus (Debian's package) for the scrape test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; } \
		|| echo "make: prometheus could not be installed; tests/e2e/test_prometheus_scrape.py will be skipped"

$(E2E_VENV)/.installed: tests/e2e/requirements.txt
	@python3 -m venv $(E2E_VENV) >/dev/null 2>&1 || { \
		echo "make: installing python3-venv"; rm -rf $(E2E_VENV); \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; \
		python3 -m venv $(E2E_VENV); }
	$(E2E_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r tests/e2e/requirements.txt
	@touch $@

# Every fuzzer of fuzz/ for FUZZ_SECONDS each, one after the other (docs/reliability.md).
FUZZ_SECONDS ?= 60
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) TARGET_CPU=$(TARGET_CPU) scripts/fuzz.sh

clean:
	rm -rf .build $(E2E_VENV)
