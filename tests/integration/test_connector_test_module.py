"""The connector_test module in real ansible-playbook runs, against the Kibana and OpenAI simulators.

Connectors are put into the Kibana simulator through its API (out of band); what Kibana did is
read back from the simulators' /_sim/ endpoints.
"""
import json
import os
import xml.etree.ElementTree as ET

import pytest
import yaml

import harness

pytestmark = pytest.mark.integration

KIBANA_KEY = 'ct-kibana-api-key'
LLM_KEY = 'canary-llm-token-5150'
WRONG_KEY = 'canary-wrong-token-6161'


@pytest.fixture
def sims(kibana_sim_factory, openai_sim_factory):
    kibana = kibana_sim_factory('--api-key', KIBANA_KEY)
    llm = openai_sim_factory('--api-key', LLM_KEY, '--model', 'llama3.1', '--model', 'gpt-4.1')
    return kibana, llm


def spec(cid, url, key=LLM_KEY, provider='Other', **config):
    conf = {'apiProvider': provider, 'apiUrl': url + '/v1/chat/completions'}
    if provider == 'Other':
        conf['defaultModel'] = 'llama3.1'
    conf.update(config)
    return {'connector_id': cid, 'name': 'LLM %s' % cid, 'connector_type_id': '.gen-ai', 'config': conf,
            'secrets': {'apiKey': key}}


def create(kibana, s):
    status, body = kibana.api('POST', '/api/actions/connector/%s' % s['connector_id'],
                              {'name': s['name'], 'connector_type_id': s['connector_type_id'],
                               'config': s['config'], 'secrets': s['secrets']}, api_key=KIBANA_KEY)
    assert status == 200, body


def play(kibana, task_args, register=True):
    task = {'kibana_gitops.connectors.connector_test': dict({'kibana_url': kibana.url, 'api_key': KIBANA_KEY},
                                                            **task_args)}
    tasks = [dict(task, register='t', ignore_errors=True), {'ansible.builtin.copy': {
        'content': '{{ t | to_json }}', 'dest': '{{ out }}'}, 'check_mode': False}]
    return yaml.safe_dump([{'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}])


def run(kibana, tmp_path, task_args, **kw):
    out = str(tmp_path / 'result.json')
    res = harness.run_playbook(play(kibana, task_args), extra_vars={'out': out}, canaries=[LLM_KEY, WRONG_KEY], **kw)
    assert res.rc == 0, res
    with open(out) as f:
        return json.load(f), res


def test_kibana_200_with_status_error_fails_the_task(sims, tmp_path):
    kibana, llm = sims
    create(kibana, spec('good', llm.url))
    create(kibana, spec('bad-key', llm.url, key=WRONG_KEY))
    kibana.reset_stats()
    result, res = run(kibana, tmp_path, {'connector_ids': ['good', 'bad-key']}, verbosity=3)
    assert result['failed'] is True
    assert result['msg'].startswith('1 of 2 connectors failed the test: bad-key: auth')
    good, bad = result['results']
    assert good['status'] == 'ok' and good['usage']['total_tokens'] == 10
    assert good['name'] == 'LLM good' and good['connector_type_id'] == '.gen-ai'
    assert bad['status'] == 'failed' and bad['class'] == 'auth'
    assert 'HTTP 200 with status error' in bad['message']
    assert 'Unauthorized API Error' in bad['message']
    assert result['summary'] == {'total': 2, 'ok': 1, 'failed': 1, 'skipped': 0}
    assert result['changed'] is False
    # Kibana really ran both tests (out of band: the simulators' counters)
    paths = kibana.stats()['paths']
    assert paths['POST /api/actions/connector/good/_execute'] == 1
    assert paths['POST /api/actions/connector/bad-key/_execute'] == 1
    assert llm.sim('GET', '/_sim/stats')[1]['paths']['POST /v1/chat/completions'] == 2


def test_both_ways_with_specs_writes_junit_and_markdown(sims, tmp_path):
    kibana, llm = sims
    specs = [spec('other-llm', llm.url), spec('openai-llm', llm.url, provider='OpenAI')]
    for s in specs:
        create(kibana, s)
    junit, md = tmp_path / 'reports' / 'junit.xml', tmp_path / 'reports' / 'summary.md'
    result, _res = run(kibana, tmp_path, {'specs': specs, 'via': 'both', 'junit_path': str(junit),
                                          'markdown_path': str(md)}, verbosity=3, diff=True)
    assert result.get('failed') is not True, [r['message'] for r in result['results']]
    assert [r['status'] for r in result['results']] == ['ok', 'ok']
    openai = result['results'][1]
    assert openai['model'] == 'gpt-4.1'  # Kibana's server default, filled for the direct probe too
    names = [(s['via'], s['name']) for s in openai['stages']]
    assert names == [('kibana', 'kibana_test'), ('direct', 'dns'), ('direct', 'connect'), ('direct', 'auth'),
                     ('direct', 'completion'), ('direct', 'response'), ('direct', 'stream')]
    suite = ET.parse(str(junit)).getroot().find('testsuite')
    assert (suite.get('tests'), suite.get('failures')) == ('2', '0')
    assert '2 connectors: 2 ok, 0 failed, 0 skipped' in md.read_text()
    assert result['junit_path'] == str(junit)
    for path in (junit, md):
        assert LLM_KEY not in path.read_text()


def test_failures_reported_without_failing_when_asked(sims, tmp_path):
    kibana, llm = sims
    good = spec('fine', llm.url)
    missing = spec('not-in-kibana', llm.url)
    wrong_model = spec('wrong-model', llm.url, defaultModel='mistral')
    create(kibana, good)
    create(kibana, wrong_model)
    result, _res = run(kibana, tmp_path, {'specs': [good, missing, wrong_model], 'via': 'both',
                                          'fail_on_error': False})
    assert result.get('failed') is not True
    by_id = dict((r['connector_id'], r) for r in result['results'])
    assert by_id['fine']['status'] == 'ok'
    assert by_id['not-in-kibana']['class'] == 'not_found'
    assert by_id['wrong-model']['class'] == 'model_not_found'
    assert "'mistral'" in by_id['wrong-model']['hint']


def test_check_mode_still_tests_and_never_changes(sims, tmp_path):
    kibana, llm = sims
    create(kibana, spec('checked', llm.url))
    kibana.reset_stats()
    result, res = run(kibana, tmp_path, {'connector_ids': ['checked']}, check=True)
    assert result['changed'] is False
    assert result['results'][0]['status'] == 'ok'
    assert kibana.stats()['paths']['POST /api/actions/connector/checked/_execute'] == 1


def test_other_types_are_skipped_and_direct_needs_specs(sims, tmp_path):
    kibana, llm = sims
    status, _body = kibana.api('POST', '/api/actions/connector/log', {'name': 'Log', 'connector_type_id': '.server-log'},
                               api_key=KIBANA_KEY)
    assert status == 200
    result, _res = run(kibana, tmp_path, {'connector_ids': ['log']})
    assert result['results'][0]['status'] == 'skipped'
    assert result.get('failed') is not True
    result, _res = run(kibana, tmp_path, {'connector_ids': ['log'], 'via': 'direct'})
    assert result['failed'] is True
    assert 'via=direct needs the specs' in result['msg']


def test_spec_files_from_paths(sims, tmp_path):
    kibana, llm = sims
    folder = tmp_path / 'connectors'
    folder.mkdir()
    (folder / 'llm.yml').write_text(yaml.safe_dump(spec('from-file', llm.url)))
    result, _res = run(kibana, tmp_path, {'paths': [str(folder)], 'via': 'direct'})
    assert result['results'][0]['connector_id'] == 'from-file'
    assert result['results'][0]['status'] == 'ok'
    assert os.path.exists(str(folder / 'llm.yml'))


def test_direct_probe_asks_for_the_model_the_release_fills_in(kibana_sim_factory, openai_sim_factory, tmp_path):
    """An OpenAI spec without defaultModel on Kibana 8.18: Kibana would ask for gpt-4, so the probe does too."""
    llm = openai_sim_factory('--api-key', LLM_KEY, '--model', 'gpt-4')
    kibana = kibana_sim_factory('--api-key', KIBANA_KEY, '--kibana-version', '8.18.0')
    s = spec('openai-818', llm.url, provider='OpenAI')
    result, _res = run(kibana, tmp_path, {'specs': [s], 'via': 'direct', 'kibana_version': '8.18.0'})
    assert [r['status'] for r in result['results']] == ['ok'], result['results']
    assert result['results'][0]['model'] == 'gpt-4'
    # without the release: the newest one's default, which this upstream does not serve
    result, _res = run(kibana, tmp_path, {'specs': [s], 'via': 'direct', 'fail_on_error': False})
    assert result['results'][0]['model'] == 'gpt-4.1' and result['results'][0]['class'] == 'model_not_found'
