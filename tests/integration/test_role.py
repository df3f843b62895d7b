"""The kibana_gitops.connectors.connectors role through playbooks/apply.yml: sources, stages (tags),
PKI, check mode, failures, connectivity tests. One Kibana instance; state is read out of band."""
import base64
import os

import pytest

import fleet
import harness
import pki_factory

pytestmark = pytest.mark.integration

LLM_KEY = 'CANARY-role-llm-key-d00d'
WRONG_KEY = 'CANARY-role-wrong-key-beef'
CANARIES = (LLM_KEY, WRONG_KEY, 'CANARY-')


def llm(connector_id, url, key_var='vault_llm_key', **extra):
    spec = {'connector_id': connector_id, 'name': 'LLM %s' % connector_id, 'connector_type_id': '.gen-ai',
            'config': {'apiProvider': 'Other', 'apiUrl': url + '/v1/chat/completions', 'defaultModel': 'llama3.1'},
            'secrets': {'apiKey': '{{ %s }}' % key_var}}
    spec.update(extra)
    return spec


def test_specs_from_a_list_and_files_with_pki_check_mode_and_tags(kibana_sim_factory, tmp_path):
    f = fleet.Fleet(kibana_sim_factory, tmp_path, count=1, spaces=('default',), preconfigured=False)
    sim = f.sims[0]
    client = pki_factory.CA('Role Test CA').issue('kibana-client')
    key_pem = client.key_pem('pkcs8')
    canaries = CANARIES + tuple(harness.Plain(line) for line in key_pem.splitlines() if len(line) > 40)
    (f.repo / 'default' / 'certs').mkdir(parents=True)
    client.write(f.repo / 'default' / 'certs', prefix='client')
    # a pki: path in a spec file is relative to that file
    f.write_spec({'connector_id': 'gitops-mtls', 'name': 'LLM over mTLS', 'connector_type_id': '.gen-ai',
                  'config': {'apiProvider': 'Other', 'apiUrl': 'https://llm.example.com/v1/chat/completions',
                             'defaultModel': 'llama3.1', 'verificationMode': 'full'},
                  'pki': {'certificate': 'certs/client.crt', 'private_key': 'certs/client.key',
                          'ca': 'certs/client-ca.crt'}})
    f.write_spec({'connector_id': 'gitops-log', 'name': 'Log', 'connector_type_id': '.server-log'})
    f.create(sim, 'gitops-old', {'name': 'Old', 'connector_type_id': '.server-log'})
    listed = [llm('gitops-llm', 'https://llm.example.com'), {'connector_id': 'gitops-old', 'state': 'absent'}]
    variables = {'connectors_specs': listed, 'connectors_prune': False}
    written = sorted(p.name for p in (f.repo / 'default' / 'certs').iterdir())
    assert written == ['client-ca.crt', 'client.crt', 'client.key'], written

    # check mode: the plan, nothing written
    sim.reset_stats()
    play = f.run('apply.yml', extra_vars={'vault_llm_key': LLM_KEY}, group_vars=variables, canaries=canaries,
                 check=True)
    assert play.rc == 0, play
    assert sim.writes() == 0 and f.ids(sim) == {'gitops-old'}
    summary = f.summary_file.read_text()
    assert 'Check mode: nothing was written' in summary
    assert fleet.summary_rows(summary)[('kibana-1', 'default')]['created'] == '3'

    # the apply, at -vvv: no secret and no line of the private key in the output
    play = f.run('apply.yml', extra_vars={'vault_llm_key': LLM_KEY}, group_vars=variables, canaries=canaries,
                 verbosity=3)
    assert play.rc == 0, play
    assert f.ids(sim) == {'gitops-mtls', 'gitops-log', 'gitops-llm'}
    assert sim.stored_secrets('gitops-llm') == {'apiKey': LLM_KEY}
    stored = sim.stored_secrets('gitops-mtls')
    assert base64.b64decode(stored['certificateData']).decode() == client.cert_pem
    assert base64.b64decode(stored['privateKeyData']).decode().startswith('-----BEGIN PRIVATE KEY-----')
    assert fleet.summary_rows(f.summary_file.read_text())[('kibana-1', 'default')]['deleted'] == '1'

    # only the apply stage (the files are found without the validate step): nothing to do
    sim.reset_stats()
    play = f.run('apply.yml', extra_vars={'vault_llm_key': LLM_KEY}, group_vars=variables, canaries=canaries,
                 args=['--tags', 'apply'])
    assert play.rc == 0, play
    assert 'Validate every connector spec' not in play.stdout
    assert sim.writes() == 0
    # the list, and Kibana's version (PKI needs 8.19 / 9.1): the no-op budget of 2 requests per space
    assert sim.stats()['paths'] == {'GET /api/actions/connectors': 1, 'GET /api/status': 1}


def test_validation_and_argument_errors_stop_before_any_request(kibana_sim_factory, tmp_path):
    f = fleet.Fleet(kibana_sim_factory, tmp_path, count=1, spaces=('default',), preconfigured=False)
    sim = f.sims[0]
    f.write_spec({'connector_id': 'gitops-log', 'name': 'Log', 'connector_type_id': '.server-log'})
    bad = f.write_spec({'connector_id': 'gitops-hook', 'name': 'Hook', 'connector_type_id': '.webhook',
                        'config': {'url': 'https://hooks.example.com/x', 'hasAuth': False, 'bogus': 1}})
    sim.reset_stats()

    # the pull-request check: the validate stage only, no secrets needed
    play = f.run('apply.yml', args=['--tags', 'validate'])
    assert play.rc != 0, play
    assert str(bad) in play.stdout and 'bogus' in play.stdout, play
    # the whole flow stops at validation as well
    play = f.run('apply.yml')
    assert play.rc != 0 and 'bogus' in play.stdout, play

    bad.unlink()
    play = f.run('apply.yml', group_vars={'connectors_prune': 'sometimes'})
    assert play.rc != 0, play
    assert 'connectors_prune' in play.stdout and 'argument' in play.stdout.lower(), play
    play = f.run('apply.yml', group_vars={'connectors_spaces': ['security']})
    assert play.rc != 0, play
    assert 'Specs name spaces that connectors_spaces of kibana-1 does not list: default' in play.stdout
    assert sim.stats()['total'] == 0, sim.stats()


def test_a_failing_connector_and_a_failing_connectivity_test_are_reported(kibana_sim_factory, openai_sim_factory, tmp_path):
    upstream = openai_sim_factory('--api-key', LLM_KEY, '--model', 'llama3.1')
    f = fleet.Fleet(kibana_sim_factory, tmp_path, count=1, spaces=('default',), preconfigured=False,
                    sim_args=('--allowed-hosts', '127.0.0.1,hooks.example.com'))
    sim = f.sims[0]
    f.write_spec(llm('gitops-llm', upstream.url))
    f.write_spec(llm('gitops-llm-wrong-key', upstream.url, key_var='vault_wrong_key'))
    f.write_spec({'connector_id': 'gitops-hook', 'name': 'Hook', 'connector_type_id': '.webhook',
                  'config': {'url': 'https://hooks.example.com/x', 'hasAuth': False}})
    f.write_spec({'connector_id': 'gitops-blocked', 'name': 'Blocked hook', 'connector_type_id': '.webhook',
                  'config': {'url': 'https://not-allowed.example.org/x', 'hasAuth': False}})

    play = f.run('apply.yml', extra_vars={'vault_llm_key': LLM_KEY, 'vault_wrong_key': WRONG_KEY},
                 group_vars={'connectors_test': True}, canaries=CANARIES)
    assert play.rc != 0, play
    assert fleet.recap(play)['kibana-1']['failed'] == 1
    # the others were written although one failed
    assert f.ids(sim) == {'gitops-llm', 'gitops-llm-wrong-key', 'gitops-hook'}
    summary = f.summary_file.read_text()
    row = fleet.summary_rows(summary)[('kibana-1', 'default')]
    assert (row['created'], row['failed']) == ('3', '1'), summary
    assert '`gitops-blocked` (Blocked hook): connector gitops-blocked: POST' in summary
    assert 'not-allowed.example.org' in summary
    # Kibana's own test ran for the two LLM connectors (the webhooks are skipped)
    assert '| kibana-1 | default | 1 | 1 | 2 |' in summary, summary
    assert '`gitops-llm-wrong-key` (LLM gitops-llm-wrong-key): auth - ' in summary
    paths = sim.stats()['paths']
    assert paths['POST /api/actions/connector/gitops-llm/_execute'] == 1
    assert 'test default/gitops-llm-wrong-key: auth' in play.stdout


def test_example_fleet_inventory_validates_without_kibana_or_secrets():
    """playbooks/inventory is a working example: its specs pass the PR check, with no vault and no Kibana."""
    inventory = os.path.join(fleet.PLAYBOOKS, 'inventory', 'hosts.yml')
    play = harness.run_playbook(os.path.join(fleet.PLAYBOOKS, 'apply.yml'), inventory=inventory, args=['--tags', 'validate'])
    assert play.rc == 0, play
    counts = fleet.recap(play)
    assert sorted(counts) == ['kibana-prod-eu', 'kibana-prod-us', 'kibana-staging']
    assert all(c['ok'] == 2 and c['failed'] == 0 for c in counts.values()), play
