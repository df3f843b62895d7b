"""A rollout under injected faults converges and loses nothing.

The Kibana simulator answers 20 % of the API requests with a fault (429 with Retry-After, 503,
connection reset, answer lost after the write was applied, slow answer; seeded). 100 connectors,
a fifth of them without connector_id (the case where a lost create could leave a duplicate), go
through the role. A failure that outlasts the retries may happen: it must then be reported per
connector while the others complete, and the next run must finish the job. In the end every
connector is there exactly once, and one more run changes nothing. Then a prune under faults
deletes exactly what left git.
"""
import pytest

import fleet

pytestmark = pytest.mark.integration

FAULTS = 'rate=0.2,kinds=429+503+reset+lost+slow,seed=7,slow_ms=400,retry_after=1'
LLM_KEY = 'CANARY-faults-llm-61a0'
CANARIES = (LLM_KEY, 'CANARY-')
MAX_RUNS = 3  # at 20 % faults and 5 retries a request fails for good about once in 15,000


def specs():
    out = []
    for i in range(80):
        spec = {'connector_id': 'gitops-fault-%03d' % i, 'name': 'Fault test %03d' % i}
        kind = i % 4
        if kind == 0:
            spec.update(connector_type_id='.index', config={'index': 'fault-%03d' % i})
        elif kind == 1:
            spec.update(connector_type_id='.webhook', config={'url': 'https://hooks.example.com/%03d' % i,
                                                              'hasAuth': False})
        elif kind == 2:
            spec.update(connector_type_id='.server-log')
        else:
            spec.update(connector_type_id='.gen-ai', secrets={'apiKey': LLM_KEY},
                        config={'apiProvider': 'OpenAI', 'apiUrl': 'https://api.openai.com/v1/chat/completions'})
        out.append(spec)
    for i in range(20):  # identified by name: a create whose answer was lost must be looked up, not re-sent
        out.append({'name': 'Fault by name %02d' % i, 'connector_type_id': '.index', 'config': {'index': 'n-%02d' % i}})
    return out


def names(f, sim):
    return sorted(c['name'] for c in f.connectors(sim) if not c['is_preconfigured'])


def converge(f, group_vars):
    """Apply until a run succeeds; every failed run must have failed per connector, never silently."""
    for _run in range(MAX_RUNS):
        play = f.run('apply.yml', extra_vars={'connectors_specs': group_vars['specs']}, canaries=CANARIES,
                     group_vars=group_vars['vars'])
        if play.rc == 0:
            return play
        assert f.summary_file.exists(), play
        summary = f.summary_file.read_text()
        assert '### Failed' in summary and 'connector ' in summary, (summary, play)
    raise AssertionError('no convergence after %d runs:\n%s' % (MAX_RUNS, f.summary_file.read_text()))


def test_hundred_connectors_under_twenty_percent_faults(kibana_sim_factory, tmp_path):
    f = fleet.Fleet(kibana_sim_factory, tmp_path, count=1, spaces=('default',), sim_args=('--faults', FAULTS),
                    preconfigured=False)
    wanted = specs()
    run = {'specs': wanted, 'vars': {'kibana_retries': 5, 'connectors_parallel_writes': 4,
                                     'connectors_dir': []}}
    sim = f.sims[0]

    converge(f, run)
    faults = sim.stats().get('faults', {})
    assert faults.get('lost', 0) >= 1 and faults.get('reset', 0) >= 1 and faults.get('429', 0) >= 1, faults
    expected = sorted(s['name'] for s in wanted)
    assert names(f, sim) == expected  # all present, none duplicated
    assert f.live(sim, 'gitops-fault-003') is not None and sim.stored_secrets('gitops-fault-003') == {'apiKey': LLM_KEY}

    sim.reset_stats()
    play = f.run('apply.yml', extra_vars={'connectors_specs': wanted}, canaries=CANARIES, group_vars=run['vars'])
    assert play.rc == 0, play
    assert fleet.recap(play)['kibana-1']['changed'] == 0, play
    assert sim.writes() == 0, sim.stats()
    assert fleet.summary_rows(f.summary_file.read_text())[('kibana-1', 'default')]['unchanged'] == '100'

    # prune under faults: a DELETE whose answer was lost answers 404 on its retry, which means done
    kept = wanted[10:]
    run = {'specs': kept, 'vars': dict(run['vars'], connectors_prune=True,
                                       connectors_managed_id_prefix='gitops-fault-')}
    converge(f, run)
    assert names(f, sim) == sorted(s['name'] for s in kept)
    for i in range(10):
        assert f.live(sim, 'gitops-fault-%03d' % i) is None


def test_lost_answers_to_creates_and_deletes_leave_no_duplicate_and_no_error(kibana_sim_factory, tmp_path):
    """Only `lost` faults, often: the write is applied and its answer never comes. A create without an id
    must be looked up by name before it is sent again, a create with an id answers 409 on its retry
    (compare, don't fail), and a retried DELETE answers 404 (done)."""
    f = fleet.Fleet(kibana_sim_factory, tmp_path, count=1, spaces=('default',), preconfigured=False,
                    sim_args=('--faults', 'rate=0.3,kinds=lost,seed=11'))
    sim = f.sims[0]
    by_name = [{'name': 'Lost by name %02d' % i, 'connector_type_id': '.index', 'config': {'index': 'l-%02d' % i}}
               for i in range(20)]
    by_id = [{'connector_id': 'gitops-lost-%02d' % i, 'name': 'Lost by id %02d' % i, 'connector_type_id': '.server-log'}
             for i in range(20)]
    # a lost answer to a read is a reset: reads are retried, so allow enough retries for 30 % of them to fail
    group_vars = {'kibana_retries': 8, 'connectors_dir': [], 'connectors_managed_id_prefix': 'gitops-lost-'}

    play = f.run('apply.yml', extra_vars={'connectors_specs': by_name + by_id}, group_vars=group_vars)
    assert play.rc == 0, play
    assert sim.stats()['faults'].get('lost', 0) >= 1, sim.stats()
    assert names(f, sim) == sorted(s['name'] for s in by_name + by_id)  # every one exactly once

    sim.reset_stats()
    play = f.run('apply.yml', extra_vars={'connectors_specs': by_name}, group_vars=group_vars)
    assert play.rc == 0, play
    assert sim.stats()['faults'].get('lost', 0) >= 1, sim.stats()
    assert names(f, sim) == sorted(s['name'] for s in by_name)
    assert fleet.summary_rows(f.summary_file.read_text())[('kibana-1', 'default')]['deleted'] == '20'
