"""playbooks/test.yml against the Kibana and OpenAI simulators: one inventory host (a Kibana), specs in
inventory variables with a vault-style placeholder, reports per instance and space, one summary."""
import os
import xml.etree.ElementTree as ET

import pytest
import yaml

import harness

pytestmark = pytest.mark.integration

KIBANA_KEY = 'pb-kibana-api-key'
LLM_KEY = 'canary-playbook-llm-key-2468'


def test_test_playbook_writes_reports_and_fails_on_a_failed_connector(kibana_sim_factory, openai_sim_factory,
                                                                      tmp_path):
    kibana = kibana_sim_factory('--api-key', KIBANA_KEY)
    llm = openai_sim_factory('--api-key', LLM_KEY, '--model', 'llama3.1')
    config = {'apiProvider': 'Other', 'apiUrl': llm.url + '/v1/chat/completions', 'defaultModel': 'llama3.1'}
    specs = [{'connector_id': 'good', 'name': 'Good', 'connector_type_id': '.gen-ai', 'config': config,
              'secrets': {'apiKey': '{{ vault_llm_key }}'}},
             {'connector_id': 'unknown-model', 'name': 'Unknown model', 'connector_type_id': '.gen-ai',
              'config': dict(config, defaultModel='mistral'), 'secrets': {'apiKey': '{{ vault_llm_key }}'}}]
    for s in specs:
        status, body = kibana.api('POST', '/api/actions/connector/' + s['connector_id'], {
            'name': s['name'], 'connector_type_id': '.gen-ai', 'config': s['config'],
            'secrets': {'apiKey': LLM_KEY}}, api_key=KIBANA_KEY)
        assert status == 200, body
    inventory = tmp_path / 'hosts.yml'
    inventory.write_text(yaml.safe_dump({'kibana': {'hosts': {'kibana-sim': {
        'ansible_connection': 'local', 'kibana_url': kibana.url, 'kibana_api_key': KIBANA_KEY,
        'vault_llm_key': LLM_KEY, 'connectors_specs': specs}}}}))
    reports = tmp_path / 'reports'
    summary = tmp_path / 'summary.md'
    playbook = os.path.join(harness.ROOT, 'playbooks', 'test.yml')
    extra = {'test_via': 'both', 'test_report_dir': str(reports), 'test_summary_file': str(summary)}
    res = harness.run_playbook(playbook, inventory=str(inventory), extra_vars=extra, canaries=[LLM_KEY], verbosity=2)
    assert res.rc != 0
    assert "default/unknown-model: model_not_found - the server does not know model 'mistral'" in res.output
    suite = ET.parse(str(reports / 'kibana-sim-default.xml')).getroot().find('testsuite')
    assert (suite.get('tests'), suite.get('failures')) == ('2', '1')
    text = summary.read_text()
    assert '| good | default | both | ok |' in text
    assert '| unknown-model | default | both | **failed** | model_not_found |' in text
    assert LLM_KEY not in text
    # the direct probe used the secret filled in from the placeholder (otherwise: auth failure)
    sent = llm.sim('GET', '/_sim/requests')[1]
    assert any(r['headers'].get('Authorization') == 'Bearer ' + LLM_KEY for r in sent)
    assert kibana.writes() == len(specs) + 2  # the two creates above, then only the two _execute calls

    extra['test_fail_on_error'] = False
    res = harness.run_playbook(playbook, inventory=str(inventory), extra_vars=extra, canaries=[LLM_KEY])
    assert res.rc == 0, res
