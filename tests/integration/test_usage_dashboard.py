"""usage_role and connector_info usage_dashboard in real ansible-playbook runs against the Kibana simulator.

Kibana's state is read out of band (the role API called directly, /_sim/security/).
"""
import json
import os
import tempfile

import pytest
import yaml

import harness

pytestmark = pytest.mark.integration

API_KEY = 'usage-api-key'
CANARY_KEY = 'CANARY-usage-llm-key-77e1'
CANARIES = (CANARY_KEY, API_KEY)
LLM = {'name': 'LLM', 'connector_type_id': '.gen-ai',
       'config': {'apiProvider': 'Other', 'apiUrl': 'https://llm.example.com/v1/chat/completions',
                  'defaultModel': 'llama3.1'},
       'secrets': {'apiKey': CANARY_KEY}}
BEDROCK = {'name': 'Claude', 'connector_type_id': '.bedrock',
           'config': {'apiUrl': 'https://bedrock-runtime.us-east-1.amazonaws.com'},
           'secrets': {'accessKey': 'CANARY-usage-ak', 'secret': 'CANARY-usage-sk'}}


@pytest.fixture
def kibana(kibana_sim_factory):
    return kibana_sim_factory('--api-key', API_KEY)


def run(kibana, module, args, check=False, diff=False, auth=None):
    out = tempfile.NamedTemporaryFile(suffix='.json', delete=False)
    out.close()
    task_args = dict({'kibana_url': kibana.url}, **(auth if auth is not None else {'api_key': API_KEY}))
    task_args.update(args)
    playbook = yaml.safe_dump([{
        'hosts': 'localhost', 'gather_facts': False,
        'tasks': [
            {'name': 'under test', 'kibana_gitops.connectors.%s' % module: task_args, 'register': 'r',
             'ignore_errors': True},
            {'name': 'save result', 'ansible.builtin.copy': {'content': '{{ r | to_json }}', 'dest': out.name},
             'check_mode': False, 'diff': False},
        ]}])
    try:
        play = harness.run_playbook(playbook, check=check, diff=diff, canaries=CANARIES + ('CANARY-',))
        assert play.rc == 0, play
        with open(out.name) as f:
            result = json.load(f)
        result['_output'] = play.output
        return result
    finally:
        os.unlink(out.name)


def role(kibana, name='connector-usage-viewer'):
    status, body = kibana.api('GET', '/api/security/role/%s' % name, api_key=API_KEY)
    return body if status == 200 else None


def test_usage_role_create_idempotent_check_diff_and_absent(kibana):
    planned = run(kibana, 'usage_role', {}, check=True, diff=True)
    assert planned['changed'] and planned['action'] == 'created' and role(kibana) is None
    assert '.kibana-event-log-*' in planned['_output']  # the diff shows the role

    made = run(kibana, 'usage_role', {})
    assert made['changed'] and made['action'] == 'created'
    live = role(kibana)
    assert live['elasticsearch']['indices'] == [{'names': ['.kibana-event-log-*'], 'allow_restricted_indices': False,
                                                 'privileges': ['read', 'view_index_metadata']}]
    assert live['kibana'] == [{'base': ['read'], 'feature': {}, 'spaces': ['*']}]
    assert made['role'] == live

    kibana.reset_stats()
    again = run(kibana, 'usage_role', {})
    assert not again['changed'] and again['action'] == 'unchanged'
    assert kibana.writes() == 0

    gone = run(kibana, 'usage_role', {'state': 'absent'})
    assert gone['action'] == 'deleted' and role(kibana) is None
    assert run(kibana, 'usage_role', {'state': 'absent'})['changed'] is False


def test_usage_role_keeps_privileges_it_does_not_own(kibana):
    theirs = {'description': 'SRE', 'metadata': {'owner': 'sre'},
              'elasticsearch': {'cluster': ['monitor'], 'indices': [{'names': ['logs-*'], 'privileges': ['read']}]},
              'kibana': [{'feature': {'discover': ['read']}, 'spaces': ['ops']}]}
    assert kibana.api('PUT', '/api/security/role/sre', theirs, api_key=API_KEY)[0] == 204
    result = run(kibana, 'usage_role', {'name': 'sre', 'spaces': ['team-a', 'team-b']}, diff=True)
    assert result['action'] == 'updated'
    live = role(kibana, 'sre')
    assert live['description'] == 'SRE' and live['metadata']['owner'] == 'sre'
    assert live['elasticsearch']['cluster'] == ['monitor']
    assert live['elasticsearch']['indices'][0]['names'] == ['logs-*']
    assert live['kibana'] == [{'base': [], 'feature': {'discover': ['read']}, 'spaces': ['ops']},
                              {'base': ['read'], 'feature': {}, 'spaces': ['team-a', 'team-b']}]
    assert run(kibana, 'usage_role', {'name': 'sre', 'spaces': ['team-b', 'team-a']})['changed'] is False
    # absent gives the role back as it was
    assert run(kibana, 'usage_role', {'name': 'sre', 'spaces': ['team-a', 'team-b'], 'state': 'absent'})['action'] == 'updated'
    live = role(kibana, 'sre')
    assert [e['names'] for e in live['elasticsearch']['indices']] == [['logs-*']]
    assert live['kibana'] == [{'base': [], 'feature': {'discover': ['read']}, 'spaces': ['ops']}]
    assert 'kibana_gitops_usage_role' not in live['metadata']


def test_usage_role_clash_and_forbidden_write_nothing(kibana):
    theirs = {'elasticsearch': {}, 'kibana': [{'feature': {'discover': ['all']}, 'spaces': ['a', 'b']}]}
    kibana.api('PUT', '/api/security/role/r', theirs, api_key=API_KEY)
    kibana.reset_stats()
    failed = run(kibana, 'usage_role', {'name': 'r', 'spaces': ['b']})
    assert failed['failed'] and 'one entry per space' in failed['msg']
    kibana.sim('POST', '/_sim/security/users', {'username': 'bob', 'password': 'pw', 'roles': []})
    denied = run(kibana, 'usage_role', {}, auth={'username': 'bob', 'password': 'pw'})
    assert denied['failed'] and denied['status'] == 403 and 'manage_security' in denied['msg']
    assert kibana.writes() == 0


def test_connector_info_usage_dashboard_with_and_without_the_role(kibana):
    space = 'team-a'
    assert kibana.api('POST', '/api/actions/connector/llm', LLM, api_key=API_KEY, space=space)[0] == 200
    assert kibana.api('POST', '/api/actions/connector/claude', BEDROCK, api_key=API_KEY, space=space)[0] == 200
    assert kibana.api('POST', '/api/actions/connector/idx', {'name': 'i', 'connector_type_id': '.index',
                                                             'config': {'index': 'a'}}, api_key=API_KEY, space=space)[0] == 200
    kibana.sim('POST', '/_sim/security/users', {'username': 'ann', 'password': 'pw', 'roles': ['connector-usage-viewer']})
    ann = {'username': 'ann', 'password': 'pw'}

    before = run(kibana, 'connector_info', {'space_id': space, 'usage_dashboard': True}, auth=ann)
    by_id = dict((c['id'], c) for c in before['connectors'])
    assert 'usage_dashboard' not in by_id['idx']
    assert by_id['llm']['usage_dashboard']['available'] is False
    assert by_id['llm']['usage_dashboard']['dashboard_id'] == 'generative-ai-token-usage-openai-team-a'
    assert '.kibana-event-log-*' in by_id['llm']['usage_dashboard']['reason']
    assert kibana.sim('GET', '/_sim/security/dashboards')[1] == []

    run(kibana, 'usage_role', {})  # as the admin
    after = run(kibana, 'connector_info', {'space_id': space, 'usage_dashboard': True}, auth=ann)
    by_id = dict((c['id'], c) for c in after['connectors'])
    llm, claude = by_id['llm']['usage_dashboard'], by_id['claude']['usage_dashboard']
    assert llm['available'] is True and llm['reason'] is None
    assert llm['url'].startswith(kibana.url + '/s/team-a/app/dashboards#/view/generative-ai-token-usage-openai-team-a?_a=')
    assert claude['dashboard_id'] == 'generative-ai-token-usage-bedrock-team-a' and claude['available'] is True
    assert after['changed'] is False
    assert sorted(d['id'] for d in kibana.sim('GET', '/_sim/security/dashboards')[1]) == [
        'generative-ai-token-usage-bedrock-team-a', 'generative-ai-token-usage-openai-team-a']


def test_connectors_role_lists_dashboard_links_in_the_rollout_summary(kibana_sim_factory, tmp_path):
    import fleet
    f = fleet.Fleet(kibana_sim_factory, tmp_path, count=1, spaces=('default',), preconfigured=False)
    sim = f.sims[0]
    spec = {'connector_id': 'gitops-llm', 'name': 'LLM', 'connector_type_id': '.gen-ai',
            'config': dict(LLM['config']), 'secrets': {'apiKey': '{{ vault_llm_key }}'}}
    f.write_spec(spec)
    variables = {'connectors_usage_dashboards': True}
    play = f.run('apply.yml', extra_vars={'vault_llm_key': CANARY_KEY}, group_vars=variables, canaries=CANARIES)
    assert play.rc == 0, play
    summary = f.summary_file.read_text()
    assert '### Token usage dashboards' in summary
    assert '`gitops-llm` (LLM): [token usage dashboard](%s/app/dashboards#/view/generative-ai-token-usage-openai-default' \
        % sim.url in summary
    assert sim.sim('GET', '/_sim/security/dashboards')[1] == [{'space_id': 'default',
                                                               'id': 'generative-ai-token-usage-openai-default'}]
    # check mode never asks (getDashboard would create the dashboard)
    sim.reset()
    play = f.run('apply.yml', extra_vars={'vault_llm_key': CANARY_KEY}, group_vars=variables, canaries=CANARIES,
                 check=True)
    assert play.rc == 0, play
    assert 'Token usage dashboards' not in f.summary_file.read_text()
    assert sim.sim('GET', '/_sim/security/dashboards')[1] == []
