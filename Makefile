# voisinmap — one command to run the app, one command to run the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8050

.PHONY: install run test lint bench clean

$(BIN)/voisinmap: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(BIN)/voisinmap

install: $(BIN)/voisinmap
	$(BIN)/voisinmap i18n compile

## run: install, build the national data, load the fictitious demo door logs and demo accounts, start the app
##      with gunicorn (app/gunicorn_conf.py: one worker per core, 4 threads; WORKERS=n THREADS=n to override)
run: install
	$(BIN)/voisinmap data build
	$(BIN)/voisinmap data status
	$(BIN)/voisinmap demo --if-missing
	$(BIN)/voisinmap users demo --if-missing
	$(BIN)/voisinmap serve --host $(HOST) --port $(PORT) $(if $(WORKERS),--workers $(WORKERS)) $(if $(THREADS),--threads $(THREADS))

## test: install, lint, then the whole test suite (notebooks and browser tests included)
test: install
	$(BIN)/ruff check geo app tests bench
	$(BIN)/python -m pytest

bench: install
	$(BIN)/voisinmap data build
	for f in bench/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) data/processed data/cache
