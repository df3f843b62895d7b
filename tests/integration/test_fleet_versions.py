"""A mixed-version fleet: one set of specs over Kibana 8.18, 9.2 and 9.4 simulators.

What every release accepts is applied everywhere; a PKI spec is refused on 8.18 before any write to that
instance (and applied on 9.2 and 9.4); a .slack_api spec with channels by name only is refused on 9.2 (and
8.18) and applied on 9.4; the rollout summary shows each instance's release and the refusals; a second run
changes nothing (server defaults per release: 8.x stores defaultModel gpt-4). Kibana's state is read out of
band from the simulators.
"""
import os

import pytest

import fleet
import harness
from pki_factory import CA

pytestmark = pytest.mark.integration

VERSIONS = ['8.18.0', '9.2.0', '9.4.0']
LLM_KEY = 'CANARY-versions-llm-key-91c2'
SLACK_TOKEN = 'xoxb-CANARY-versions-slack-3b7e'
# one batch: a refusal fails its instance, and the canary batch of the default [1, '100%'] would stop the rollout
VAULT = {'vault_llm_key': LLM_KEY, 'vault_slack_token': SLACK_TOKEN, 'rollout_serial': '100%'}

EVERYWHERE = [
    {'connector_id': 'gitops-log', 'name': 'Server log', 'connector_type_id': '.server-log'},
    {'connector_id': 'gitops-index', 'name': 'Alert index', 'connector_type_id': '.index',
     'config': {'index': 'alerts-gitops'}},
    # no defaultModel: Kibana fills its own default, gpt-4 on 8.x and gpt-4.1 on 9.x (no perpetual diff)
    {'connector_id': 'gitops-openai', 'name': 'OpenAI', 'connector_type_id': '.gen-ai',
     'config': {'apiProvider': 'OpenAI', 'apiUrl': 'https://api.openai.com/v1/chat/completions'},
     'secrets': {'apiKey': '{{ vault_llm_key }}'}},
]
SLACK_BY_NAME = {'connector_id': 'gitops-slack-api', 'name': 'Slack API', 'connector_type_id': '.slack_api',
                 'config': {'allowedChannels': [{'name': '#alerts'}]}, 'secrets': {'token': '{{ vault_slack_token }}'}}


def _pki_spec(tmp_path):
    ca = CA()
    (tmp_path / 'pki').mkdir()
    paths = ca.issue('versions-fleet-client').write(tmp_path / 'pki')
    return {'connector_id': 'gitops-llm-mtls', 'name': 'Local LLM (mTLS)', 'connector_type_id': '.gen-ai',
            'config': {'apiProvider': 'Other', 'apiUrl': 'https://llm.example.com/v1/chat/completions',
                       'defaultModel': 'llama3.1', 'verificationMode': 'full'},
            'pki': dict((k, os.path.abspath(v)) for k, v in paths.items())}


def _writes_for(sim, connector_id):
    return dict((path, n) for path, n in sim.stats()['paths'].items()
                if connector_id in path and not path.startswith('GET'))


def test_one_set_of_specs_over_a_mixed_version_fleet(kibana_sim_factory, tmp_path):
    f = fleet.Fleet(kibana_sim_factory, tmp_path, count=3, spaces=('default',), preconfigured=False,
                    kibana_versions=VERSIONS)
    old, mid, new = f.sims
    for spec in EVERYWHERE + [SLACK_BY_NAME, _pki_spec(tmp_path)]:
        f.write_spec(dict(spec, space_id='default'))

    # the pull-request check with each instance's declared release: refusals are announced, not fatal
    declared = dict((host, {'connectors_kibana_version': v}) for host, v in zip(f.hosts, VERSIONS))
    check = f.run('apply.yml', args=['--tags', 'validate'], host_vars=declared)
    assert check.rc == 0, check
    assert 'Kibana 8.18.0 will refuse' in check.stdout and 'Kibana 9.2.0 will refuse' in check.stdout, check
    assert 'Kibana 9.4.0 will refuse' not in check.stdout, check

    f.reset_stats()
    play = f.run('apply.yml', extra_vars=VAULT, canaries=(LLM_KEY, SLACK_TOKEN))
    assert play.rc != 0, play  # the refusing instances fail, after the rest was applied
    counts = fleet.recap(play)
    assert [counts[h]['failed'] for h in f.hosts] == [1, 1, 0], (counts, play)

    # out of band: what each release holds
    everywhere = set(s['connector_id'] for s in EVERYWHERE)
    assert f.ids(old) == everywhere
    assert f.ids(mid) == everywhere | set(['gitops-llm-mtls'])
    assert f.ids(new) == everywhere | set(['gitops-llm-mtls', 'gitops-slack-api'])
    assert old.stored_secrets('gitops-llm-mtls') is None
    assert set(mid.stored_secrets('gitops-llm-mtls')) >= set(['certificateData', 'privateKeyData'])
    # refused before any write to that instance: not a single request for those connectors
    assert _writes_for(old, 'gitops-llm-mtls') == {} and _writes_for(old, 'gitops-slack-api') == {}
    assert _writes_for(mid, 'gitops-slack-api') == {}
    assert old.stats()['paths'].get('GET /api/status') == 1  # the release is read once per Kibana
    assert f.live(old, 'gitops-openai')['config']['defaultModel'] == 'gpt-4'
    assert f.live(new, 'gitops-openai')['config']['defaultModel'] == 'gpt-4.1'

    summary = f.summary_file.read_text()
    assert '3 Kibana instance(s): `kibana-1` (Kibana 8.18.0), `kibana-2` (Kibana 9.2.0), `kibana-3` (Kibana 9.4.0).' \
        in summary, summary
    refused = summary.split('### Refused by the Kibana release (nothing was sent)')[1].split('###')[0]
    assert '`kibana-1` / `default`: `gitops-llm-mtls` (Local LLM (mTLS)) (first release that accepts it: 8.19.0)' \
        in refused, refused
    assert '`kibana-1` / `default`: `gitops-slack-api` (Slack API) (first release that accepts it: 9.3.0)' in refused
    assert '`kibana-2` / `default`: `gitops-slack-api` (Slack API) (first release that accepts it: 9.3.0)' in refused
    assert 'kibana-3' not in refused
    rows = fleet.summary_rows(summary)
    assert rows[('kibana-1', 'default')]['created'] == '3' and rows[('kibana-1', 'default')]['refused'] == '2'
    assert rows[('kibana-3', 'default')]['created'] == '5' and rows[('kibana-3', 'default')]['refused'] == '0'

    # a second run: nothing to change anywhere (8.18's gpt-4 default is not a diff), the same refusals
    f.reset_stats()
    again = f.run('apply.yml', extra_vars=VAULT, canaries=(LLM_KEY, SLACK_TOKEN))
    rows = fleet.summary_rows(f.summary_file.read_text())
    for host in f.hosts:
        assert rows[(host, 'default')]['created'] == '0' and rows[(host, 'default')]['updated'] == '0', (host, rows)
    assert fleet.recap(again)['kibana-3']['failed'] == 0
    for sim in f.sims:
        assert not [p for p in sim.stats()['paths'] if not p.startswith('GET')], sim.stats()

    # connector_info reports each instance's release
    info = harness.run_playbook("""
- hosts: kibana
  gather_facts: false
  tasks:
    - kibana_gitops.connectors.connector_info:
        kibana_url: "{{ kibana_url }}"
        api_key: "{{ kibana_api_key }}"
      register: info
    - ansible.builtin.debug:
        msg: "release of {{ inventory_hostname }}: {{ info.kibana_version }}"
""", inventory=f.inventory(), env=f.env)
    assert info.rc == 0, info
    for host, version in zip(f.hosts, VERSIONS):
        assert 'release of %s: %s' % (host, version) in info.stdout, info
