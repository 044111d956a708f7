# Contact Sheet: `make run` to use it, `make test` to check it. Both set up what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Where `make run` serves (the Procfile's web line reads it).
BIND ?= 127.0.0.1:8000
# pytest's options for `make test`: two processes that take work from each other (pytest-xdist).
# `make test PYTEST_ARGS=` runs the suite in one process.
PYTEST_ARGS ?= -n 2 --dist worksteal

.PHONY: setup check-prereqs vendor run test lint bench clean

setup: check-prereqs $(STAMP) vendor

# What `make` needs before it can set anything up (README, "Two commands"): one sentence when one is missing.
check-prereqs:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { echo \
		"Contact Sheet needs Python 3.11 or newer, and '$(PYTHON)' is missing or older: install it, or run make PYTHON=/path/to/python3.11." >&2; exit 1; }
	@for tool in node npm; do command -v $$tool >/dev/null 2>&1 || { echo \
		"Contact Sheet needs Node.js 20 and npm to fetch its front-end libraries, and '$$tool' is not on PATH: install them (e.g. apt-get install nodejs npm) and run make again." >&2; exit 1; }; done

# Front-end libraries from the npm registry (package-lock.json), copied into static/vendor/.
VENDOR_STAMP := static/vendor/.installed
vendor: $(VENDOR_STAMP)

$(VENDOR_STAMP): package.json package-lock.json | check-prereqs
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor/uppy static/vendor/photoswipe static/vendor/blurhash
	cp node_modules/uppy/dist/uppy.min.mjs node_modules/uppy/dist/uppy.min.css static/vendor/uppy/
	cp node_modules/photoswipe/dist/photoswipe.esm.min.js node_modules/photoswipe/dist/photoswipe-lightbox.esm.min.js \
		node_modules/photoswipe/dist/photoswipe.css static/vendor/photoswipe/
	cp node_modules/blurhash/dist/index.mjs static/vendor/blurhash/blurhash.mjs
	touch $(VENDOR_STAMP)

$(STAMP): requirements/base.txt requirements/dev.txt | check-prereqs
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt
	touch $(STAMP)

run: setup
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py seed_demo
	@echo "Contact Sheet: http://$(BIND)/  (admin: http://$(BIND)/admin/, API docs: http://$(BIND)/api/docs/)"
# Ctrl-C (honcho then exits 130) or SIGTERM (143) is how the servers are meant to stop: not an error.
	PATH="$(CURDIR)/$(BIN):$$PATH" BIND=$(BIND) $(BIN)/honcho start || { rc=$$?; [ $$rc -eq 130 ] || [ $$rc -eq 143 ] || exit $$rc; }

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: setup lint
	$(BIN)/python manage.py makemigrations --check --dry-run
	DJANGO_DEBUG=0 DJANGO_SECRET_KEY=check-deploy-$$(date +%s)-a-long-random-enough-value-for-the-deploy-check \
		DJANGO_ALLOWED_HOSTS=photos.example.com $(BIN)/python manage.py check --deploy --fail-level WARNING
	$(BIN)/pytest $(PYTEST_ARGS)

# Benchmark-only packages (requirements/bench.txt: pyvips for bench/variants.py), on top of setup's.
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP) requirements/bench.txt
	$(BIN)/python -m pip install --quiet -r requirements/bench.txt
	touch $(BENCH_STAMP)

# Every bench/*.py is a bench, except helpers whose names start with "_" (the shared harness, pages' settings).
bench: setup $(BENCH_STAMP)
	@for b in bench/[!_]*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) staticfiles static/vendor node_modules
