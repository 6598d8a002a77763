# One obvious entry point for each job. `make demo` = README main command, `make test` = CI.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
RELEASE ?= 4.16
NAME ?= default
TOPOLOGY ?=
# integration tests run test files on this many pytest-xdist workers, each with its own clusters
WORKERS ?= 2
# cluster-down/status work without the venv (cluster.py needs only the stdlib for them)
CLUSTER_PY = $(if $(wildcard $(BIN)/python),$(BIN)/python,$(PY)) localcluster/cluster.py

.PHONY: setup build-cluster real-components installed docs cluster-up cluster-down cluster-status demo test lint sanity unit harness integration molecule soak bench clean

$(BIN)/.installed: requirements.txt requirements-dev.txt constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt -c constraints.txt
	touch $@

.collections/ansible_collections/ocpv/density:
	mkdir -p .collections/ansible_collections/ocpv
	ln -sfn ../../.. .collections/ansible_collections/ocpv/density

setup: $(BIN)/.installed .collections/ansible_collections/ocpv/density ## venv + collection link

build-cluster: ## build (or reuse cached) control plane binaries
	bash localcluster/build.sh

real-components: ## install (or reuse cached) the real components the tests judge with (runc, promtool, ...)
	bash localcluster/real-components.sh

cluster-up: setup build-cluster ## start the local emulated OpenShift cluster (NAME, RELEASE, TOPOLOGY)
	$(BIN)/python localcluster/cluster.py up --name $(NAME) --release $(RELEASE) $(if $(TOPOLOGY),--topology $(TOPOLOGY))

cluster-down: ## stop it and remove its data
	$(CLUSTER_PY) down --name $(NAME)

cluster-status: ## its processes and their memory
	$(CLUSTER_PY) status --name $(NAME)

demo: cluster-up ## README main command: cluster + site playbook at 150 %
	KUBECONFIG=$(CURDIR)/.localcluster/$(NAME)/kubeconfig $(BIN)/ansible-playbook playbooks/site.yml -e overcommit=150

test: setup build-cluster real-components lint sanity installed docs unit harness integration ## everything CI runs

lint: setup
	bash tests/lint.sh

sanity: setup
	bash tests/sanity/run.sh

docs: setup ## the docs site (antsibull-docs, Sphinx, warnings as errors) and CHANGELOG.rst, into tests/output/docs
	bash tests/docs.sh

installed: setup ## the built tarball, installed: contents, sanity, ansible-doc, offline render
	bash tests/installed.sh

unit: setup real-components ## the collection's unit tests (no cluster)
	$(BIN)/pytest -q tests/unit

harness: setup real-components ## the local cluster's own tests (emulator logic, CRDs; no cluster)
	$(BIN)/pytest -q tests/harness

# verbosity_assertions=2: a failed site run's message (the failed task, the end of the output) is
# shown whole; pytest cuts a non-string assertion message to 240 characters otherwise.
integration: setup build-cluster real-components
	$(BIN)/pytest -q -o verbosity_assertions=2 -n $(WORKERS) --dist loadfile --no-loadscope-reorder --durations=40 tests/integration

molecule: setup build-cluster ## Molecule scenarios default and reuse on the local cluster
	$(BIN)/pytest -q tests/integration/test_molecule.py

soak: setup build-cluster ## only the soak: 20 present/absent runs in a row (also part of `make integration`)
	$(BIN)/pytest -q -o verbosity_assertions=2 tests/integration/test_soak.py

bench: setup build-cluster
	$(BIN)/python benchmarks/run.py

clean: cluster-down
	rm -rf $(VENV) .collections reports
