# make run   : set up .venv, execute the notebooks (PROFILE=full by default; ONLY="00 01" to select,
#              BACKEND=jax for another Keras backend, FORCE=1 to rerun notebooks and retrain kept networks,
#              JOBS=2 to run two notebooks at once, one core each)
# make test  : set up .venv, run the unit tests and re-execute every notebook in the quick profile, on
#              TensorFlow, then on JAX (installs requirements-jax.txt)
# make bench : training samples/s of ours, Keras defaults and PyTorch (installs requirements-backends.txt)
# make lab   : set up .venv and open JupyterLab on notebooks/ (PROFILE=full by default: the kept networks
#              of models/ are loaded, not trained; PROFILE=quick trains small versions in seconds). It
#              serves the working copy .interactive/notebooks/ (jupyter/jupyter_server_config.py): a save
#              keeps the student's copy there, never a committed file; autosave is off. It runs as root
#              too (classroom containers); LAB_ARGS="--port 8890 --no-browser" passes options to JupyterLab.
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= full
SETTINGS := $(VENV)/etc/ipython/ipython_kernel_config.py $(VENV)/share/jupyter/lab/settings/overrides.json

.PHONY: run test bench lab
run: $(VENV)/.installed $(SETTINGS)
	$(PY) -m lab run --profile $(PROFILE) $(if $(ONLY),--only $(ONLY)) $(if $(BACKEND),--backend $(BACKEND)) $(if $(FORCE),--force) $(if $(JOBS),--jobs $(JOBS))

TESTS := LAB_PROFILE=quick $(PY) -m pytest -p no:cacheprovider tests notebooks --nbval-lax --nbval-current-env \
	-n 2 --dist loadfile
test: $(VENV)/.installed $(VENV)/.jax $(SETTINGS)
	KERAS_BACKEND=tensorflow $(TESTS)
	KERAS_BACKEND=jax $(TESTS)

lab: $(VENV)/.installed $(SETTINGS)
	LAB_PROFILE=$(PROFILE) $(VENV)/bin/jupyter lab --config=$(CURDIR)/jupyter/jupyter_server_config.py $(LAB_ARGS)

bench: $(VENV)/.installed
	$(PY) -m pip install -q -r requirements-backends.txt
	$(PY) -m lab bench

$(VENV)/.jax: $(VENV)/.installed requirements-jax.txt
	$(PY) -m pip install -r requirements-jax.txt
	touch $@

$(VENV)/.installed: requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -r requirements.txt
	touch $@

# The kernels' IPython configuration and JupyterLab's settings (autosave off), installed into the
# environment, again whenever jupyter/ changes them.
$(VENV)/etc/ipython/%: jupyter/% | $(VENV)/.installed
	mkdir -p $(@D)
	cp $< $@

$(VENV)/share/jupyter/lab/settings/%: jupyter/% | $(VENV)/.installed
	mkdir -p $(@D)
	cp $< $@
