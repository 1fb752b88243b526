# Convenience targets; each calls the README's commands.
.PHONY: book book-full test unit lint strip benchmark
book:
	bash scripts/build_book.sh
book-full:
	bash scripts/build_book.sh --full
test:
	bash scripts/run_tests.sh
unit:  # the fast unit tests: no book build, no browser, nothing marked slow
	.venv/bin/python -m pytest -q -m "not slow and not browser" tests
lint:
	.venv/bin/ruff check qkan_lib tests benchmarks scripts
strip:
	.venv/bin/nbstripout --keep-id --extra-keys "metadata.papermill cell.metadata.papermill cell.metadata.user_expressions" notebooks/*.ipynb
benchmark:
	.venv/bin/python benchmarks/run_benchmarks.py
