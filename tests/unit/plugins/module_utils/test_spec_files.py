"""module_utils/spec_files.py: spec files are bounded (size, nesting, alias expansion) and errors name the file;
Ansible's !unsafe tag reads as a plain string when validating."""
import pytest

from ansible_collections.kibana_gitops.connectors.plugins.module_utils import spec_files

LAUGHS = ('connector_id: x\nname: y\nconnector_type_id: .webhook\n'
          'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
          + ''.join('%s: &%s [%s]\n' % (chr(98 + i), chr(98 + i), ','.join(['*' + chr(97 + i)] * 9)) for i in range(8))
          + 'config: {url: *i}\n')


@pytest.mark.parametrize('name, content, message', [
    ('laughs.yml', LAUGHS, 'refused: YAML aliases expand to more than 100000 nodes'),
    ('deep.yml', 'connector_id: x\nconfig:\n  url: ' + '[' * 900 + ']' * 900 + '\n', 'refused: nested deeper than 32 levels'),
    ('deep-block.yml', ''.join('%sk:\n' % ('  ' * i) for i in range(40)) + '  ' * 40 + 'v\n', 'refused: nested deeper'),
    ('deeper.yml', 'a: ' + '[' * 5000 + ']' * 5000 + '\n', 'YAML syntax error'),  # libyaml's own limit (1000)
    ('deep.json', '[' * 100000 + ']' * 100000, 'refused: nested deeper than 32 levels'),
    ('recursive.yml', 'connector_id: x\nconfig: &c {self: *c}\n', 'refers to a node that contains it'),
    ('second-doc.yml', 'connector_id: ok\n---\n' + LAUGHS, 'refused: YAML aliases'),
])
def test_hostile_files_are_refused_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    specs, sources, errors = spec_files.load_spec_paths([str(path)])
    assert len(errors) == 1 and errors[0]['file'] == str(path), errors
    assert message in errors[0]['message']
    if name == 'second-doc.yml':
        assert errors[0]['document'] == 1 and [s['connector_id'] for s in specs] == ['ok']


def test_a_file_over_the_size_bound_is_refused_unread(tmp_path, monkeypatch):
    monkeypatch.setattr(spec_files, 'MAX_FILE_BYTES', 2048)
    path = tmp_path / 'big.yml'
    path.write_text('connector_id: x\nname: "%s"\n' % ('y' * 4096))
    _specs, _sources, errors = spec_files.load_spec_paths([str(path)])
    assert errors[0]['file'] == str(path) and 'refused: larger than' in errors[0]['message']


def test_reasonable_aliases_and_unsafe_tags_load(tmp_path):
    path = tmp_path / 'ok.yml'
    path.write_text('- &base {connector_type_id: .server-log, config: {}}\n'
                    '- {<<: *base, connector_id: a, name: !unsafe "{{ kibana }}"}\n'
                    '- {<<: *base, connector_id: b, config: !unsafe {k: "{{{case.title}}}"}}\n')
    specs, _sources, errors = spec_files.load_spec_paths([str(path)])
    assert not errors
    assert specs[1] == {'connector_type_id': '.server-log', 'config': {}, 'connector_id': 'a', 'name': '{{ kibana }}'}
    assert specs[2]['config'] == {'k': '{{{case.title}}}'}
