"""pytest fixtures shared by every test folder (see harness.py)."""
import pytest

import harness  # noqa: F401  (importing it makes ansible_collections.kibana_gitops.connectors importable)


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
