"""plugin_utils/pki_action.py: which values become file content, where PKI blocks are, what gets masked.

ActionBase needs a whole task executor; these tests stand in for its file lookup and loader
(run() itself is exercised by tests/integration/test_pki_material.py with real ansible-playbook).
"""
import base64
import os

import pytest
from ansible.errors import AnsibleError, AnsibleFileNotFound

import pki_factory
from ansible_collections.kibana_gitops.connectors.plugins.action import connector as connector_action
from ansible_collections.kibana_gitops.connectors.plugins.action import connectors as connectors_action
from ansible_collections.kibana_gitops.connectors.plugins.action import pki_material as pki_material_action
from ansible_collections.kibana_gitops.connectors.plugins.plugin_utils import pki_action
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.pki import split_source


def content(value):
    """A resolved value without the label that names its file (checked where it matters)."""
    return split_source(value)[0]


class Loader(object):
    def __init__(self):
        self.cleaned = []

    def get_real_file(self, path, decrypt=True):
        return path

    def cleanup_tmp_file(self, path):
        self.cleaned.append(path)


def make(action_class, search_dir):
    """An action plugin whose _find_needle looks in one folder, like role files/ would."""
    plugin = object.__new__(action_class)
    plugin._loader = Loader()

    def find_needle(dirname, needle):
        assert dirname == 'files'
        path = needle if os.path.isabs(needle) else os.path.join(str(search_dir), needle)
        if not os.path.exists(path):
            raise AnsibleFileNotFound('not found: %s' % needle)
        return path
    plugin._find_needle = find_needle
    return plugin


@pytest.fixture(scope='module')
def client():
    return pki_factory.CA('Action Test CA').issue('action-client')


def resolve(plugin, args):
    hidden = set()
    for where, block in plugin._pki_blocks(args):
        for field in pki_action.PEM_FIELDS:
            plugin._inline(where, block, field, hidden)
    return hidden


def test_relative_paths_become_pem_text_and_the_key_is_masked(tmp_path, client):
    client.write(tmp_path, prefix='c', key_format='pkcs1')
    plugin = make(connector_action.ActionModule, tmp_path)
    args = {'name': 'x', 'pki': {'certificate': 'c.crt', 'private_key': 'c.key', 'ca': 'c-ca.crt',
                                 'private_key_passphrase': 'c.key'}}
    hidden = resolve(plugin, args)
    assert content(args['pki']['certificate']) == client.cert_pem
    assert split_source(args['pki']['certificate'])[1] == str(tmp_path / 'c.crt')  # messages can name the file
    assert content(args['pki']['private_key']) == client.key_pem('pkcs1')
    assert content(args['pki']['ca']) == client.ca.cert_pem
    assert args['pki']['private_key_passphrase'] == 'c.key'  # a passphrase is never a file
    body = [line for line in client.key_pem('pkcs1').splitlines() if not line.startswith('-----')]
    assert client.key_pem('pkcs1') in hidden and set(line for line in body if len(line) >= 32) <= hidden
    assert not any(client.cert_pem in h for h in hidden)  # certificates are public
    assert len(plugin._loader.cleaned) == 3


def test_der_file_becomes_base64(tmp_path, client):
    paths = client.write(tmp_path, der=True)
    plugin = make(pki_material_action.ActionModule, tmp_path)
    args = {'certificate': os.path.basename(paths['certificate']), 'private_key': paths['private_key']}
    hidden = resolve(plugin, args)
    assert base64.b64decode(content(args['certificate'])) == client.cert_der
    assert base64.b64decode(content(args['private_key'])) == client.key_der()
    assert content(args['private_key']) in hidden


def test_inline_pem_and_unknown_paths_are_left_alone(tmp_path, client):
    plugin = make(pki_material_action.ActionModule, tmp_path)
    args = {'certificate': client.cert_pem, 'private_key': client.key_pem(), 'ca': 'not-on-the-controller.crt'}
    hidden = resolve(plugin, args)
    assert args == {'certificate': client.cert_pem, 'private_key': client.key_pem(), 'ca': 'not-on-the-controller.crt'}
    assert client.key_pem() in hidden  # inline key material is masked too


def test_every_spec_pki_block_is_resolved(tmp_path, client):
    client.write(tmp_path, prefix='s')
    plugin = make(connectors_action.ActionModule, tmp_path)
    args = {'specs': [{'connector_id': 'a', 'pki': {'certificate': 's.crt', 'private_key': 's.key'}},
                      {'connector_id': 'b'}, 'not-a-dict',
                      {'connector_id': 'c', 'pki': {'certificate': 's.crt', 'private_key': client.key_pem()}}]}
    resolve(plugin, args)
    assert dict((k, content(v)) for k, v in args['specs'][0]['pki'].items()) == \
        {'certificate': client.cert_pem, 'private_key': client.key_pem()}
    assert content(args['specs'][3]['pki']['certificate']) == client.cert_pem
    assert [w for w, _b in plugin._pki_blocks(args)] == ['specs[0].pki.', 'specs[3].pki.']


def test_unreadable_file_fails_naming_the_option_not_the_content(tmp_path, client):
    client.write(tmp_path, prefix='u')
    plugin = make(connector_action.ActionModule, tmp_path)

    def broken(path, decrypt=True):
        raise AnsibleError('Decryption failed on %s' % path)
    plugin._loader.get_real_file = broken
    with pytest.raises(AnsibleError) as info:
        resolve(plugin, {'pki': {'certificate': 'u.crt', 'private_key': 'u.key'}})
    assert str(info.value).startswith('pki.certificate: could not read ')
    assert 'BEGIN' not in str(info.value)


def test_unknown_location_is_a_programming_error():
    plugin = object.__new__(type('Bad', (pki_action.PkiActionBase,), {'PKI_LOCATIONS': ('nowhere',)}))
    with pytest.raises(AnsibleError, match='unknown PKI location'):
        list(plugin._pki_blocks({}))


def test_pki_material_result_is_censored_only_with_the_key():
    assert pki_material_action.ActionModule.CENSOR_RESULT_IF == ('privateKeyData',)
    assert connector_action.ActionModule.CENSOR_RESULT_IF == ()


def test_a_file_that_is_neither_pem_nor_der_fails_on_the_controller(tmp_path):
    (tmp_path / 'notes.txt').write_text('this is not a certificate\n')
    plugin = make(pki_material_action.ActionModule, tmp_path)
    with pytest.raises(AnsibleError) as info:
        resolve(plugin, {'certificate': 'notes.txt', 'private_key': 'x'})
    assert str(info.value) == 'certificate: %s holds neither PEM text (no -----BEGIN line) nor DER data' % (
        tmp_path / 'notes.txt')
