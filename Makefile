# kibana_gitops.connectors — developer entry points. `make demo` and `make test` work on a fresh
# machine: they create .venv, install what they need, and start the simulators themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: help venv demo test units integration sanity system-deps clean collection-link changelog-lint lint ansible-test-units

help:
	@echo "make demo         set up, start the Kibana simulator, apply the example connectors twice"
	@echo "make test         everything: changelog lint, ansible-lint, sanity, unit and integration tests"
	@echo "make units | integration | sanity | lint | changelog-lint | ansible-test-units"

venv: $(STAMP) collection-link

# The checkout as the collection kibana_gitops.connectors for ansible-doc / ansible-playbook run from the
# root (ansible.cfg points collections_path at .build/collections), and for ansible-lint.
LINK := .build/collections/ansible_collections/kibana_gitops/connectors
collection-link:
	@test -L $(LINK) || { mkdir -p $(dir $(LINK)) && ln -sfn ../../../.. $(LINK); }

$(STAMP): requirements.txt test-requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -U pip
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt -r test-requirements.txt
	touch $@

# Debian packages the integration tests use (a real nginx for TLS/mTLS in front of the LLM).
system-deps:
	@tests/utils/system-deps.sh

demo: venv
	@$(PY) tests/utils/demo.py

# ansible-test units runs tests/unit; pytest then runs the integration tests.
test: venv system-deps changelog-lint lint sanity ansible-test-units
	$(PY) -m pytest -n 2 $(PYTEST_ARGS) tests/integration

units: venv
	$(PY) -m pytest $(PYTEST_ARGS) tests/unit

integration: venv system-deps
	$(PY) -m pytest -n 2 $(PYTEST_ARGS) tests/integration

# ansible-test sanity over the whole tree, tests/ included (ignores: tests/sanity/ignore-2.*.txt)
sanity: venv
	@PATH=$(abspath $(VENV))/bin:$$PATH tests/utils/ansible-test.sh sanity

ansible-test-units: venv
	@PATH=$(abspath $(VENV))/bin:$$PATH tests/utils/ansible-test.sh units

changelog-lint: venv
	$(VENV)/bin/antsibull-changelog lint

# ansible-lint, production profile, offline (the collection resolves through .build/collections)
lint: venv
	ANSIBLE_COLLECTIONS_PATH=$(abspath .build/collections) PATH=$(abspath $(VENV))/bin:$$PATH \
	  $(VENV)/bin/ansible-lint --offline --nocolor

clean:
	rm -rf .build tests/output .pytest_cache *.tar.gz

# JSON Schemas for editors (docs/schemas/*.json), generated from plugins/module_utils/schemas.py
.PHONY: schemas bench-validate
schemas: venv
	$(PY) tests/utils/gen_schemas.py

# Benchmark (not a test): 1,000 generated spec files through ansible-playbook kibana_gitops.connectors.validate, against the 3 s target
bench-validate: venv
	$(PY) tests/utils/bench_validate.py --files 1000

# PKI material only: pki.py checks, the pem_b64encode filter, the action plugins, pki_material and pki: on connectors
.PHONY: test-pki
test-pki: venv
	$(PY) -m pytest -n 2 $(PYTEST_ARGS) tests/unit/plugins/module_utils/test_pki.py tests/unit/plugins/filter \
	  tests/unit/plugins/plugin_utils tests/integration/test_pki_material.py tests/integration/test_pki_connector.py

# Kibana connectors API simulator: run it by hand (KIBANA_SIM_ARGS=--api-key K …), or test it alone
.PHONY: kibana-sim test-kibana-sim
KIBANA_SIM_ARGS ?=
kibana-sim: venv
	$(PY) tests/simulators/kibana --port 5601 $(KIBANA_SIM_ARGS)

test-kibana-sim: venv
	$(PY) -m pytest -n 2 $(PYTEST_ARGS) tests/integration/test_kibana_simulator.py \
	  tests/integration/test_kibana_simulator_types.py tests/integration/test_kibana_simulator_ops.py \
	  tests/integration/test_kibana_simulator_versions.py

# Benchmark (not a test): connector_test over 100 connectors against an upstream with 200 ms latency, each way
# (kibana, direct, both) BENCH_REPEAT times; prints module time with the load average against issue 13's targets
.PHONY: bench-test
BENCH_REPEAT ?= 3
bench-test: venv
	$(PY) tests/utils/bench_connector_test.py --connectors 100 --latency-ms 200 --via kibana,direct,both --in-process \
	  --concurrency 32 --repeat $(BENCH_REPEAT)

# Benchmark (not a test): the connectors module against a uri baseline, N=500 connectors in one space
# (BENCH_N=...): first apply, no-op, one change; wall time and HTTP requests. The baseline takes minutes.
.PHONY: bench test-fleet
bench: venv
	$(PY) tests/bench/bench.py

# GitOps at fleet scale alone: the role, the playbooks, faults, export
test-fleet: venv
	$(PY) -m pytest -n 2 $(PYTEST_ARGS) tests/unit/plugins/filter/test_rollout_summary.py tests/integration/test_fleet.py \
	  tests/integration/test_faults.py tests/integration/test_role.py tests/integration/test_export_fleet.py
