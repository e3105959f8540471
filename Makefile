# vmcat.libvirt developer entry points.  `make demo` and `make test` work on a
# fresh Debian 12 machine with Python 3.11: they install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEV_TREE := build/collections/ansible_collections/vmcat/libvirt
COLLECTIONS := build/installed
DEMO_NODE := .demo/node.xml
VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)

.PHONY: help demo demo-reset test unit sanity lint integration smoke collection dev-tree deps-build deps-test venv bench bench-venv clean docs changelog

help:
	@echo "make demo        run playbooks/demo.yml on libvirt's embedded test driver (no daemon, no root)"
	@echo "make demo-reset  forget the demo node's state"
	@echo "make test        unit tests, ansible-test sanity, ansible-lint, integration tests on qemu:///system"
	@echo "make unit | sanity | lint | integration | smoke   one stage of make test"
	@echo "make collection  build the collection tarball into build/"
	@echo "make docs        build the docs site into build/docs-site (antsibull-docs, Sphinx; make test's docs stage)"
	@echo "make changelog   fold new changelogs/fragments into the release galaxy.yml names and regenerate CHANGELOG.md"
	@echo "make bench       run the benchmarks in bench/ (make test only checks they still run: bench/run.py --quick)"

deps-build:
	@scripts/system-packages.sh build

deps-test:
	@scripts/system-packages.sh test

$(BIN)/.runtime: requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt 'ansible-core>=2.16,<2.20'
	@touch $@

$(BIN)/.test: $(BIN)/.runtime tests/requirements.txt
	$(BIN)/pip install -q --disable-pip-version-check -r tests/requirements.txt
	@touch $@

venv: deps-build $(BIN)/.runtime

# A link tree so tests import the working copy as ansible_collections.vmcat.libvirt.
dev-tree:
	@mkdir -p $(dir $(DEV_TREE))
	@ln -sfn $(CURDIR) $(DEV_TREE)

collection: venv
	@mkdir -p build
	$(BIN)/ansible-galaxy collection build --force --output-path build .

$(COLLECTIONS)/ansible_collections/vmcat/libvirt/MANIFEST.json: collection
	$(BIN)/ansible-galaxy collection install --force -p $(COLLECTIONS) build/vmcat-libvirt-$(VERSION).tar.gz >/dev/null

demo: venv $(COLLECTIONS)/ansible_collections/vmcat/libvirt/MANIFEST.json
	ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/$(COLLECTIONS) ANSIBLE_LOCALHOST_WARNING=0 \
	  ANSIBLE_INVENTORY_UNPARSED_WARNING=0 ANSIBLE_PYTHON_INTERPRETER=$(CURDIR)/$(BIN)/python \
	  $(BIN)/ansible-playbook -i localhost, -c local playbooks/demo.yml -e vmcat_demo_node=$(CURDIR)/$(DEMO_NODE)

demo-reset:
	rm -f $(DEMO_NODE) $(DEMO_NODE).lock

test: deps-test deps-build $(BIN)/.test dev-tree
	$(BIN)/python tests/run_all.py

unit: deps-build $(BIN)/.test dev-tree
	$(BIN)/python tests/run_all.py unit

sanity: deps-build $(BIN)/.test
	$(BIN)/python tests/run_all.py sanity

lint: deps-build $(BIN)/.test
	$(BIN)/python tests/run_all.py lint

docs: deps-build $(BIN)/.test dev-tree
	$(BIN)/python tests/stage_docs.py

# A new version in galaxy.yml makes a new release; the same version again adds the fragments written since.
changelog: $(BIN)/.test
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/antsibull-changelog release --reload-plugins

integration: deps-test deps-build $(BIN)/.test dev-tree
	$(BIN)/python tests/run_all.py integration

smoke: deps-test deps-build $(BIN)/.test
	$(BIN)/python tests/run_all.py smoke

# The inventory and connection benchmarks compare with community.libvirt: the `ansible` package (same
# ansible-core line) and libvirt-python in a venv of their own, so .venv stays as `make test` wants it.
BENCH ?= noop provision inventory connection
BENCH_VENV := build/bench-venv-ansible

$(BENCH_VENV)/.done: requirements.txt
	@test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt 'ansible>=12,<13'
	@touch $@

bench-venv: deps-build $(BENCH_VENV)/.done

# make bench BENCH="inventory connection" runs only those two
bench: deps-test deps-build $(BIN)/.test dev-tree bench-venv
	$(BIN)/python bench/run.py $(BENCH)

clean:
	rm -rf build tests/output .pytest_cache
