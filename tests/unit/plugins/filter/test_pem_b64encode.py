"""pem_b64encode filter: PEM text -> base64; anything else refused with a message that never repeats the input."""
import base64

import pytest
from ansible.errors import AnsibleFilterError

import pki_factory
from ansible_collections.kibana_gitops.connectors.plugins.filter import pem_b64encode as plugin


@pytest.fixture(scope='module')
def client():
    return pki_factory.CA('Filter Test CA').issue('filter-client')


def test_certificate_round_trips(client):
    encoded = plugin.pem_b64encode(client.cert_pem)
    assert base64.b64decode(encoded).decode() == client.cert_pem


def test_surrounding_whitespace_is_trimmed_to_one_newline(client):
    encoded = plugin.pem_b64encode('\n\n  ' + client.cert_pem + '\n\n')
    assert base64.b64decode(encoded).decode() == client.cert_pem


def test_pkcs8_key_and_expected_type(client):
    encoded = plugin.pem_b64encode(client.key_pem('pkcs8'), 'PRIVATE KEY')
    assert base64.b64decode(encoded).decode().startswith('-----BEGIN PRIVATE KEY-----')
    assert plugin.FilterModule().filters()['pem_b64encode'] is plugin.pem_b64encode


@pytest.mark.parametrize('text', ['hello', 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A', '-----BEGIN CERTIFICATE-----\nMIIB\n'])
def test_not_pem_is_refused_without_echoing_the_input(text):
    with pytest.raises(AnsibleFilterError) as info:
        plugin.pem_b64encode(text)
    assert 'is not PEM text' in str(info.value)
    assert text.strip() not in str(info.value)


def test_non_string_is_refused():
    with pytest.raises(AnsibleFilterError, match='expects PEM text'):
        plugin.pem_b64encode(b'-----BEGIN CERTIFICATE-----')


def test_wrong_type_for_expect(client):
    with pytest.raises(AnsibleFilterError) as info:
        plugin.pem_b64encode(client.key_pem(), 'certificate')
    assert str(info.value) == 'pem_b64encode: expected a CERTIFICATE block, found PRIVATE KEY'


@pytest.mark.parametrize('key_format,passphrase,message', [
    ('pkcs8', 'pw', 'encrypted'),
    ('pkcs1', 'pw', 'encrypted'),
    ('sec1', None, 'EC PRIVATE KEY'),
])
def test_keys_kibana_cannot_use_are_refused(key_format, passphrase, message):
    key = pki_factory.pooled_key('ec' if key_format == 'sec1' else 'rsa')
    pem = pki_factory.key_pem(key, key_format, passphrase)
    with pytest.raises(AnsibleFilterError) as info:
        plugin.pem_b64encode(pem)
    assert message in str(info.value)
    for line in pem.splitlines()[1:-1]:
        if line and ':' not in line:  # base64 body lines, not the Proc-Type / DEK-Info headers
            assert line not in str(info.value)


def test_pkcs1_key_is_encoded_with_a_warning(monkeypatch, client):
    warnings = []
    monkeypatch.setattr(plugin.display, 'warning', warnings.append)
    encoded = plugin.pem_b64encode(client.key_pem('pkcs1'))
    assert base64.b64decode(encoded).decode() == client.key_pem('pkcs1')
    assert len(warnings) == 1 and 'RSA PRIVATE KEY' in warnings[0]
