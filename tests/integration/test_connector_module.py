"""`connector` and `connector_info` in real ansible-playbook runs against the Kibana simulator.

Every assertion about Kibana's state is made out of band (the simulator's /_sim/ API, or its
connectors API called directly), not through what the module says it did.
"""
import json
import os
import tempfile

import pytest
import yaml

import harness

pytestmark = pytest.mark.integration

API_KEY = 'it-api-key'
USER, PASSWORD = 'elastic', 'it-password'
CANARY_KEY = 'CANARY-llm-apikey-5c1f0e'
CANARY_KEY_2 = 'CANARY-llm-apikey-rotated-93ab'
CANARY_HOOK = 'https://hooks.slack.com/services/T0/B0/CANARY-slack-d41d8'
CANARIES = (CANARY_KEY, CANARY_KEY_2, CANARY_HOOK, 'CANARY-')

PRECONFIGURED = {'xpack.actions.preconfigured': {
    'preconf-slack': {'name': 'Slack (preconfigured)', 'actionTypeId': '.slack',
                      'secrets': {'webhookUrl': 'https://hooks.slack.com/services/T9/B9/preconf'}}}}


@pytest.fixture
def kibana(kibana_sim_factory, tmp_path):
    preconf = tmp_path / 'preconfigured.yml'
    preconf.write_text(yaml.safe_dump(PRECONFIGURED))
    return kibana_sim_factory('--api-key', API_KEY, '--username', USER, '--password', PASSWORD,
                              '--preconfigured', str(preconf))


def llm_spec(**overrides):
    spec = {'connector_id': 'local-llm', 'name': 'Local LLM', 'connector_type_id': '.gen-ai',
            'config': {'apiProvider': 'Other', 'apiUrl': 'https://llm.example.com/v1/chat/completions',
                       'defaultModel': 'llama3.1'},
            'secrets': {'apiKey': CANARY_KEY}}
    spec.update(overrides)
    return spec


class Registered(dict):
    """The task's registered result; `.play` is the whole ansible-playbook run."""
    play = None


def run(kibana, args, module='connector', check=False, diff=False, verbosity=0, auth=None, space=None):
    """Run one task of `module` in a real playbook; return its registered result."""
    out = tempfile.NamedTemporaryFile(suffix='.json', delete=False)
    out.close()
    conn = {'kibana_url': kibana.url}
    conn.update(auth if auth is not None else {'api_key': API_KEY})
    if space:
        conn['space_id'] = space
    task_args = dict(conn, **args)
    playbook = yaml.safe_dump([{
        'hosts': 'localhost', 'gather_facts': False,
        'tasks': [
            {'name': 'under test', 'kibana_gitops.connectors.%s' % module: task_args,
             'register': 'r', 'ignore_errors': True},
            {'name': 'save result', 'ansible.builtin.copy': {'content': '{{ r | to_json }}', 'dest': out.name},
             'check_mode': False, 'diff': False},
        ]}])
    try:
        play = harness.run_playbook(playbook, check=check, diff=diff, verbosity=verbosity, canaries=CANARIES)
        assert play.rc == 0, play
        with open(out.name) as f:
            result = Registered(json.load(f))
        result.play = play
        return result
    finally:
        os.unlink(out.name)


def live(kibana, connector_id, space=None):
    status, body = kibana.api('GET', '/api/actions/connector/%s' % connector_id, api_key=API_KEY, space=space)
    return body if status == 200 else None


def test_create_then_unchanged_then_update_rename_delete(kibana):
    r = run(kibana, llm_spec())
    assert r['changed'] and r['action'] == 'created', r
    c = live(kibana, 'local-llm')
    assert c['name'] == 'Local LLM' and c['config']['defaultModel'] == 'llama3.1'
    assert kibana.stored_secrets('local-llm') == {'apiKey': CANARY_KEY}

    kibana.reset_stats()
    r = run(kibana, llm_spec())
    assert not r['changed'] and r['action'] == 'unchanged', r
    assert kibana.writes() == 0

    new_config = dict(llm_spec()['config'], defaultModel='llama3.2')
    r = run(kibana, llm_spec(config=new_config))
    assert r['changed'] and r['action'] == 'updated' and r['changes'] == ['config.defaultModel'], r
    assert live(kibana, 'local-llm')['config']['defaultModel'] == 'llama3.2'
    assert kibana.stored_secrets('local-llm') == {'apiKey': CANARY_KEY}  # re-sent with the update

    r = run(kibana, llm_spec(name='Local LLM (renamed)', config=new_config))
    assert r['action'] == 'updated' and r['changes'] == ['name'], r
    assert live(kibana, 'local-llm')['name'] == 'Local LLM (renamed)'

    r = run(kibana, {'connector_id': 'local-llm', 'state': 'absent'})
    assert r['changed'] and r['action'] == 'deleted', r
    assert live(kibana, 'local-llm') is None

    r = run(kibana, {'connector_id': 'local-llm', 'state': 'absent'})
    assert not r['changed'] and r['action'] == 'unchanged', r


def test_server_defaults_do_not_cause_perpetual_diffs(kibana):
    specs = [
        {'connector_id': 'openai', 'name': 'OpenAI', 'connector_type_id': '.gen-ai',
         'config': {'apiProvider': 'OpenAI', 'apiUrl': 'https://api.openai.com/v1/chat/completions'},
         'secrets': {'apiKey': CANARY_KEY}},
        {'connector_id': 'hook', 'name': 'Hook', 'connector_type_id': '.webhook',
         'config': {'url': 'https://hooks.example.com/x', 'hasAuth': False}},
        {'connector_id': 'idx', 'name': 'Index', 'connector_type_id': '.index', 'config': {'index': 'alerts'}},
        {'connector_id': 'mail', 'name': 'Mail', 'connector_type_id': '.email',
         'config': {'from': 'alerts@example.com', 'host': 'smtp.example.com', 'port': 587},
         'secrets': {'user': 'alerts', 'password': CANARY_KEY_2}},
        {'connector_id': 'log', 'name': 'Log', 'connector_type_id': '.server-log'},
        {'connector_id': 'slack', 'name': 'Slack', 'connector_type_id': '.slack', 'secrets': {'webhookUrl': CANARY_HOOK}},
    ]
    for spec in specs:
        r = run(kibana, spec)
        assert r['action'] == 'created', r
    assert live(kibana, 'openai')['config']['defaultModel']  # Kibana filled the default in
    kibana.reset_stats()
    for spec in specs:
        r = run(kibana, spec)
        assert r['action'] == 'unchanged', (spec['connector_id'], r)
    assert kibana.writes() == 0


def test_secrets_update_always_rotates_and_reports_changed(kibana):
    run(kibana, llm_spec())
    r = run(kibana, llm_spec(secrets={'apiKey': CANARY_KEY_2}))
    assert r['action'] == 'unchanged'  # on_create: Kibana cannot tell us the stored secret
    assert kibana.stored_secrets('local-llm') == {'apiKey': CANARY_KEY}
    r = run(kibana, dict(llm_spec(secrets={'apiKey': CANARY_KEY_2}), secrets_update='always'))
    assert r['changed'] and r['action'] == 'updated' and r['changes'] == ['secrets'], r
    assert kibana.stored_secrets('local-llm') == {'apiKey': CANARY_KEY_2}


def test_check_mode_writes_nothing_and_diff_hides_secrets(kibana):
    kibana.reset_stats()
    r = run(kibana, llm_spec(), check=True, diff=True, verbosity=3)
    assert r['changed'] and r['action'] == 'created'
    assert kibana.writes() == 0 and live(kibana, 'local-llm') is None
    assert 'apiUrl' in r.play.stdout  # the diff is shown …
    assert CANARY_KEY not in r.play.output  # … without the secret (run_playbook checks every canary too)

    run(kibana, llm_spec())
    kibana.reset_stats()
    changed = llm_spec(config=dict(llm_spec()['config'], defaultModel='mistral'))
    # no -v: the module's arguments are not printed, so the strings can only come from the diff itself
    r = run(kibana, changed, check=True, diff=True)
    assert r['changed'] and r['action'] == 'updated'
    assert kibana.writes() == 0 and live(kibana, 'local-llm')['config']['defaultModel'] == 'llama3.1'
    assert r['diff']['before']['config']['defaultModel'] == 'llama3.1' and r['diff']['after']['config']['defaultModel'] == 'mistral'
    diff_lines = [line for line in r.play.stdout.splitlines() if line.startswith(('-', '+'))]
    assert any('llama3.1' in line for line in diff_lines if line.startswith('-')), r.play.stdout
    assert any('mistral' in line for line in diff_lines if line.startswith('+')), r.play.stdout

    r = run(kibana, {'connector_id': 'local-llm', 'state': 'absent'}, check=True)
    assert r['action'] == 'deleted' and live(kibana, 'local-llm') is not None


def test_spaces_are_isolated(kibana):
    run(kibana, llm_spec(), space='team-a')
    assert live(kibana, 'local-llm', space='team-a') is not None
    assert live(kibana, 'local-llm') is None
    r = run(kibana, llm_spec(), space='team-b')
    assert r['action'] == 'created'
    r = run(kibana, {'connector_id': 'local-llm', 'state': 'absent'}, space='team-a')
    assert r['action'] == 'deleted'
    assert live(kibana, 'local-llm', space='team-b') is not None


def test_basic_auth_and_wrong_credentials(kibana):
    r = run(kibana, llm_spec(), auth={'username': USER, 'password': PASSWORD})
    assert r['action'] == 'created'
    r = run(kibana, llm_spec(), auth={'username': USER, 'password': 'wrong-password'})
    assert r['failed'] and '401' in r['msg'] and 'password' in r['msg'], r
    r = run(kibana, llm_spec(), auth={'api_key': 'not-the-key'})
    assert r['failed'] and '401' in r['msg'], r


def test_credentials_from_environment(kibana):
    playbook = yaml.safe_dump([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'kibana_gitops.connectors.connector': llm_spec()}]}])
    play = harness.run_playbook(playbook, env={'KIBANA_URL': kibana.url, 'KIBANA_API_KEY': API_KEY},
                                canaries=CANARIES)
    assert play.rc == 0, play
    assert live(kibana, 'local-llm') is not None


def test_preconfigured_connector_is_refused_clearly(kibana):
    r = run(kibana, {'connector_id': 'preconf-slack', 'name': 'Slack (changed)', 'connector_type_id': '.slack',
                     'secrets': {'webhookUrl': CANARY_HOOK}})
    assert r['failed'] and 'preconfigured' in r['msg'] and 'preconf-slack' in r['msg'], r
    r = run(kibana, {'connector_id': 'preconf-slack', 'state': 'absent'})
    assert r['failed'] and 'preconfigured' in r['msg'], r
    assert any(c['id'] == 'preconf-slack' for c in kibana.api('GET', '/api/actions/connectors', api_key=API_KEY)[1])


def test_identity_by_name_and_ambiguous_name(kibana):
    by_name = {'name': 'Ops index', 'connector_type_id': '.index', 'config': {'index': 'ops'}}
    r = run(kibana, by_name)
    assert r['action'] == 'created'
    generated_id = r['connector']['id']
    assert len(generated_id) == 36  # Kibana generated a UUID
    r = run(kibana, dict(by_name, config={'index': 'ops-2'}))
    assert r['action'] == 'updated' and r['connector']['id'] == generated_id
    assert live(kibana, generated_id)['config']['index'] == 'ops-2'

    status, _body = kibana.api('POST', '/api/actions/connector', {'name': 'Ops index', 'connector_type_id': '.index',
                                                                  'config': {'index': 'other'}}, api_key=API_KEY)
    assert status == 200
    r = run(kibana, by_name)
    assert r['failed'] and 'ambiguous' in r['msg'] and generated_id in r['msg'], r


def test_invalid_spec_writes_nothing(kibana):
    kibana.reset_stats()
    bad = llm_spec(config={'apiProvider': 'Other', 'apiUrl': 'not a url', 'defaultModel': 'x', 'bogus': 1})
    r = run(kibana, bad)
    assert r['failed'] and 'local-llm' in r['msg'] and 'bogus' in r['msg'], r
    assert kibana.stats()['total'] == 0


def test_secret_never_in_verbose_output(kibana):
    # -vvvv with --diff, create and update: run_playbook fails the test if any canary shows up, and each run must
    # really have done its work (a module failing early would print no secret either)
    r = run(kibana, llm_spec(), diff=True, verbosity=4)
    assert r['action'] == 'created' and not r.get('failed'), r
    r = run(kibana, dict(llm_spec(secrets={'apiKey': CANARY_KEY_2}), secrets_update='always'), diff=True, verbosity=4)
    assert r['action'] == 'updated' and r['changes'] == ['secrets'], r
    assert kibana.stored_secrets('local-llm') == {'apiKey': CANARY_KEY_2}
    r = run(kibana, {'connector_id': 'slack', 'name': 'Slack', 'connector_type_id': '.slack',
                     'secrets': {'webhookUrl': CANARY_HOOK}}, diff=True, verbosity=4)
    assert r['action'] == 'created' and kibana.stored_secrets('slack') == {'webhookUrl': CANARY_HOOK}, r
    assert 'invocation' in r.play.stdout and 'connector_type_id' in r.play.stdout  # -vvvv printed the arguments


def test_connector_info_filters_and_types(kibana):
    run(kibana, llm_spec())
    run(kibana, {'connector_id': 'idx', 'name': 'Index', 'connector_type_id': '.index', 'config': {'index': 'a'}})
    r = run(kibana, {'connector_type_ids': ['.gen-ai']}, module='connector_info')
    assert [c['id'] for c in r['connectors']] == ['local-llm'], r
    r = run(kibana, {'connector_types': True}, module='connector_info')
    ids = [c['id'] for c in r['connectors']]
    assert {'local-llm', 'idx', 'preconf-slack'} <= set(ids)
    assert '.gen-ai' in [t['id'] for t in r['connector_types']]
