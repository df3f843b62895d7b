"""pytest fixtures shared by every test folder (see harness.py)."""
import importlib
import os
import sys

import pytest

# The test helpers (harness.py, pki_factory.py) sit beside this file. Plain pytest puts this folder on
# sys.path itself; ansible-test units loads this file as a collection module and does not, hence the insert.
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
# importing harness also makes ansible_collections.kibana_gitops.connectors importable outside ansible-test
harness = importlib.import_module('harness')


@pytest.fixture
def kibana_sim_factory():
    """Start Kibana simulators with given command-line args; all are stopped after the test."""
    started = []

    def start(*args):
        sim = harness.Simulator('kibana', args)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def openai_sim_factory():
    started = []

    def start(*args):
        sim = harness.Simulator('openai', args)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()
