# Two commands: `make book` builds the HTML, `make test` runs every test.
# Both create .venv from requirements.txt when it is missing (or older than it).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
JB_FLAGS := --all -W -n --keep-going

.PHONY: book test test-fast test-min pdf perf perf-regress api lock lock-upgrade bench venv clean help student lab

help:
	@echo "make book   - set up .venv and build the HTML book into _build/html"
	@echo "make test   - set up .venv and run every test (unit, chapters via nbval, browser), then again under a second BLAS kernel"
	@echo "make bench  - execute every chapter, record wall time and peak memory in book/front/status.md"
	@echo "make student - build the student edition (solutions removed) into _build/student, beside _build/html"
	@echo "make lab    - copy the chapters to workspace/ (git-ignored; existing copies are kept) and start JupyterLab there"
	@echo "make test-min - the library's unit tests in a separate venv with the lowest declared runtime versions"
	@echo "make pdf    - the whole book as one PDF: _build/pdf/book.pdf (Chromium prints every page of _build/html, pypdf binds them)"
	@echo "make perf   - run the benchmarks (benchmarks/) and write the Performance page book/front/performance.md"
	@echo "make api    - regenerate the API reference pages book/api/*.md (committed)"
	@echo "make lock   - rewrite requirements.txt from pyproject.toml (keeps current pins; lock-upgrade moves them)"
	@echo "make clean  - remove _build"

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip==26.3"
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (dmftlib)" >/dev/null
	@touch $(STAMP)

book: $(STAMP)
	$(VENV)/bin/jupyter-book build $(JB_FLAGS) .
	@echo "Book built: $(CURDIR)/_build/html/index.html"

# Every test runs twice: under this machine's BLAS kernel with one thread per worker, then the
# numerical tests and every chapter again under a second OpenBLAS kernel (ALT_CORETYPE) with two
# threads, so a stored output that encodes one kernel's round-off fails here, not on a reader's machine.
ALT_CORETYPE ?= Sandybridge
# pass 2 repeats what round-off can change (numerics, doctests, chapters); tests of tools, pipelines
# and builds (browser, coursework, editions, PDF, packaging, fuzz of bad input) run once, in pass 1
PASS2_SKIP := --ignore=tests/test_browser.py --ignore=tests/test_sweeps.py --ignore=tests/test_coursework.py \
	  --ignore=tests/test_student_edition.py --ignore=tests/test_lab_myst.py --ignore=tests/test_fuzz_api.py \
	  --ignore=tests/test_packaging.py --ignore=tests/test_readme.py
PYTEST := $(PY) -m pytest -n 2 --dist loadfile -p no:cacheprovider --doctest-modules \
	  --ignore-glob='book/*.py' --ignore-glob='book/**/*.py' \
	  --nbval --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg

test: $(STAMP)
	@echo "== pass 1: default BLAS kernel, 1 thread per worker =="
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(PYTEST) --durations=15 tests dmftlib book
	@echo "== pass 2: OpenBLAS kernel $(ALT_CORETYPE), 2 threads per worker (numerics and chapters) =="
	OPENBLAS_CORETYPE=$(ALT_CORETYPE) DMFTLIB_EXPECT_CORETYPE=$(ALT_CORETYPE) OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 \
	  $(PYTEST) -q $(PASS2_SKIP) tests dmftlib book

test-fast: $(STAMP)
	$(PY) -m pytest -p no:cacheprovider --doctest-modules tests dmftlib -m "not browser and not slow"

# The student edition: _config.yml plus sphinx-exercise's hide_solutions, built with the same flags.
student: $(STAMP)
	$(PY) coursework/student_edition.py --out _build/student

# Readers work on copies, so Lab's autosave never rewrites a tracked notebook. `cp -n` keeps the
# copies already in the workspace (your edits); delete workspace/ to start again from the book.
WORKSPACE ?= workspace
lab: $(STAMP)
	@mkdir -p $(WORKSPACE)
	cp -Rn book/. $(WORKSPACE)/
	@echo "Working copies in $(CURDIR)/$(WORKSPACE) (the tracked notebooks under book/ are not opened)"
	cd $(WORKSPACE) && $(CURDIR)/$(VENV)/bin/jupyter lab

# requirements.txt is generated: edit the direct dependencies in pyproject.toml, then `make lock`.
lock:
	$(PYTHON) tools/lock.py
lock-upgrade:
	$(PYTHON) tools/lock.py --upgrade

# The API reference pages book/api/dmftlib*.md are generated from the modules and committed.
api: $(STAMP)
	$(PY) tools/make_api.py

# The library alone, at the lowest versions pyproject.toml declares (numpy==2.0, scipy==1.13, ...),
# in its own venv under _build/: unit tests and doctests, no chapters, browser, Dask, fuzz or PDF.
MIN_VENV := _build/venv-min
UNIT_TESTS := tests dmftlib --ignore=tests/test_browser.py --ignore=tests/test_sweeps.py \
	  --ignore=tests/test_fuzz_api.py --ignore=tests/test_packaging.py \
	  --ignore-glob='tests/test_course*' --ignore=tests/test_student_edition.py --ignore=tests/test_lab_myst.py \
	  --ignore=dmftlib/sweeps.py
test-min:
	rm -rf $(MIN_VENV)
	$(PYTHON) -m venv $(MIN_VENV)
	$(MIN_VENV)/bin/python -m pip install --quiet "pip==26.3"
	$(PYTHON) tools/min_requirements.py > $(MIN_VENV)/min.txt
	$(MIN_VENV)/bin/python -m pip install --quiet -r $(MIN_VENV)/min.txt
	$(MIN_VENV)/bin/python -m pip install --quiet -c $(MIN_VENV)/min.txt .
	$(MIN_VENV)/bin/python -m pip list --format=freeze | grep -iE '^(numpy|scipy|sympy|matplotlib)=='
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(MIN_VENV)/bin/python -m pytest -q -p no:cacheprovider \
	  --doctest-modules -m "not browser" --durations=5 $(UNIT_TESTS)

# The whole book as one PDF (tools/make_pdf.py): headless Chromium prints every page of the HTML
# build in toc order and pypdf binds them with an outline (the browser test of `make test` does the same).
pdf: book
	$(PY) tools/make_pdf.py --html _build/html --out _build/pdf/book.pdf

# The benchmark suite (benchmarks/): CPU time and memory vs size, one BLAS thread; writes the Performance
# page. The peers' figures come from benchmarks/peers/*.py, which take the peers' checkouts as arguments.
perf: $(STAMP)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(PY) $$f || exit 1; done
	$(PY) tools/perf_page.py

perf-regress: $(STAMP)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(PY) -m pytest -p no:cacheprovider benchmarks/ --benchmark-only

bench: $(STAMP)
	$(PY) tests/bench_chapters.py --write book/front/status.md

clean:
	rm -rf _build
