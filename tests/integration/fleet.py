"""A fleet of Kibana simulators and a GitOps repository of spec files, for the role and playbook tests.

Every check of Kibana's state goes out of band: the simulators' /_sim/ API, or Kibana's API called
directly as a colleague in the UI would, never what the playbook says it did.
"""
import json
import os
import sys
import time

import yaml

import harness

PLAYBOOKS = os.path.join(harness.ROOT, 'playbooks')
PREFIX = 'gitops-'
PRECONFIGURED_ID = 'gitops-preconf-log'  # in the managed prefix on purpose: prune must still leave it alone


class Fleet(object):
    """`count` Kibana simulators, hosts kibana-1..N of the inventory group `kibana`, one spec repo."""

    def __init__(self, factory, tmp_path, count=3, spaces=('default', 'security'), sim_args=(), preconfigured=True,
                 kibana_versions=None):
        """``kibana_versions``: one release per instance (simulator ``--kibana-version``), else the simulator's default."""
        self.tmp = tmp_path
        self.repo = tmp_path / 'connectors'
        self.repo.mkdir()
        self.summary_file = tmp_path / 'rollout-summary.md'
        self.spaces = list(spaces)
        args = list(sim_args)
        if preconfigured:
            preconf = tmp_path / 'kibana.yml'
            preconf.write_text(yaml.safe_dump({'xpack.actions.preconfigured': {
                PRECONFIGURED_ID: {'name': 'Server log (kibana.yml)', 'actionTypeId': '.server-log'}}}))
            args += ['--preconfigured', str(preconf)]
        self.keys = ['fleet-api-key-%d' % i for i in range(1, count + 1)]
        versions = list(kibana_versions or [None] * count)
        self.sims = [factory('--api-key', key, *(args + (['--kibana-version', version] if version else [])))
                     for key, version in zip(self.keys, versions)]
        self.hosts = ['kibana-%d' % i for i in range(1, count + 1)]
        self.env = {'FLEET_KIBANA_2_API_KEY': self.keys[1]} if count > 1 else {}

    # ------------------------------------------------------------------ the git repository
    def write_spec(self, spec, folder=None):
        """One spec file, connectors/<space>/<id>.yml (the layout docs/gitops.md recommends)."""
        path = self.repo / (folder or spec.get('space_id', 'default')) / ('%s.yml' % spec['connector_id'])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('---\n' + yaml.safe_dump(spec, sort_keys=False))
        return path

    def remove_spec(self, connector_id, space='default'):
        (self.repo / space / ('%s.yml' % connector_id)).unlink()

    # ------------------------------------------------------------------ inventory and runs
    def inventory(self, group_vars=None, host_vars=None):
        hosts = {}
        for i, (name, sim) in enumerate(zip(self.hosts, self.sims)):
            hosts[name] = {'kibana_url': sim.url, 'kibana_api_key': self.keys[i]}
            if i == 1:  # one instance takes its credentials from the environment, as in a CI job
                hosts[name]['kibana_api_key'] = "{{ lookup('ansible.builtin.env', 'FLEET_KIBANA_2_API_KEY') }}"
            hosts[name].update((host_vars or {}).get(name, {}))
        variables = {
            'ansible_connection': 'local',
            'ansible_python_interpreter': sys.executable,
            'connectors_dir': str(self.repo),
            'connectors_spaces': self.spaces,
            'connectors_prune': True,
            'connectors_managed_id_prefix': PREFIX,
            'connectors_summary_file': str(self.summary_file),
        }
        variables.update(group_vars or {})
        path = self.tmp / 'inventory.yml'
        path.write_text(yaml.safe_dump({'kibana': {'hosts': hosts, 'vars': variables}}))
        return str(path)

    def run(self, playbook, extra_vars=None, canaries=(), group_vars=None, host_vars=None, **kwargs):
        """ansible-playbook playbooks/<playbook> against the fleet's inventory."""
        return harness.run_playbook(os.path.join(PLAYBOOKS, playbook), extra_vars=extra_vars, canaries=canaries,
                                    inventory=self.inventory(group_vars, host_vars), env=self.env, **kwargs)

    # ------------------------------------------------------------------ out of band
    def api(self, sim, method, path, body=None, space=None):
        """Kibana's API as another client: retried a few times, since a test may run the simulator with faults."""
        for _attempt in range(20):
            try:
                status, answer = sim.api(method, path, body, api_key=self.keys[self.sims.index(sim)], space=space)
            except OSError:  # reset or lost answer injected by --faults
                time.sleep(0.05)
                continue
            if status not in (429, 502, 503, 504):
                return status, answer
            time.sleep(0.05)
        raise AssertionError('%s %s kept failing on %s' % (method, path, sim.url))

    def connectors(self, sim, space='default'):
        status, body = self.api(sim, 'GET', '/api/actions/connectors', space=space)
        assert status == 200, body
        return body

    def ids(self, sim, space='default'):
        return set(c['id'] for c in self.connectors(sim, space))

    def live(self, sim, connector_id, space='default'):
        status, body = self.api(sim, 'GET', '/api/actions/connector/%s' % connector_id, space=space)
        return body if status == 200 else None

    def create(self, sim, connector_id, body, space='default'):
        status, answer = self.api(sim, 'POST', '/api/actions/connector/%s' % connector_id, body, space=space)
        assert status == 200, answer

    def reset_stats(self):
        for sim in self.sims:
            if sim.proc.poll() is None:
                sim.reset_stats()


def requests_by_method(sim):
    """{'GET': n, 'POST': n, ...} since the last stats reset."""
    return dict(sim.stats()['methods'])


def paths(sim, method):
    """{'METHOD path': count} of the simulator's stats for one method."""
    return dict((k, n) for k, n in sim.stats()['paths'].items() if k.startswith(method + ' '))


def recap(play):
    """{host: {'ok': n, 'changed': n, 'failed': n, ...}} from the PLAY RECAP."""
    hosts = {}
    in_recap = False
    for line in play.stdout.splitlines():
        if line.startswith('PLAY RECAP'):
            in_recap = True
            continue
        if in_recap and ':' in line:
            host, _colon, counts = line.partition(':')
            hosts[host.strip()] = dict((k, int(v)) for k, v in (p.split('=') for p in counts.split()))
    return hosts


def summary_rows(text, table=0):
    """{(host, space): {'created': n, ...}} from a table of the Markdown rollout summary (0: the rollout,
    1: the connectivity tests)."""
    tables = []
    for line in text.splitlines():
        if not line.startswith('|'):
            continue
        cells = [c.strip() for c in line.strip('|').split('|')]
        if cells[0] == 'Kibana':
            header = [c.lower() for c in cells]
            tables.append({})
        elif tables and cells[0] != '**Total**' and not cells[0].startswith(':--'):
            tables[-1][(cells[0], cells[1])] = dict(zip(header[2:], cells[2:]))
    return tables[table] if len(tables) > table else {}


def dump(obj):
    return json.dumps(obj, indent=1, sort_keys=True)
