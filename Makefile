# The two commands a newcomer needs: `make up` runs the platform, `make test` runs every test tier.
.DEFAULT_GOAL := help
VENV := .venv
BIN := $(VENV)/bin

.PHONY: help up test lint lock clean cluster

help:
	@echo "make up    - start the whole platform on this machine (NATS, room, drawing service, web app)"
	@echo "make test  - set up everything and run lint, types, layers and all test tiers"
	@echo "make lint  - ruff, mypy and import-linter only"
	@echo "make cluster - (root) a real one-node Kubernetes cluster here with the chart installed; Ctrl-C stops it"
	@echo "make lock  - re-pin constraints.txt from pyproject.toml"

up:
	@tools/bootstrap.sh
	$(BIN)/drawnet up $(ARGS)

test:
	@tools/bootstrap.sh --test
	$(MAKE) --no-print-directory lint
	node --test tests/frontend/
	$(BIN)/pytest $(PYTEST_ARGS)

# A real one-node Kubernetes cluster on this machine (no Docker), the images built from images/ and the
# chart installed: prints the web app's URL and a KUBECONFIG; Ctrl-C removes everything (docs/deploy.md).
cluster:
	@tools/bootstrap.sh --test
	$(BIN)/python -m drawnet.testkit.cluster up $(ARGS)

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	node_modules/.bin/tsc -p frontend

lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --no-header \
	  --no-emit-index-url --no-emit-find-links -o constraints.txt

clean:
	rm -rf $(VENV) .drawnet .mypy_cache .pytest_cache .ruff_cache
