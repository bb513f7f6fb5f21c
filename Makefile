# make run   : set up .venv, execute the notebooks (PROFILE=full by default; ONLY="00 01" to select,
#              BACKEND=jax for another Keras backend, FORCE=1 to rerun notebooks and retrain kept networks,
#              JOBS=2 to run two notebooks at once, one core each)
# make test  : set up .venv, run the unit tests and re-execute every notebook in the quick profile
# make bench : training samples/s of ours, Keras defaults and PyTorch (installs requirements-backends.txt)
# make lab   : set up .venv and open JupyterLab on notebooks/ (PROFILE=full by default: the kept networks
#              of models/ are loaded, not trained; PROFILE=quick trains small versions in seconds)
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= full

.PHONY: run test bench lab
run: $(VENV)/.installed
	$(PY) -m lab run --profile $(PROFILE) $(if $(ONLY),--only $(ONLY)) $(if $(BACKEND),--backend $(BACKEND)) $(if $(FORCE),--force) $(if $(JOBS),--jobs $(JOBS))

test: $(VENV)/.installed
	LAB_PROFILE=quick $(PY) -m pytest -p no:cacheprovider tests notebooks --nbval-lax --nbval-current-env -n 2 --dist loadfile

lab: $(VENV)/.installed
	LAB_PROFILE=$(PROFILE) $(VENV)/bin/jupyter lab notebooks/

bench: $(VENV)/.installed
	$(PY) -m pip install -q -r requirements-backends.txt
	$(PY) -m lab bench

$(VENV)/.installed: requirements.txt pyproject.toml jupyter/ipython_kernel_config.py jupyter/overrides.json
	python3 -m venv $(VENV)
	$(PY) -m pip install -r requirements.txt
	mkdir -p $(VENV)/etc/ipython $(VENV)/share/jupyter/lab/settings
	cp jupyter/ipython_kernel_config.py $(VENV)/etc/ipython/
	cp jupyter/overrides.json $(VENV)/share/jupyter/lab/settings/
	touch $@
