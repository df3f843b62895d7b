"""The kibana_settings role end to end: specs -> kibana.yml (+ environment file) -> a Kibana started with it.

Real ansible-playbook runs write a real kibana.yml; the Kibana simulator is then started with that file
(``--preconfigured``) and the environment file's values, as systemd would start Kibana.
"""
import json
import os
import re
import stat
import tempfile

import pytest
import yaml

import harness

pytestmark = pytest.mark.integration

API_KEY = 'settings-api-key'
CANARY = 'CANARY-preconf-llm-key-4e2a'
CANARIES = (CANARY, 'CANARY-')
LLM = {'connector_id': 'local-llm', 'name': 'Local LLM', 'connector_type_id': '.gen-ai',
       'config': {'apiProvider': 'Other', 'apiUrl': 'https://llm-gw.internal:8443/v1/chat/completions',
                  'defaultModel': 'llama3.1'},
       'secrets': {'apiKey': '{{ vault_llm_key }}'},
       'kibana_yml': {'preconfigured': True,
                      'custom_host': {'verification_mode': 'full',
                                      'certificate_authorities_files': ['/etc/kibana/certs/llm-ca.pem']}}}
SLACK = {'connector_id': 'gitops-oncall', 'name': 'On-call', 'connector_type_id': '.slack',
         'secrets': {'webhookUrl': 'https://hooks.slack.com/services/T0/B0/{{ vault_slack_token }}'}}
KIBANA_YML = 'server.port: 5601\nxpack.actions.enabledActionTypes: ["*"]\n'


@pytest.fixture
def site(tmp_path):
    specs = tmp_path / 'connectors'
    specs.mkdir()
    (specs / 'llm.yml').write_text(yaml.safe_dump(LLM, sort_keys=False))
    (specs / 'slack.yml').write_text(yaml.safe_dump(SLACK, sort_keys=False))
    (tmp_path / 'kibana.yml').write_text(KIBANA_YML)
    return tmp_path


def apply(site, check=False, diff=False, **overrides):
    role_vars = {'kibana_settings_dir': [str(site / 'connectors')],
                 'kibana_settings_allowed_hosts': True,
                 'kibana_settings_config_file': str(site / 'kibana.yml'),
                 'kibana_settings_env_file': str(site / 'kibana.env'),
                 'kibana_settings_restart_command': "sh -c 'echo restarted >> %s'" % (site / 'restarts')}
    role_vars.update(overrides)
    playbook = yaml.safe_dump([{
        'hosts': 'localhost', 'gather_facts': False,
        'vars': {'vault_llm_key': CANARY, 'vault_slack_token': 'CANARY-slack-tok'},
        'roles': [{'role': 'kibana_gitops.connectors.kibana_settings', 'vars': role_vars}]}])
    return harness.run_playbook(playbook, check=check, diff=diff, canaries=CANARIES, verbosity=1)


def restarts(site):
    path = site / 'restarts'
    return len(path.read_text().splitlines()) if path.exists() else 0


def recap_changed(play):
    return int(re.search(r'localhost\s*:\s*ok=\d+\s+changed=(\d+)', play.stdout).group(1))


def read_env_file(path):
    """NAME='value' lines, as systemd's EnvironmentFile= reads them (the quoting the role writes)."""
    env = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^(\w+)='(.*)'$", line)
        if m:
            env[m.group(1)] = m.group(2)
    return env


def test_render_write_idempotent_restart_only_on_change(site):
    first = apply(site, diff=True)
    assert first.rc == 0, first
    text = (site / 'kibana.yml').read_text()
    assert text.startswith(KIBANA_YML)  # the rest of kibana.yml is left as it was
    assert CANARY not in text and '${KIBANA_ACTIONS_LOCAL_LLM_APIKEY}' in text
    doc = yaml.safe_load(text)
    assert doc['xpack.actions.preconfigured']['local-llm']['actionTypeId'] == '.gen-ai'
    assert doc['xpack.actions.customHostSettings'] == [{'url': 'https://llm-gw.internal:8443', 'ssl': {
        'verificationMode': 'full', 'certificateAuthoritiesFiles': ['/etc/kibana/certs/llm-ca.pem']}}]
    assert doc['xpack.actions.allowedHosts'] == ['hooks.slack.com', 'llm-gw.internal']
    assert 'gitops-oncall' not in doc['xpack.actions.preconfigured']  # not marked: the API manages it
    env_file = site / 'kibana.env'
    assert read_env_file(env_file) == {'KIBANA_ACTIONS_LOCAL_LLM_APIKEY': CANARY}
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert restarts(site) == 1
    assert [p for p in os.listdir(site) if p.startswith('kibana.yml.') and p.endswith('~')]  # the backup

    again = apply(site)
    assert again.rc == 0, again
    assert recap_changed(again) == 0 and restarts(site) == 1


def test_errors_name_the_file_and_write_nothing(site):
    bad = dict(LLM, connector_type_id='.gen-aii')
    (site / 'connectors' / 'bad.yml').write_text(yaml.safe_dump(bad))
    play = apply(site)
    assert play.rc != 0 and 'bad.yml' in play.output and '.gen-aii' in play.output
    assert (site / 'kibana.yml').read_text() == KIBANA_YML and restarts(site) == 0

    (site / 'connectors' / 'bad.yml').write_text(yaml.safe_dump(dict(LLM, space_id='security')))
    play = apply(site)
    assert play.rc != 0 and 'every space' in play.output and 'bad.yml' in play.output
    assert (site / 'kibana.yml').read_text() == KIBANA_YML and not (site / 'kibana.env').exists()


def test_a_setting_already_in_kibana_yml_is_an_error(site):
    (site / 'kibana.yml').write_text(KIBANA_YML + 'xpack.actions:\n  allowedHosts: ["*"]\n')
    play = apply(site)
    assert play.rc != 0 and 'already sets xpack.actions.allowedHosts' in play.output
    assert apply(site, kibana_settings_allowed_hosts=False).rc == 0


def test_kibana_started_with_the_rendered_yml_lists_them_and_prune_leaves_them(site, kibana_sim_factory, monkeypatch):
    assert apply(site).rc == 0
    for name, value in read_env_file(site / 'kibana.env').items():
        monkeypatch.setenv(name, value)  # what systemd's EnvironmentFile= does for Kibana
    kibana = kibana_sim_factory('--api-key', API_KEY, '--preconfigured', str(site / 'kibana.yml'))
    status, listed = kibana.api('GET', '/api/actions/connectors', api_key=API_KEY)
    assert status == 200
    llm = [c for c in listed if c['id'] == 'local-llm'][0]
    assert llm['is_preconfigured'] is True and llm['name'] == 'Local LLM'

    specs = [yaml.safe_load((site / 'connectors' / f).read_text()) for f in ('llm.yml', 'slack.yml')]
    specs[0]['secrets'] = {'apiKey': CANARY}
    specs[1]['secrets'] = {'webhookUrl': 'https://hooks.slack.com/services/T0/B0/CANARY-slack-tok'}
    out = tempfile.NamedTemporaryFile(suffix='.json', delete=False)
    out.close()
    conn = {'kibana_url': kibana.url, 'api_key': API_KEY}
    playbook = yaml.safe_dump([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'name': 'apply with prune', 'kibana_gitops.connectors.connectors': dict(
            conn, specs=specs, prune=True, managed_id_prefix='gitops-', managed_ids=['local-llm']), 'register': 'first'},
        {'name': 'again, without the preconfigured spec', 'kibana_gitops.connectors.connectors': dict(
            conn, specs=specs[1:], prune=True, managed_ids=['local-llm']), 'register': 'second'},
        {'name': 'info', 'kibana_gitops.connectors.connector_info': dict(conn, connector_ids=['local-llm']),
         'register': 'info'},
        {'name': 'save', 'ansible.builtin.copy': {
            'dest': out.name, 'content': '{{ {"first": first, "second": second, "info": info} | to_json }}'}}]}])
    try:
        play = harness.run_playbook(playbook, canaries=CANARIES)
        assert play.rc == 0, play
        with open(out.name) as f:
            result = json.load(f)
    finally:
        os.unlink(out.name)
    first = dict((r['connector_id'], r) for r in result['first']['results'])
    assert first['local-llm']['action'] == 'unchanged' and first['local-llm']['preconfigured'] is True
    assert first['gitops-oncall']['action'] == 'created'  # its host is in the rendered allowedHosts
    second = dict((r['connector_id'], r) for r in result['second']['results'])
    assert second['local-llm']['action'] == 'refused' and 'never pruned' in second['local-llm']['msg']
    assert result['info']['connectors'][0]['is_preconfigured'] is True
    status, listed = kibana.api('GET', '/api/actions/connectors', api_key=API_KEY)
    assert sorted(c['id'] for c in listed) == ['gitops-oncall', 'local-llm']
    assert kibana.stats()['methods'].get('DELETE', 0) == 0  # prune never even tried
