"""plugin_utils/spec_loader.py with Ansible's real DataLoader and Templar: what is templated, what never is.

The role and playbook paths (connector_spec template: true under ansible-playbook, also --check) are
exercised by tests/integration/test_spec_trust.py.
"""
import os

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.kibana_gitops.connectors.plugins.module_utils import export, spec_files
from ansible_collections.kibana_gitops.connectors.plugins.plugin_utils import spec_loader

EVIL = "Evil {{ lookup('pipe', 'touch %s') }}"  # short name: no collection loader in unit tests
MUSTACHE_BODY = '{"fields":{"summary":{{{case.title}}},"description":"{{context.rule.description}}"}}'


def load(paths, variables=None, inline=()):
    loader = DataLoader()
    templar = Templar(loader=loader, variables=dict(variables or {}))
    return spec_loader.load_specs([str(p) for p in paths], list(inline), loader, templar)


def exported(connector, space='default'):
    return export.spec_file_text(export.spec_from_connector(connector, space))


def plain(value):
    """The loaded value as plain Python data (unsafe / tagged str subclasses compared as str)."""
    if isinstance(value, dict):
        return dict((str(k), plain(v)) for k, v in value.items())
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def test_exported_kibana_strings_are_never_evaluated(tmp_path):
    marker = tmp_path / 'MARKER'
    evil = EVIL % marker
    connector = {'id': 'evil-hook', 'name': evil, 'connector_type_id': '.webhook',
                 'config': {'url': 'https://hooks.example.com/x', 'method': 'post', 'hasAuth': False,
                            'headers': {'X-Evil': evil, evil: 'key'}}}
    (tmp_path / 'evil-hook.yml').write_text(exported(connector))
    specs, files = load([tmp_path])
    assert files == [str(tmp_path / 'evil-hook.yml')]
    assert not marker.exists()
    assert plain(specs[0]['name']) == evil
    assert plain(specs[0]['config']['headers']) == {'X-Evil': evil, evil: 'key'}

    # control: the same text in a file without the !unsafe tags does run (so the assertions above mean something)
    (tmp_path / 'evil-hook.yml').write_text(exported(connector).replace('!unsafe ', ''))
    load([tmp_path])
    assert marker.exists()


def test_kibana_mustache_round_trips_literally(tmp_path):
    connector = {'id': 'cases', 'name': 'Cases {{{case.title}}}', 'connector_type_id': '.cases-webhook',
                 'config': {'createIncidentJson': MUSTACHE_BODY + '\n', 'createIncidentUrl': 'https://x.example.com/{{{external.system.id}}}',
                            'createCommentJson': '{"body": {{{case.comment}}}, "x": "{# not a comment #}"}'}}
    (tmp_path / 'cases.yml').write_text(exported(connector))
    specs, _files = load([tmp_path])
    assert plain(specs[0]['config']) == connector['config']
    assert plain(specs[0]['name']) == connector['name']


def test_secret_placeholders_written_by_export_are_filled_in(tmp_path):
    connector = {'id': 'ops-llm', 'name': 'Ops LLM', 'connector_type_id': '.gen-ai',
                 'config': {'apiProvider': 'OpenAI', 'apiUrl': 'https://api.openai.com/v1/chat/completions'}}
    (tmp_path / 'ops-llm.yml').write_text(exported(connector))
    specs, _files = load([tmp_path], {'vault_ops_llm_apikey': 'sk-from-vault'})
    assert plain(specs[0]['secrets']) == {'apiKey': 'sk-from-vault'}


def test_credential_header_placeholders_written_by_export_are_filled_in(tmp_path):
    connector = {'id': 'hook', 'name': 'Hook', 'connector_type_id': '.webhook',
                 'config': {'url': 'https://hooks.example.com/x', 'hasAuth': False,
                            'headers': {'Authorization': 'Bearer from-kibana', 'X-Rule': '{{context.rule.name}}'}}}
    text = exported(connector)
    assert 'Bearer from-kibana' not in text
    variable = export.header_variable('hook', 'Authorization')
    (tmp_path / 'hook.yml').write_text(text)
    specs, _files = load([tmp_path], {variable: 'Bearer from-vault'})
    assert plain(specs[0]['config']['headers']) == {'Authorization': 'Bearer from-vault', 'X-Rule': '{{context.rule.name}}'}


def test_user_jinja_is_templated_and_values_cannot_break_the_yaml(tmp_path):
    marker = tmp_path / 'USER-LOOKUP'
    (tmp_path / 'mine.yml').write_text(
        'connector_id: mine\n'
        'name: "{{ team }} hook"\n'
        'connector_type_id: .webhook\n'
        "config: {url: \"https://{{ host }}/hook\", x: \"{{ lookup('pipe', 'touch %s && echo ok') }}\"}\n"
        'secrets: {password: "{{ vault_x }}"}\n' % marker)
    tricky = 'pa"ss: word\n- [x'
    specs, _files = load([tmp_path], {'team': 'SOC', 'host': 'hooks.example.com', 'vault_x': tricky})
    spec = plain(specs[0])
    assert spec['name'] == 'SOC hook' and spec['config']['url'] == 'https://hooks.example.com/hook'
    assert spec['secrets'] == {'password': tricky}  # one string, whatever it holds
    assert marker.exists() and spec['config']['x'] == 'ok'  # the user's own lookup: trusted like a playbook
    assert (spec['space_id'], spec['state']) == ('default', 'present')


def test_user_file_can_mark_its_own_mustache_unsafe(tmp_path):
    (tmp_path / 'mine.yml').write_text("connector_id: c\nconfig:\n  createIncidentJson: !unsafe '%s'\n  user: '{{ who }}'\n"
                                       % MUSTACHE_BODY)
    specs, _files = load([tmp_path], {'who': 'bob'})
    assert plain(specs[0]['config']) == {'createIncidentJson': MUSTACHE_BODY, 'user': 'bob'}


def test_loaded_values_are_marked_unsafe_for_what_comes_after(tmp_path):
    """A value that an unsafe variable brought in (a password holding '{{', kept !unsafe in the vault) is not
    templated again downstream."""
    (tmp_path / 'mine.yml').write_text('connector_id: c\nsecrets: {password: "{{ vault_x }}"}\n')
    specs, _files = load([tmp_path], {'vault_x': wrap_var('{{ not_a_template }}')})
    loader = DataLoader()
    again = Templar(loader=loader, variables={'not_a_template': 'EVALUATED'}).template(specs)
    assert plain(again[0]['secrets']['password']) == '{{ not_a_template }}'


def test_inline_specs_come_first_and_pki_paths_are_relative_to_the_file(tmp_path):
    folder = tmp_path / 'team'
    folder.mkdir()
    (folder / 'client.crt').write_text('x')
    (folder / 'llm.yml').write_text('connector_id: llm\nspace_id: security\npki: {certificate: client.crt, private_key: missing.key}\n')
    specs, _files = load([tmp_path], inline=[{'connector_id': 'inline', 'state': 'absent'}])
    assert [plain(s)['connector_id'] for s in specs] == ['inline', 'llm']
    assert plain(specs[0])['state'] == 'absent'
    assert plain(specs[1]['pki']) == {'certificate': str(folder / 'client.crt'), 'private_key': 'missing.key'}
    assert plain(specs[1])['space_id'] == 'security'


def test_multi_document_files_lists_and_json(tmp_path):
    (tmp_path / 'many.yml').write_text('---\nconnector_id: a\n---\n- connector_id: b\n- connector_id: c\n---\n')
    (tmp_path / 'one.json').write_text('{"connector_id": "d", "name": "{{ n }}"}')
    specs, files = load([tmp_path], {'n': 'from json'})
    assert [plain(s)['connector_id'] for s in specs] == ['a', 'b', 'c', 'd']
    assert plain(specs[3])['name'] == 'from json'
    assert len(files) == 2


@pytest.mark.parametrize('content, message', [
    ('a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
     + ''.join('%s: &%s [%s]\n' % (chr(98 + i), chr(98 + i), ','.join(['*' + chr(97 + i)] * 9)) for i in range(8)),
     'aliases expand to more than'),
    ('a: ' + '[' * 200 + ']' * 200 + '\n', 'nested deeper than 32 levels'),
    ('a: &a [*a]\n', 'refers to a node that contains it'),
    ('a: [1\n', 'YAML syntax error'),
])
def test_bounded_files_fail_fast_naming_the_file(tmp_path, content, message):
    path = tmp_path / 'bad.yml'
    path.write_text(content)
    with pytest.raises(spec_loader.SpecLoadError) as info:
        load([path])
    assert str(path) in str(info.value) and message in str(info.value)


def test_huge_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(spec_files, 'MAX_FILE_BYTES', 1024)
    path = tmp_path / 'huge.yml'
    path.write_text('connector_id: x\nname: "%s"\n' % ('y' * 2000))
    with pytest.raises(spec_loader.SpecLoadError, match='huge.yml: refused: larger than'):
        load([path])


def test_template_errors_name_the_file_and_quote_no_secret(tmp_path):
    path = tmp_path / 'mine.yml'
    path.write_text('connector_id: c\nsecrets: {password: "SECRET-in-clear-{{ undefined_var }}"}\n')
    with pytest.raises(spec_loader.SpecLoadError) as info:
        load([path])
    assert str(path) in str(info.value) and 'undefined_var' in str(info.value)
    assert 'SECRET-in-clear' not in str(info.value)


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(spec_loader.SpecLoadError, match='spec path not found'):
        load([tmp_path / 'nope'])


def test_dotfiles_are_skipped_but_exported_names_never_are(tmp_path):
    for connector_id in ('.hidden', 'a/b', 'a b', 'a:b', 'a_b'):
        connector = {'id': connector_id, 'name': connector_id, 'connector_type_id': '.server-log', 'config': {}}
        (tmp_path / export.file_name(connector_id)).write_text(exported(connector))
    (tmp_path / '.editor-backup.yml').write_text('connector_id: backup\n')
    specs, files = load([tmp_path])
    assert sorted(plain(s)['connector_id'] for s in specs) == sorted(['.hidden', 'a/b', 'a b', 'a:b', 'a_b'])
    assert len(files) == 5 and all(os.path.dirname(f) == str(tmp_path) for f in files)
