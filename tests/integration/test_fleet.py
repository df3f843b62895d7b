"""GitOps at fleet scale: playbooks/apply.yml and drift.yml over three Kibana simulators x two spaces.

Real ansible-playbook runs of the role against real simulator processes; Kibana's state is read out
of band (fleet.Fleet), never taken from what the playbook reports.
"""
import pytest

import fleet
from fleet import PRECONFIGURED_ID

pytestmark = pytest.mark.integration

LLM_KEY = 'CANARY-fleet-llm-key-7f3a91'
SLACK_HOOK = 'https://hooks.slack.com/services/T0/B0/CANARY-fleet-slack-0c4e'
MAIL_PASSWORD = 'CANARY-fleet-mail-pw-55d2'
VAULT = {'vault_gitops_llm_apikey': LLM_KEY, 'vault_gitops_slack_webhookurl': SLACK_HOOK,
         'vault_gitops_mail_password': MAIL_PASSWORD}
CANARIES = (LLM_KEY, SLACK_HOOK, MAIL_PASSWORD, 'CANARY-')

DEFAULT_SPECS = [
    {'connector_id': 'gitops-llm', 'name': 'LLM', 'connector_type_id': '.gen-ai', 'space_id': 'default',
     'config': {'apiProvider': 'OpenAI', 'apiUrl': 'https://api.openai.com/v1/chat/completions'},
     'secrets': {'apiKey': '{{ vault_gitops_llm_apikey }}'}},
    {'connector_id': 'gitops-hook', 'name': 'Ticket hook', 'connector_type_id': '.webhook', 'space_id': 'default',
     'config': {'url': 'https://tickets.example.com/hook', 'hasAuth': False}},
    {'connector_id': 'gitops-index', 'name': 'Alert index', 'connector_type_id': '.index', 'space_id': 'default',
     'config': {'index': 'alerts-gitops'}},
    {'connector_id': 'gitops-log', 'name': 'Server log', 'connector_type_id': '.server-log', 'space_id': 'default'},
]
SECURITY_SPECS = [
    {'connector_id': 'gitops-slack', 'name': 'SOC Slack', 'connector_type_id': '.slack', 'space_id': 'security',
     'secrets': {'webhookUrl': '{{ vault_gitops_slack_webhookurl }}'}},
    {'connector_id': 'gitops-mail', 'name': 'SOC mail', 'connector_type_id': '.email', 'space_id': 'security',
     'config': {'from': 'soc@example.com', 'host': 'smtp.example.com', 'port': 587},
     'secrets': {'user': 'soc', 'password': '{{ vault_gitops_mail_password }}'}},
    {'connector_id': 'gitops-sec-index', 'name': 'SOC index', 'connector_type_id': '.index', 'space_id': 'security',
     'config': {'index': 'soc-gitops'}},
]
HAND_MADE = {'name': 'Made by hand', 'connector_type_id': '.index', 'config': {'index': 'by-hand'}}


@pytest.fixture
def repo_fleet(kibana_sim_factory, tmp_path):
    f = fleet.Fleet(kibana_sim_factory, tmp_path)
    for spec in DEFAULT_SPECS + SECURITY_SPECS:
        f.write_spec(spec)
    return f


def test_rollout_lifecycle(repo_fleet):
    f = repo_fleet
    # outside the managed scope (no gitops- prefix), and inside it but still used by a rule
    for sim in f.sims:
        for space in f.spaces:
            f.create(sim, 'manual-index', HAND_MADE, space=space)
        f.create(sim, 'gitops-legacy', dict(HAND_MADE, name='Legacy'))
        sim.set_references('gitops-legacy', 2)

    # 1. first apply creates everything, in every instance and space
    play = f.run('apply.yml', extra_vars=VAULT, canaries=CANARIES)
    assert play.rc == 0, play
    for sim in f.sims:
        assert f.ids(sim) == {'gitops-llm', 'gitops-hook', 'gitops-index', 'gitops-log', 'manual-index',
                              'gitops-legacy', PRECONFIGURED_ID}
        assert f.ids(sim, 'security') == {'gitops-slack', 'gitops-mail', 'gitops-sec-index', 'manual-index',
                                          PRECONFIGURED_ID}
        assert sim.stored_secrets('gitops-llm') == {'apiKey': LLM_KEY}
        assert sim.stored_secrets('gitops-slack', 'security') == {'webhookUrl': SLACK_HOOK}
        mail = sim.stored_secrets('gitops-mail', 'security')
        assert (mail['user'], mail['password']) == ('soc', MAIL_PASSWORD)
    summary = f.summary_file.read_text()
    rows = fleet.summary_rows(summary)
    assert set(rows) == set((h, s) for h in f.hosts for s in f.spaces), summary
    for host in f.hosts:
        assert rows[(host, 'default')]['created'] == '4' and rows[(host, 'default')]['refused'] == '2', summary
        assert rows[(host, 'security')]['created'] == '3' and rows[(host, 'security')]['refused'] == '1', summary
    assert 'still referenced by 2 rule(s)' in summary and 'preconfigured' in summary
    assert not any(c in summary for c in CANARIES)

    # 2. the second run changes nothing: one list request per space and the release read once, no write
    f.reset_stats()
    play = f.run('apply.yml', extra_vars=VAULT, canaries=CANARIES)
    assert play.rc == 0, play
    assert all(counts['changed'] == 0 and counts['failed'] == 0 for counts in fleet.recap(play).values()), play
    for sim in f.sims:
        assert sim.writes() == 0 and sim.stats()['total'] == len(f.spaces) + 1, sim.stats()
        assert sim.stats()['paths']['GET /api/status'] == 1, sim.stats()
    rows = fleet.summary_rows(f.summary_file.read_text())
    assert all(row['unchanged'] in ('4', '3') and row['created'] == '0' for row in rows.values()), rows

    # 3. edit one spec: exactly one update per instance
    f.write_spec(dict(DEFAULT_SPECS[1], config={'url': 'https://tickets.example.com/hook-v2', 'hasAuth': False}))
    f.reset_stats()
    play = f.run('apply.yml', extra_vars=VAULT, canaries=CANARIES)
    assert play.rc == 0, play
    for sim in f.sims:
        assert fleet.requests_by_method(sim) == {'GET': 3, 'PUT': 1}, sim.stats()
        assert fleet.paths(sim, 'PUT') == {'PUT /api/actions/connector/gitops-hook': 1}
        assert f.live(sim, 'gitops-hook')['config']['url'] == 'https://tickets.example.com/hook-v2'
    assert 'updated `gitops-hook` (Ticket hook): config.url' in f.summary_file.read_text()

    # 4. delete one spec with prune: exactly one delete per instance; out of scope, preconfigured and
    #    referenced connectors stay
    f.remove_spec('gitops-index')
    f.reset_stats()
    play = f.run('apply.yml', extra_vars=VAULT, canaries=CANARIES)
    assert play.rc == 0, play
    for sim in f.sims:
        assert fleet.requests_by_method(sim) == {'GET': 3, 'DELETE': 1}, sim.stats()
        assert fleet.paths(sim, 'DELETE') == {'DELETE /api/actions/connector/gitops-index': 1}
        assert f.ids(sim) == {'gitops-llm', 'gitops-hook', 'gitops-log', 'manual-index', 'gitops-legacy',
                              PRECONFIGURED_ID}
        assert 'manual-index' in f.ids(sim, 'security')
    assert 'deleted `gitops-index` (Alert index) (pruned)' in f.summary_file.read_text()

    # 5. one instance down: that host fails, the others complete the rollout
    f.sims[2].stop()
    f.write_spec(dict(DEFAULT_SPECS[3], name='Server log (renamed)'))
    f.reset_stats()
    play = f.run('apply.yml', extra_vars=VAULT, canaries=CANARIES)
    assert play.rc != 0, play
    counts = fleet.recap(play)
    assert counts['kibana-3']['failed'] == 1 and counts['kibana-1']['failed'] == 0 and counts['kibana-2']['failed'] == 0
    for sim in f.sims[:2]:
        assert fleet.requests_by_method(sim) == {'GET': 3, 'PUT': 1}, sim.stats()
        assert f.live(sim, 'gitops-log')['name'] == 'Server log (renamed)'
    summary = f.summary_file.read_text()
    rows = fleet.summary_rows(summary)
    assert rows[('kibana-1', 'default')]['updated'] == '1' and rows[('kibana-2', 'default')]['updated'] == '1'
    assert rows[('kibana-3', 'default')]['failed'] == '3' and rows[('kibana-3', 'security')]['failed'] == '3', summary
    assert '`kibana-3` / `default`: GET /api/actions/connectors failed: cannot connect to Kibana' in summary


def test_drift_made_out_of_band_is_detected(repo_fleet):
    f = repo_fleet
    play = f.run('apply.yml', extra_vars=VAULT, canaries=CANARIES)
    assert play.rc == 0, play
    # a colleague edits a connector in the UI on kibana-2 and deletes one on kibana-3
    hook = f.live(f.sims[1], 'gitops-hook')
    status, _body = f.api(f.sims[1], 'PUT', '/api/actions/connector/gitops-hook',
                          {'name': hook['name'], 'config': dict(hook['config'], url='https://evil.example.com/hook')})
    assert status == 200
    assert f.api(f.sims[2], 'DELETE', '/api/actions/connector/gitops-slack', space='security')[0] == 204
    f.reset_stats()

    play = f.run('drift.yml', extra_vars=dict(VAULT, fail_on_drift=True), canaries=CANARIES, diff=True)
    assert play.rc != 0, play
    counts = fleet.recap(play)
    assert counts['kibana-1']['failed'] == 0, play
    assert counts['kibana-2']['failed'] == 1 and counts['kibana-3']['failed'] == 1, play
    assert 'default/gitops-hook: would be updated (config.url)' in play.stdout
    assert 'security/gitops-slack: would be created' in play.stdout
    assert 'https://evil.example.com/hook' in play.stdout  # --diff shows the drifted value (not a secret)
    for sim in f.sims:
        assert sim.writes() == 0, sim.stats()  # check mode: nothing written
    summary = f.summary_file.read_text()
    assert summary.startswith('## Kibana connectors drift') and 'Check mode: nothing was written' in summary
    rows = fleet.summary_rows(summary)
    assert rows[('kibana-2', 'default')]['updated'] == '1' and rows[('kibana-3', 'security')]['created'] == '1'
    assert rows[('kibana-1', 'default')]['updated'] == '0'

    # without fail_on_drift the check reports and succeeds
    play = f.run('drift.yml', extra_vars=VAULT, canaries=CANARIES)
    assert play.rc == 0, play
    assert 'default/gitops-hook: would be updated (config.url)' in play.stdout
    assert f.live(f.sims[1], 'gitops-hook')['config']['url'] == 'https://evil.example.com/hook'
