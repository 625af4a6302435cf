# The two commands of the README. Each sets everything up first (idempotent, quick the second time).
.PHONY: setup demo test bench clean

setup:
	./scripts/setup.sh

demo: setup
	.venv/bin/halluscope audit data/ --out runs/sample

test: setup
	.venv/bin/python -m pytest -n 2 -q

bench: setup
	.venv/bin/python benchmarks/chair_speed.py

clean:
	rm -rf runs .pytest_cache
