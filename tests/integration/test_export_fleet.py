"""Brownfield adoption: playbooks/export.yml writes the connectors of every instance and space as spec
files, and applying them back (secrets filled in from vault variables) changes nothing."""
import pytest
import yaml

import fleet
from fleet import PRECONFIGURED_ID

pytestmark = pytest.mark.integration

LLM_KEY = 'CANARY-export-llm-2b7e'
SLACK_HOOK = 'https://hooks.slack.com/services/T1/B1/CANARY-export-slack-93d1'
CANARIES = (LLM_KEY, SLACK_HOOK, 'CANARY-')

# made by hand in the UI, before the team moved to git (Kibana fills in the server defaults)
BY_HAND = {
    'default': {
        'ops-llm': {'name': 'Ops LLM', 'connector_type_id': '.gen-ai',
                    'config': {'apiProvider': 'OpenAI', 'apiUrl': 'https://api.openai.com/v1/chat/completions'},
                    'secrets': {'apiKey': LLM_KEY}},
        'ops-hook': {'name': 'Ops hook', 'connector_type_id': '.webhook',
                     'config': {'url': 'https://ops.example.com/hook', 'hasAuth': False}},
        'ops-index': {'name': 'Ops index', 'connector_type_id': '.index', 'config': {'index': 'ops'}},
    },
    'security': {
        'soc-slack': {'name': 'SOC Slack', 'connector_type_id': '.slack', 'secrets': {'webhookUrl': SLACK_HOOK}},
        'soc-log': {'name': 'SOC log', 'connector_type_id': '.server-log'},
    },
}
VAULT = {'vault_ops_llm_apikey': LLM_KEY, 'vault_soc_slack_webhookurl': SLACK_HOOK}


def test_export_then_apply_back_is_a_no_op(kibana_sim_factory, tmp_path):
    f = fleet.Fleet(kibana_sim_factory, tmp_path)
    for sim in f.sims:
        for space, connectors in BY_HAND.items():
            for connector_id, body in connectors.items():
                f.create(sim, connector_id, body, space=space)
    export_dir = tmp_path / 'exported'

    play = f.run('export.yml', extra_vars={'export_dir': str(export_dir)}, canaries=CANARIES)
    assert play.rc == 0, play
    for host in f.hosts:
        for space, connectors in BY_HAND.items():
            folder = export_dir / host / space
            assert sorted(p.name for p in folder.iterdir()) == sorted('%s.yml' % c for c in connectors)
            assert not (folder / ('%s.yml' % PRECONFIGURED_ID)).exists()
    files = {p.relative_to(export_dir).as_posix(): p.read_text() for p in export_dir.rglob('*.yml')}
    assert not [name for name, text in files.items() if any(c in text for c in CANARIES)]
    llm = yaml.safe_load(files['kibana-1/default/ops-llm.yml'].split('\n---\n', 1)[1])
    assert llm['secrets'] == {'apiKey': '{{ vault_ops_llm_apikey }}'} and llm['space_id'] == 'default'
    assert llm['config']['defaultModel']  # the server default is in the file, so it cannot drift
    assert 'define vault_soc_slack_webhookurl' in files['kibana-3/security/soc-slack.yml']

    # the exported files are the repo now: every instance reads its own folder; the vault holds the secrets
    f.reset_stats()
    play = f.run('apply.yml', extra_vars=VAULT, canaries=CANARIES, diff=True,
                 group_vars={'connectors_dir': str(export_dir) + '/{{ inventory_hostname }}',
                             'connectors_prune': False})
    assert play.rc == 0, play
    assert all(counts['changed'] == 0 for counts in fleet.recap(play).values()), play
    for sim in f.sims:
        assert sim.writes() == 0, sim.stats()
    rows = fleet.summary_rows(f.summary_file.read_text())
    assert len(rows) == 6 and all(r['unchanged'] == str(len(BY_HAND[space])) for (_h, space), r in rows.items())
