# Convenience targets; each calls the README's commands.
.PHONY: book book-full test strip benchmark
book:
	bash scripts/build_book.sh
book-full:
	bash scripts/build_book.sh --full
test:
	bash scripts/run_tests.sh
strip:
	.venv/bin/nbstripout --extra-keys "metadata.papermill cell.metadata.papermill cell.metadata.user_expressions" notebooks/*.ipynb
benchmark:
	.venv/bin/python benchmarks/run_benchmarks.py
