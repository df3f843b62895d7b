"""Differential test: the collection's validator and the Kibana simulator must agree on every spec.

Every bad-corpus case, every valid example and every entry of Terraform's acceptance data is
validated by the collection (offline, ``spec.validate_specs``) and also sent to the simulator over
HTTP as the create request Kibana would get, both for the same Kibana release (the case's
``kibana_version``, else the newest the collection knows). Accept/reject must match; the collection's
own strictness (``spec.STRICTER_THAN_KIBANA``) only warns, so it never makes a difference (except
``spec.ALWAYS_ERRORS``: a broken ``pki:`` block), and with ``strict`` it may only reject for those
documented rules.
The simulator is an independent model of Kibana (it never imports plugins/), so a shared mistake
is unlikely to hide in both.

Then the valid examples are applied with the `connectors` module for real, read back out of band,
and applied again: the second run must change nothing.
"""
import base64
import json
import os
import urllib.parse

import pytest
import yaml

import harness
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import spec, spec_files, versions

pytestmark = pytest.mark.integration

DATA = os.path.join(harness.ROOT, 'tests', 'data')
TERRAFORM = os.path.join(harness.ROOT, 'tests', 'data', 'terraform-acceptance-connectors.json')
API_KEY = 'differential-test-key'


def _cases():
    with open(os.path.join(DATA, 'bad_specs', 'cases.yml')) as f:
        cases = [('bad/' + c['id'], c.get('specs') or [c['spec']], c.get('kibana_version') or versions.NEWEST)
                 for c in yaml.safe_load(f)]
    specs, _sources, errors = spec_files.load_spec_paths([os.path.join(DATA, 'valid_specs')])
    assert not errors
    cases += [('valid/' + s['connector_id'], [s], versions.NEWEST) for s in specs]
    if os.path.exists(TERRAFORM):
        with open(TERRAFORM) as f:
            for entry in json.load(f):
                cases.append(('terraform/' + entry['id'], [{
                    'connector_id': entry['id'], 'name': 'tf %s' % entry['id'],
                    'connector_type_id': entry['connector_type_id'],
                    'config': entry.get('config'), 'secrets': entry.get('secrets')}], versions.NEWEST))
    return cases


def _request_body(s):
    """What the engine sends for a spec: name, type, config, secrets (pki: inline PEM -> base64 secrets)."""
    secrets = dict(s.get('secrets') or {})
    pki = s.get('pki') if isinstance(s.get('pki'), dict) else {}
    for field, secret in (('certificate', 'certificateData'), ('private_key', 'privateKeyData'), ('ca', 'caData')):
        if isinstance(pki.get(field), str):
            secrets[secret] = base64.b64encode(pki[field].encode()).decode()
    body = {'name': s.get('name'), 'connector_type_id': s.get('connector_type_id'),
            'config': s.get('config') if s.get('config') is not None else {}, 'secrets': secrets}
    return dict((k, v) for k, v in body.items() if v is not None)


@pytest.fixture(scope='module')
def sims():
    """One simulator per Kibana release the cases need, started on first use."""
    started = {}

    def get(version):
        if version not in started:
            started[version] = harness.Simulator('kibana', ['--api-key', API_KEY, '--kibana-version', version])
        return started[version]
    yield get
    for simulator in started.values():
        simulator.stop()


@pytest.fixture(scope='module')
def sim(sims):
    return sims(versions.NEWEST)


def _simulator_verdict(sim, specs):
    sim.reset()
    answers = []
    for s in specs:
        path = '/api/actions/connector'
        cid = s.get('connector_id')
        if isinstance(cid, str) and cid:
            path += '/' + urllib.parse.quote(cid, safe='')
        status, body = sim.api('POST', path, _request_body(s), api_key=API_KEY)
        answers.append((status, body.get('message') if isinstance(body, dict) else body))
    accepted = all(status == 200 for status, _msg in answers)
    return accepted, answers


def test_collection_and_simulator_agree(sims):
    disagreements = []
    tally = {'agree': 0, 'documented_stricter': 0}
    for case_id, specs, version in _cases():
        # pki_checker=None: Kibana only sees the base64 secrets
        report = spec.validate_specs(specs, kibana_version=version)
        accepted, answers = _simulator_verdict(sims(version), specs)
        if report.ok == accepted:
            tally['agree'] += 1
            strict = spec.validate_specs(specs, kibana_version=version, strict=True)
            if accepted and not strict.ok and set(e.get('rule') for e in strict.errors) - set(spec.STRICTER_THAN_KIBANA):
                disagreements.append('%s: with strict, a rule that is not a documented strictness: %s' % (
                    case_id, [spec.format_problem(e) for e in strict.errors]))
            elif accepted and not strict.ok:
                tally['documented_stricter'] += 1
            continue
        rules = set(e.get('rule') for e in report.errors)
        if not report.ok and accepted and rules and rules <= set(spec.ALWAYS_ERRORS):
            tally['documented_stricter'] += 1  # a broken pki: block cannot become the secrets Kibana needs
            continue
        disagreements.append('%s: collection %s %s; simulator %s %s' % (
            case_id, 'accepts' if report.ok else 'rejects',
            [spec.format_problem(e) for e in report.errors], 'accepts' if accepted else 'rejects', answers))
    print('differential: %s' % tally)
    assert not disagreements, '\n'.join(disagreements)
    assert tally['agree'] > 150


def test_valid_examples_round_trip_without_change(sim):
    sim.reset()
    specs, _sources, _errors = spec_files.load_spec_paths([os.path.join(DATA, 'valid_specs')])
    env = {'KIBANA_URL': sim.url, 'KIBANA_API_KEY': API_KEY}
    # the spec files are read by a lookup: their {{{mustache}}} (cases webhook) is data, not a template
    playbook = """
- hosts: localhost
  gather_facts: false
  tasks:
    - kibana_gitops.connectors.connectors:
        specs: "{{ query('ansible.builtin.file', *(query('ansible.builtin.fileglob', spec_dir + '/*.yml') | sort))
                   | map('ansible.builtin.from_yaml_all') | map('list') | flatten(levels=1) }}"
      register: applied
    - ansible.builtin.copy:
        content: "{{ applied | to_json }}"
        dest: "{{ out }}"
"""
    out = os.path.join(os.environ.get('TMPDIR', '/tmp'), 'kgc-differential-%d.json' % os.getpid())
    canaries = sorted(spec.secret_values(specs))
    try:
        first = harness.run_playbook(playbook, extra_vars={'spec_dir': os.path.join(DATA, 'valid_specs'), 'out': out}, env=env, canaries=canaries)
        assert first.rc == 0, first
        with open(out) as f:
            summary = json.load(f)['summary']
        assert summary['created'] == len(specs), summary
        # out of band: every connector is in the simulator with its type
        status, live = sim.api('GET', '/api/actions/connectors', api_key=API_KEY)
        assert status == 200
        live_types = dict((c['id'], c['connector_type_id']) for c in live)
        for s in specs:
            assert live_types.get(s['connector_id']) == s['connector_type_id'], s['connector_id']
        second = harness.run_playbook(playbook, extra_vars={'spec_dir': os.path.join(DATA, 'valid_specs'), 'out': out}, env=env, canaries=canaries)
        assert second.rc == 0, second
        with open(out) as f:
            result = json.load(f)
        assert result['changed'] is False, [(r.get('connector_id'), r.get('changes'), r.get('diff')) for r in result['results'] if r['changed']]
        assert result['summary']['unchanged'] == len(specs)
    finally:
        if os.path.exists(out):
            os.unlink(out)
