# Flora's two entry points: `make run` and `make test` (see README.md).
# Swift's SIMD types only become vector FMA code when compiled for this CPU (DESIGN.md section 9),
# so every build and test passes -target-cpu. Everything builds in one configuration (release).

SHELL := /bin/bash
export PATH := $(PATH):/opt/swift/usr/bin
FLORA_HOME ?= $(HOME)/.cache/flora
export FLORA_HOME
TARGET_CPU ?= native
SWIFT_FLAGS := -c release -Xswiftc -target-cpu -Xswiftc $(TARGET_CPU)
FLORA := .build/release/flora
MODEL = $(FLORA_HOME)/models/SmolLM2-135M-Instruct.Q4_1.gguf
PROMPT ?= Write a short poem about the sea.

.PHONY: run test build model deps clean

deps:
	@command -v swift >/dev/null || { echo "make: Swift 6 is required (expected at /opt/swift/usr/bin/swift)"; exit 1; }
	@command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1 || { \
		echo "make: installing python3 and pip"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-pip; }

model: deps
	@scripts/fetch-model.sh >/dev/null

build: deps
	swift build $(SWIFT_FLAGS) --product flora

run: model build
	$(FLORA) generate --model "$(MODEL)" --chat --max-tokens 128 --prompt "$(PROMPT)"

test: model build
	swift build $(SWIFT_FLAGS) --build-tests
	swift test $(SWIFT_FLAGS) --skip-build

clean:
	rm -rf .build
