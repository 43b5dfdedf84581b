# Simile: `make demo` runs the main job on built-in data; `make test` runs the test suite.
# Both install the Debian packages they need when they are missing.

SWIFT ?= swift
APT_PACKAGES := libopenblas-dev libffi-dev libedit-dev
SIMILE := .build/release/simile

.PHONY: all deps build release test demo bench docs clean

all: build

# Installs the missing apt packages (as root, or through sudo).
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "Installing:$$missing"; \
		if [ "$$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product simile

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test

# Until training lands (issue 5), the demo lists the components and reproduces PML's circle
# loss on a built-in example batch.
demo: release
	$(SIMILE) list
	@echo
	$(SIMILE) describe circle
	@echo
	$(SIMILE) compute loss circle --input Tests/Fixtures/pml/circle-input.json \
		--output /tmp/simile-demo-circle.json --expect Tests/Fixtures/pml/circle-expected.json
	@echo
	$(SIMILE) bench loss multi-similarity --n 1024 --d 128

# Times every loss over N x D and writes the tables into docs/benchmarks.md (run by hand; minutes).
bench: release
	$(SIMILE) bench all --update docs/benchmarks.md

# Regenerates the component catalogues from the descriptors.
docs: build
	for kind in losses miners samplers regularizers distances reducers; do \
	  $(SWIFT) run simile docs $$kind --output docs/$$kind.md || exit 1; done

clean:
	rm -rf .build
