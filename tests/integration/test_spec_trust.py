"""Data from Kibana is data, never template code (issue 9 §1), through the real playbooks.

Connectors made by hand in Kibana hold Jinja (a lookup that would touch a marker file) in their name,
a config value, a header value and a .cases-webhook body, and Kibana's own mustache. They are exported
(playbooks/export.yml), validated (playbooks/validate.yml), checked for drift (playbooks/drift.yml, check
mode) and applied back (playbooks/apply.yml): the marker never appears, nothing drifts, nothing is
written, and every string is in Kibana as it was. A spec file the user wrote next to them is still
templated (vault placeholder, lookups), and export file names are unique and loadable.
"""
import os

import pytest
import yaml

import fleet
import harness

pytestmark = pytest.mark.integration

USER_KEY = 'CANARY-trust-user-key-5e1f'
MUSTACHE_BODY = '{"fields": {"summary": {{{case.title}}}, "description": "{{context.rule.description}}"}}'


def evil(marker):
    return "Evil {{ lookup('ansible.builtin.pipe', 'touch %s') }}" % marker


def by_hand(marker):
    """Connectors a colleague made in Kibana's UI: Jinja-looking text in every kind of field."""
    jinja = evil(marker)
    cases = {
        'createIncidentUrl': 'https://jira.example.com/rest/api/2/issue',
        'createIncidentJson': MUSTACHE_BODY,
        'createIncidentResponseKey': 'id',
        'getIncidentUrl': 'https://jira.example.com/rest/api/2/issue/{{{external.system.id}}}',
        'getIncidentResponseExternalTitleKey': 'key',
        'viewIncidentUrl': 'https://jira.example.com/browse/{{{external.system.title}}}',
        'updateIncidentUrl': 'https://jira.example.com/rest/api/2/issue/{{{external.system.id}}}',
        'updateIncidentJson': '{"fields": {"summary": {{{case.title}}}}}',
        'createCommentUrl': 'https://jira.example.com/rest/api/2/issue/{{{external.system.id}}}/comment',
        'createCommentJson': '{"body": {{{case.comment}}}}',
        'hasAuth': False,
    }
    return {
        'evil-name': {'name': jinja, 'connector_type_id': '.server-log'},
        'evil-config': {'name': 'Evil config', 'connector_type_id': '.index',
                        'config': {'index': 'alerts', 'executionTimeField': jinja}},
        'evil-header': {'name': 'Evil header', 'connector_type_id': '.webhook',
                        'config': {'url': 'https://hooks.example.com/x', 'hasAuth': False,
                                   'headers': {'X-Evil': jinja, 'X-Rule': '{{context.rule.name}}'}}},
        'evil-cases-body': {'name': 'Evil cases body', 'connector_type_id': '.cases-webhook',
                            'config': dict(cases, createCommentJson='{"body": "%s"}' % jinja.replace('"', "'"))},
        'mustache-cases': {'name': 'Cases {{{case.title}}}', 'connector_type_id': '.cases-webhook', 'config': cases},
    }


def test_kibana_data_is_never_templated_and_round_trips_with_no_diff(kibana_sim_factory, tmp_path):
    f = fleet.Fleet(kibana_sim_factory, tmp_path, count=1, spaces=('default',), preconfigured=False)
    sim = f.sims[0]
    marker = tmp_path / 'MARKER'
    control = tmp_path / 'CONTROL'
    for connector_id, body in by_hand(marker).items():
        f.create(sim, connector_id, body)
    before = dict((c['id'], c) for c in f.connectors(sim))
    export_dir = tmp_path / 'exported'
    variables = {'connectors_dir': str(export_dir / 'kibana-1'), 'connectors_prune': False}

    play = f.run('export.yml', extra_vars={'export_dir': str(export_dir)})
    assert play.rc == 0, play
    folder = export_dir / 'kibana-1' / 'default'
    assert sorted(p.name for p in folder.iterdir()) == sorted('%s.yml' % c for c in before)
    assert "!unsafe 'Evil {{ lookup(''ansible.builtin.pipe''" in (folder / 'evil-name.yml').read_text()
    assert not marker.exists()

    # the pull-request check reads the exported files (the !unsafe tag is a plain string there)
    play = harness.run_playbook('%s.validate' % harness.FQCN, extra_vars={'spec_paths': str(folder)})
    assert play.rc == 0, play
    assert '5 connector spec(s) in 5 file(s)' in play.stdout, play

    # a file the team writes next to the exported ones: its Jinja is theirs, lookups included
    (folder / 'user-llm.yml').write_text(yaml.safe_dump({
        'connector_id': 'user-llm', 'connector_type_id': '.gen-ai',
        'name': "{{ lookup('ansible.builtin.pipe', 'touch %s && echo Team') }} LLM" % control,
        'config': {'apiProvider': 'OpenAI', 'apiUrl': 'https://api.openai.com/v1/chat/completions'},
        'secrets': {'apiKey': '{{ vault_user_key }}'}}, sort_keys=False))

    # the drift job (check mode, --diff): only the user's connector is new; the marker never appears
    sim.reset_stats()
    play = f.run('drift.yml', extra_vars={'vault_user_key': USER_KEY}, group_vars=variables, canaries=(USER_KEY,))
    assert play.rc == 0, play
    assert not marker.exists()
    assert sim.writes() == 0
    rows = fleet.summary_rows(f.summary_file.read_text())
    assert rows[('kibana-1', 'default')]['created'] == '1' and rows[('kibana-1', 'default')]['updated'] == '0', rows

    play = f.run('apply.yml', extra_vars={'vault_user_key': USER_KEY}, group_vars=variables, canaries=(USER_KEY,),
                 diff=True)
    assert play.rc == 0, play
    assert not marker.exists()
    assert control.exists()  # lookups in the user's own files run, as in a playbook
    assert sim.stored_secrets('user-llm') == {'apiKey': USER_KEY}
    assert f.live(sim, 'user-llm')['name'] == 'Team LLM'

    # apply after export changes nothing: every string is in Kibana as it was made
    sim.reset_stats()
    play = f.run('apply.yml', extra_vars={'vault_user_key': USER_KEY}, group_vars=variables, canaries=(USER_KEY,),
                 diff=True)
    assert play.rc == 0, play
    assert fleet.recap(play)['kibana-1']['changed'] == 0, play
    assert sim.writes() == 0, sim.stats()
    after = dict((c['id'], c) for c in f.connectors(sim))
    for connector_id, connector in before.items():
        assert after[connector_id] == connector
    assert not marker.exists()


@pytest.mark.parametrize('connector_ids', [['a/b', 'a b', 'a:b', 'a_b', '.hidden']])
def test_export_file_names_are_unique_loadable_and_never_overwrite(kibana_sim_factory, tmp_path, connector_ids):
    f = fleet.Fleet(kibana_sim_factory, tmp_path, count=1, spaces=('default',), preconfigured=False)
    sim = f.sims[0]
    for connector_id in connector_ids:
        _create_with_id(sim, f.keys[0], connector_id)
    assert sorted(c['id'] for c in f.connectors(sim)) == sorted(connector_ids)
    export_dir = tmp_path / 'exported'
    folder = export_dir / 'kibana-1' / 'default'
    folder.mkdir(parents=True)
    # a file the team keeps in the folder under a name an old export used: never overwritten silently
    (folder / 'a%3Ab.yml').write_text('connector_id: something-else\nname: Theirs\nconnector_type_id: .server-log\n')
    (tmp_path / 'outside.yml').write_text('keep: me\n')
    os.symlink(str(tmp_path / 'outside.yml'), str(folder / 'a%20b.yml'))

    play = f.run('export.yml', extra_vars={'export_dir': str(export_dir)})
    assert play.rc != 0, play
    assert 'a%3Ab.yml: exists and does not hold connector a:b; not overwritten' in play.output, play
    assert 'a%20b.yml: is a symbolic link; not written (connector a b)' in play.output, play
    assert (folder / 'a%3Ab.yml').read_text().startswith('connector_id: something-else')
    assert (tmp_path / 'outside.yml').read_text() == 'keep: me\n'

    os.unlink(str(folder / 'a%20b.yml'))
    os.unlink(str(folder / 'a%3Ab.yml'))
    play = f.run('export.yml', extra_vars={'export_dir': str(export_dir)})
    assert play.rc == 0, play
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(['a%2Fb.yml', 'a%20b.yml', 'a%3Ab.yml', 'a_b.yml', '%2Ehidden.yml']), names
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob('*.yml')
                  if 'exported' in p.parts) == sorted('exported/kibana-1/default/%s' % n for n in names)

    # every exported file is loaded back: an apply of the folder changes nothing and loses nothing
    sim.reset_stats()
    play = f.run('apply.yml', group_vars={'connectors_dir': str(export_dir / 'kibana-1'),
                                          'connectors_prune': False})
    assert play.rc == 0, play
    assert sim.writes() == 0, sim.stats()
    rows = fleet.summary_rows(f.summary_file.read_text())
    assert rows[('kibana-1', 'default')]['unchanged'] == str(len(connector_ids)), rows


def _create_with_id(sim, api_key, connector_id):
    from urllib.parse import quote
    status, body = sim.api('POST', '/api/actions/connector/%s' % quote(connector_id, safe=''),
                           {'name': 'Log %s' % connector_id, 'connector_type_id': '.server-log'}, api_key=api_key)
    assert status == 200, (connector_id, status, body)


def test_a_load_error_names_the_file_and_writes_nothing(kibana_sim_factory, tmp_path):
    """The loader's failure is shown (not hidden like its result, which holds secrets), and names the file."""
    f = fleet.Fleet(kibana_sim_factory, tmp_path, count=1, spaces=('default',), preconfigured=False)
    sim = f.sims[0]
    path = f.write_spec({'connector_id': 'gitops-llm', 'name': 'LLM', 'connector_type_id': '.gen-ai',
                         'config': {'apiProvider': 'OpenAI', 'apiUrl': 'https://api.openai.com/v1/chat/completions'},
                         'secrets': {'apiKey': '{{ vault_not_defined_anywhere }}'}})
    sim.reset_stats()
    play = f.run('apply.yml', extra_vars={'connectors_prune': False}, args=['--tags', 'apply'])
    assert play.rc != 0, play
    assert '%s document 0: cannot fill in its Jinja' % path in play.output, play
    assert 'vault_not_defined_anywhere' in play.output, play
    assert sim.writes() == 0
