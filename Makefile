# Simile: `make demo` runs the main job on built-in data; `make test` runs the test suite.
# Both install the Debian packages they need when they are missing.

SWIFT ?= swift
APT_PACKAGES := libopenblas-dev libffi-dev libedit-dev
SIMILE := .build/release/simile

.PHONY: all deps build release test demo bench docs results clean

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

# The main job: train the recommended ECG pipeline on the built-in synthetic cohort and report
# retrieval on unseen patients next to the raw-feature kNN baseline.
demo: release
	$(SIMILE) train ecg-recommended --data synthetic-ecg --out .build/demo-run
	@echo
	$(SIMILE) embed .build/demo-run --data synthetic-ecg --label patient_id --out .build/demo-run/all-embeddings.csv
	@echo "embedded every exam of the cohort into .build/demo-run/all-embeddings.csv"

# Reruns the trainings behind docs/results.md and prints its tables (run by hand; about a minute).
results: release
	python3 docs/results.py

# Times every loss over N x D and writes the tables into docs/benchmarks.md (run by hand; minutes).
bench: release
	$(SIMILE) bench all --update docs/benchmarks.md

# Regenerates the component catalogues from the descriptors.
docs: build
	for kind in losses miners samplers regularizers distances reducers; do \
	  $(SWIFT) run simile docs $$kind --output docs/$$kind.md || exit 1; done

clean:
	rm -rf .build
