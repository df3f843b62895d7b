"""A module whose third-party library is missing on the host it runs on fails with Ansible's standard
missing-library message and the pip command that installs it (no traceback, no request sent).

The library is hidden from the module's Python only: a package of the same name that fails to import,
put first on the module's PYTHONPATH through the task's ``environment``.
"""
import json

import pytest

import harness

pytestmark = pytest.mark.integration

# (library hidden, module, its arguments): every module that needs the library
CASES = [
    ('requests', 'connector', {'connector_id': 'x', 'name': 'x', 'connector_type_id': '.server-log'}),
    ('requests', 'connector_info', {}),
    ('requests', 'connectors', {'specs': []}),
    ('jsonschema', 'connector', {'connector_id': 'x', 'name': 'x', 'connector_type_id': '.server-log'}),
    ('jsonschema', 'connectors', {'specs': [{'connector_id': 'x', 'name': 'x', 'connector_type_id': '.server-log'}]}),
    ('jsonschema', 'connector_spec', {'specs': [{'connector_id': 'x', 'name': 'x', 'connector_type_id': '.server-log'}]}),
    ('cryptography', 'pki_material', {'certificate': '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
                                      'private_key': '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'}),
]


@pytest.mark.parametrize('library', sorted(set(c[0] for c in CASES)))
def test_missing_library_gives_the_standard_message_and_the_pip_command(library, kibana_sim_factory, tmp_path):
    sim = kibana_sim_factory('--api-key', 'missing-lib-key')
    shadow = tmp_path / 'shadow' / library
    shadow.mkdir(parents=True)
    (shadow / '__init__.py').write_text('raise ImportError("%s is hidden by the test")\n' % library)
    tasks, names = [], {}
    for hidden, module, args in CASES:
        if hidden == library:
            names[module] = 'result_%d' % len(tasks)
            tasks.append({'name': module, 'kibana_gitops.connectors.%s' % module: args, 'ignore_errors': True,
                          'environment': {'PYTHONPATH': str(tmp_path / 'shadow')}, 'register': names[module]})
    out = tmp_path / 'results.json'
    everything = '{%s}' % ', '.join("'%s': %s" % (m, r) for m, r in names.items())
    tasks.append({'name': 'Keep the results', 'ansible.builtin.copy': {
        'dest': str(out), 'content': '{{ %s | to_json }}' % everything, 'mode': '0600'}})
    playbook = json.dumps([{'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks,
                            'module_defaults': {'group/kibana_gitops.connectors.kibana': {
                                'kibana_url': sim.url, 'api_key': 'missing-lib-key'}}}])
    res = harness.run_playbook(playbook + '\n')
    assert res.rc == 0, res  # ignore_errors: the run goes on
    results = json.loads(out.read_text())
    assert set(results) == set(names)
    for module, result in results.items():
        assert result.get('failed'), (module, result)
        msg = result['msg']
        assert 'Failed to import the required Python library (%s)' % library in msg, (module, msg)
        assert '-m pip install %s' % library in msg, (module, msg)
    assert sim.stats()['methods'] == {} or sum(sim.stats()['methods'].values()) == 0
