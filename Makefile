# The two commands a newcomer needs: `make up` runs the platform, `make test` runs every test tier.
.DEFAULT_GOAL := help
VENV := .venv
BIN := $(VENV)/bin

.PHONY: help up test lint lock clean

help:
	@echo "make up    - start the whole platform on this machine (NATS, room, drawing service, web app)"
	@echo "make test  - set up everything and run lint, types, layers and all test tiers"
	@echo "make lint  - ruff, mypy and import-linter only"
	@echo "make lock  - re-pin constraints.txt from pyproject.toml"

up:
	@tools/bootstrap.sh
	$(BIN)/drawnet up $(ARGS)

test:
	@tools/bootstrap.sh --test
	$(MAKE) --no-print-directory lint
	node --test tests/frontend/
	$(BIN)/pytest $(PYTEST_ARGS)

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
