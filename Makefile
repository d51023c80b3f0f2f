# The two commands of the README: `make demo` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: demo test install dev browser bench figures clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(PIP) -e .

dev: $(BIN)/python
	$(PIP) -e '.[dev]'

demo: install
	$(BIN)/roiloss analyze data/example.csv --stride 32 --pool 3

# tests/test_report.py renders the HTML report in a real browser: Debian's headless Chromium
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo"; \
		$$sudo apt-get update -qq && $$sudo apt-get install -y -qq chromium >/dev/null; }

test: dev browser
	$(BIN)/python -m pytest -q

bench: dev
	$(BIN)/python benchmarks/bench.py

figures: install
	$(BIN)/roiloss grid --box 296,192,496,337 --image-size 512x512 --stride 32 --pool 3 \
		--methods roipool,roipool-floor,roiwarp,roialign,roialign-legacy \
		--sample-placement thirds --plot docs/article-box.png --format csv -o /dev/null

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
