# Contact Sheet: `make run` to use it, `make test` to check it. Both set up what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup vendor run test lint bench clean

setup: $(STAMP) vendor

# Front-end libraries from the npm registry (package-lock.json), copied into static/vendor/.
VENDOR_STAMP := static/vendor/.installed
vendor: $(VENDOR_STAMP)

$(VENDOR_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor/uppy static/vendor/photoswipe static/vendor/blurhash
	cp node_modules/uppy/dist/uppy.min.mjs node_modules/uppy/dist/uppy.min.css static/vendor/uppy/
	cp node_modules/photoswipe/dist/photoswipe.esm.min.js node_modules/photoswipe/dist/photoswipe-lightbox.esm.min.js \
		node_modules/photoswipe/dist/photoswipe.css static/vendor/photoswipe/
	cp node_modules/blurhash/dist/index.mjs static/vendor/blurhash/blurhash.mjs
	touch $(VENDOR_STAMP)

$(STAMP): requirements/base.txt requirements/dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt
	touch $(STAMP)

run: setup
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py seed_demo
	@echo "Contact Sheet: http://127.0.0.1:8000/  (admin: http://127.0.0.1:8000/admin/, API docs: http://127.0.0.1:8000/api/docs/)"
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: setup lint
	$(BIN)/python manage.py makemigrations --check --dry-run
	DJANGO_DEBUG=0 DJANGO_SECRET_KEY=check-deploy-$$(date +%s)-a-long-random-enough-value-for-the-deploy-check \
		DJANGO_ALLOWED_HOSTS=photos.example.com $(BIN)/python manage.py check --deploy --fail-level WARNING
	$(BIN)/pytest

bench: setup
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) staticfiles static/vendor node_modules
