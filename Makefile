# The README's commands. `demo` and `test` set everything up first from requirements.lock
# (idempotent, quick the second time).
.PHONY: setup demo test bench lock lock-upgrade test-latest clean

setup:
	./scripts/setup.sh

demo: setup
	.venv/bin/halluscope audit data/ --out runs/sample

test: setup
	.venv/bin/python -m pytest -n 2 -q

bench: setup
	.venv/bin/python benchmarks/chair_speed.py

# Regenerate requirements.lock after a change of requirements in pyproject.toml (keeps the other
# pins); `lock-upgrade` moves every pin to the newest release allowed. Then `make test`.
lock:
	./scripts/lock.sh

lock-upgrade:
	./scripts/lock.sh --upgrade

# Not run by CI: installs the newest releases pyproject allows (no lock) into .venv-latest and runs
# the tests there, so that a breaking release shows up here before users meet it.
test-latest:
	./scripts/test_latest.sh

clean:
	rm -rf runs .pytest_cache
