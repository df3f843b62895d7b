"""module_utils/pki.py: every check, every input format, and no key material in any message."""
import base64

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

import pki_factory
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import pki


@pytest.fixture(scope='module')
def ca():
    return pki_factory.CA('Unit Test Root CA')


@pytest.fixture(scope='module')
def client(ca):
    return ca.issue('kibana-client')


@pytest.fixture(scope='module')
def other_ca():
    return pki_factory.CA('Some Other CA')


def b64d(value):
    return base64.b64decode(value).decode('ascii')


def spki(key):
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_lines(issued, *formats):
    """Every base64 line of the key in the given formats: none may appear in any message."""
    lines = set()
    for fmt in formats or ('pkcs8', 'pkcs1'):
        for line in issued.key_pem(fmt).splitlines():
            if not line.startswith('-----'):
                lines.add(line)
    return lines


def assert_no_key_material(issued, texts):
    text = '\n'.join(texts)
    for line in key_lines(issued):
        assert line not in text


def errors_of(block, **kwargs):
    with pytest.raises(pki.PkiError) as info:
        pki.secrets_from_pki(block, **kwargs)
    return info.value


# ------------------------------------------------------------------------------ good material, every format

@pytest.mark.parametrize('key_format,key_type,label', [
    ('pkcs8', 'rsa', 'PKCS#8 (PRIVATE KEY)'),
    ('pkcs1', 'rsa', 'PKCS#1 (RSA PRIVATE KEY)'),
    ('sec1', 'ec', 'SEC1 (EC PRIVATE KEY)'),
    ('pkcs8', 'ec', 'PKCS#8 (PRIVATE KEY)'),
    ('pkcs8', 'ed25519', 'PKCS#8 (PRIVATE KEY)'),
])
def test_each_key_format_becomes_unencrypted_pkcs8(ca, key_format, key_type, label):
    leaf = ca.issue('client-%s-%s' % (key_format, key_type), key_type=key_type)
    secrets, facts, warnings = pki.secrets_from_pki({'certificate': leaf.cert_pem, 'private_key': leaf.key_pem(key_format),
                                                     'ca': ca.cert_pem})
    assert sorted(secrets) == ['caData', 'certificateData', 'privateKeyData']
    key_text = b64d(secrets['privateKeyData'])
    assert key_text.startswith('-----BEGIN PRIVATE KEY-----\n')
    assert spki(serialization.load_pem_private_key(key_text.encode(), None)) == spki(leaf.key)
    assert b64d(secrets['certificateData']) == leaf.cert_pem
    assert b64d(secrets['caData']) == ca.cert_pem
    assert facts['private_key_format'] == label
    assert facts['private_key_encrypted'] is False
    assert facts['ca_issued_certificate'] is True
    assert warnings == []


@pytest.mark.parametrize('key_format', ['pkcs8', 'pkcs1'])
def test_encrypted_key_is_decrypted_with_the_passphrase(client, key_format):
    block = {'certificate': client.cert_pem, 'private_key': client.key_pem(key_format, passphrase='s3cret-pass'),
             'private_key_passphrase': 's3cret-pass'}
    secrets, facts, _warnings = pki.secrets_from_pki(block)
    key_text = b64d(secrets['privateKeyData'])
    assert 'ENCRYPTED' not in key_text and key_text.startswith('-----BEGIN PRIVATE KEY-----')
    assert spki(serialization.load_pem_private_key(key_text.encode(), None)) == spki(client.key)
    assert facts['private_key_encrypted'] is True
    assert 'caData' not in secrets


def test_encrypted_key_without_passphrase_is_an_error(client):
    exc = errors_of({'certificate': client.cert_pem, 'private_key': client.key_pem('pkcs8', passphrase='pw-123456')})
    assert exc.field == 'private_key'
    assert 'encrypted' in str(exc) and 'private_key_passphrase' in str(exc)


@pytest.mark.parametrize('key_format', ['pkcs8', 'pkcs1'])
def test_wrong_passphrase_is_an_error_without_the_passphrase(client, key_format):
    exc = errors_of({'certificate': client.cert_pem, 'private_key': client.key_pem(key_format, passphrase='right-one'),
                     'private_key_passphrase': 'WRONG-passphrase-xyz'})
    assert exc.problems[0][0] == '/private_key'
    assert 'could not be decrypted' in str(exc)
    assert 'WRONG-passphrase-xyz' not in str(exc) and 'right-one' not in str(exc)


def test_passphrase_for_a_plain_key_is_a_warning(client):
    _secrets, _facts, warnings = pki.secrets_from_pki({'certificate': client.cert_pem, 'private_key': client.key_pem(),
                                                       'private_key_passphrase': 'not-needed'})
    assert warnings == ['private_key_passphrase: is set but the private key is not encrypted; it was not used']


# ------------------------------------------------------------------------------ validity window

def test_expired_certificate_is_an_error(ca):
    old = ca.issue('expired-client', not_before=-60, not_after=-2)
    exc = errors_of({'certificate': old.cert_pem, 'private_key': old.key_pem()})
    assert exc.field == 'certificate'
    assert 'expired on' in str(exc) and '(2 days ago)' in str(exc)


def test_not_yet_valid_certificate_is_an_error(ca):
    future = ca.issue('future-client', not_before=3, not_after=30)
    exc = errors_of({'certificate': future.cert_pem, 'private_key': future.key_pem()})
    assert exc.field == 'certificate'
    assert 'not valid yet' in str(exc)


def test_near_expiry_is_a_warning_with_the_days_left(ca):
    soon = ca.issue('soon-client', not_after=10)
    block = {'certificate': soon.cert_pem, 'private_key': soon.key_pem()}
    secrets, facts, warnings = pki.secrets_from_pki(block)
    assert facts['days_left'] == 9  # whole days: 10 days minus the seconds since issuing
    assert len(warnings) == 1 and warnings[0].startswith('certificate: CN=soon-client')
    assert 'expires in 9 days' in warnings[0]
    assert secrets['certificateData']
    assert pki.secrets_from_pki(block, expiry_warning_days=5)[2] == []
    assert pki.secrets_from_pki(block, expiry_warning_days=0)[2] == []


def test_expired_ca_in_the_bundle_is_a_warning(ca, client):
    old_ca = pki_factory.CA('Retired CA', not_before=-100, not_after=-1)
    _secrets, _facts, warnings = pki.secrets_from_pki({'certificate': client.cert_pem, 'private_key': client.key_pem(),
                                                       'ca': ca.cert_pem + old_ca.cert_pem})
    assert len(warnings) == 1 and warnings[0].startswith('ca: CN=Retired CA') and 'expired' in warnings[0]


# ------------------------------------------------------------------------------ key, CA, usage

def test_mismatched_key_is_an_error(client):
    stranger = pki_factory.new_key('rsa')
    exc = errors_of({'certificate': client.cert_pem, 'private_key': pki_factory.key_pem(stranger)})
    assert exc.field == 'private_key'
    assert 'does not match the certificate (CN=kibana-client' in str(exc)
    for line in pki_factory.key_pem(stranger).splitlines()[1:-1]:
        assert line not in str(exc)


def test_certificate_from_another_ca_is_an_error(client, other_ca):
    exc = errors_of({'certificate': client.cert_pem, 'private_key': client.key_pem(), 'ca': other_ca.cert_pem})
    assert exc.field == 'ca'
    assert 'did not issue the certificate' in str(exc) and 'Some Other CA' in str(exc)


def test_same_name_but_different_ca_key_is_an_error(client):
    impostor = pki_factory.CA('Unit Test Root CA')  # same subject as the real issuer, different key
    exc = errors_of({'certificate': client.cert_pem, 'private_key': client.key_pem(), 'ca': impostor.cert_pem})
    assert exc.field == 'ca'


def test_ca_bundle_with_several_certificates(ca, client, other_ca):
    secrets, facts, _warnings = pki.secrets_from_pki({'certificate': client.cert_pem, 'private_key': client.key_pem(),
                                                      'ca': other_ca.cert_pem + '\n' + ca.cert_pem})
    assert b64d(secrets['caData']) == other_ca.cert_pem + ca.cert_pem
    assert [c['subject'] for c in facts['ca']] == [other_ca.cert.subject.rfc4514_string(), ca.cert.subject.rfc4514_string()]


def test_intermediate_sent_with_the_certificate_chains_to_the_root(ca):
    inter = ca.intermediate()
    leaf = inter.issue('chained-client')
    block = {'certificate': leaf.cert_pem + inter.cert_pem, 'private_key': leaf.key_pem(), 'ca': ca.cert_pem}
    secrets, facts, _warnings = pki.secrets_from_pki(block)
    assert b64d(secrets['certificateData']) == leaf.cert_pem + inter.cert_pem
    assert facts['subject'] == 'CN=chained-client,O=kibana_gitops tests'
    assert facts['chain'][0]['subject'] == inter.cert.subject.rfc4514_string()
    # without the intermediate, the root did not issue the certificate
    exc = errors_of(dict(block, certificate=leaf.cert_pem))
    assert exc.field == 'ca'
    # an intermediate in the CA bundle is enough
    assert pki.secrets_from_pki(dict(block, certificate=leaf.cert_pem, ca=inter.cert_pem + ca.cert_pem))[0]


def test_certificate_without_client_auth_is_a_warning(ca):
    server_only = ca.issue('server-only', server=True)
    _secrets, facts, warnings = pki.secrets_from_pki({'certificate': server_only.cert_pem, 'private_key': server_only.key_pem()})
    assert facts['extended_key_usage'] == ['serverAuth']
    assert warnings == ['certificate: its extended key usage (serverAuth) does not include clientAuth: a server that '
                        'checks it will refuse this client certificate']


def test_no_extended_key_usage_means_any_usage(ca):
    plain = ca.issue('no-eku', eku=[])
    assert pki.secrets_from_pki({'certificate': plain.cert_pem, 'private_key': plain.key_pem()})[2] == []
    anyusage = ca.issue('any-eku', eku=[ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE])
    assert pki.secrets_from_pki({'certificate': anyusage.cert_pem, 'private_key': anyusage.key_pem()})[2] == []


def test_small_rsa_key_is_a_warning(ca):
    weak = ca.issue('weak', key_type='rsa1024')
    warnings = pki.secrets_from_pki({'certificate': weak.cert_pem, 'private_key': weak.key_pem()})[2]
    assert warnings == ['private_key: is a 1024-bit RSA key; OpenSSL at its default security level refuses RSA keys '
                        'under 2048 bits']


def test_several_problems_are_all_reported(ca, other_ca):
    old = ca.issue('expired-and-wrong', not_before=-10, not_after=-1)
    exc = errors_of({'certificate': old.cert_pem, 'private_key': pki_factory.key_pem(pki_factory.pooled_key('ec')),
                     'ca': other_ca.cert_pem})
    assert [p for p, _m in exc.problems] == ['/certificate', '/private_key', '/ca']
    assert str(exc).startswith('certificate: CN=expired-and-wrong')


# ------------------------------------------------------------------------------ facts

def test_facts_describe_the_certificate(client):
    _secrets, facts, _warnings = pki.secrets_from_pki({'certificate': client.cert_pem, 'private_key': client.key_pem()})
    cert = client.cert
    assert facts['subject'] == 'CN=kibana-client,O=kibana_gitops tests'
    assert facts['issuer'] == 'CN=Unit Test Root CA,O=kibana_gitops tests'
    assert int(facts['serial'], 16) == cert.serial_number
    assert facts['fingerprint_sha256'] == ':'.join('%02X' % b for b in cert.fingerprint(hashes.SHA256()))
    assert facts['not_after'] == cert.not_valid_after_utc.strftime('%Y-%m-%dT%H:%M:%SZ')
    assert facts['not_before'] == cert.not_valid_before_utc.strftime('%Y-%m-%dT%H:%M:%SZ')
    assert facts['days_left'] == 364
    assert facts['key_type'] == 'RSA 2048'
    assert facts['extended_key_usage'] == ['clientAuth']
    assert 'ca' not in facts


# ------------------------------------------------------------------------------ files, DER, garbage

def test_file_paths_are_read(tmp_path, client):
    paths = client.write(tmp_path, key_format='pkcs1')
    secrets, facts, _warnings = pki.secrets_from_pki(paths)
    assert b64d(secrets['certificateData']) == client.cert_pem
    assert b64d(secrets['caData']) == client.ca.cert_pem
    assert facts['private_key_format'] == 'PKCS#1 (RSA PRIVATE KEY)'


def test_relative_paths_are_read_from_base_dir(tmp_path, client):
    client.write(tmp_path, prefix='rel')
    block = {'certificate': 'rel.crt', 'private_key': 'rel.key', 'ca': 'rel-ca.crt'}
    assert pki.secrets_from_pki(block, base_dir=str(tmp_path))[0]['certificateData']
    exc = errors_of(block, base_dir=str(tmp_path / 'elsewhere'))
    assert [p for p, _m in exc.problems] == ['/certificate', '/private_key', '/ca']
    assert 'not a file that exists' in str(exc)


def test_der_files_are_converted_to_pem(tmp_path, client):
    paths = client.write(tmp_path, der=True, key_format='pkcs1')
    assert open(paths['certificate'], 'rb').read()[:1] == b'\x30'
    secrets, facts, _warnings = pki.secrets_from_pki(paths)
    assert b64d(secrets['certificateData']) == client.cert_pem
    assert b64d(secrets['privateKeyData']).startswith('-----BEGIN PRIVATE KEY-----')
    assert facts['private_key_format'] == 'DER'


def test_inline_base64_der_is_accepted(client):
    block = {'certificate': base64.b64encode(client.cert_der).decode(),
             'private_key': base64.b64encode(client.key_der('pkcs8', passphrase='der-pass')).decode(),
             'private_key_passphrase': 'der-pass'}
    secrets, facts, _warnings = pki.secrets_from_pki(block)
    assert b64d(secrets['certificateData']) == client.cert_pem
    assert facts['private_key_encrypted'] is True
    exc = errors_of(dict(block, private_key_passphrase=None))
    assert 'private_key: is encrypted' in str(exc)


@pytest.mark.parametrize('garbage', ['hello world', 'files/client.crt', 'TWFu', 'MANhYmM=',
                                     '-----BEGIN CERTIFICATE-----\nnot base64\n'])
def test_garbage_is_an_error_that_names_the_field(client, garbage):
    exc = errors_of({'certificate': garbage, 'private_key': client.key_pem()})
    assert exc.field == 'certificate'
    assert [p for p, _m in exc.problems] == ['/certificate']


def test_bogus_der_key_is_an_error(client):
    exc = errors_of({'certificate': client.cert_pem, 'private_key': 'MANhYmM='})  # base64 of a broken SEQUENCE
    assert str(exc) == 'private_key: is not PEM text, and as DER it does not parse as a private key'


def test_damaged_pem_blocks_are_errors(client):
    body = client.cert_pem.splitlines()
    damaged = '\n'.join(body[:3] + [body[3][::-1]] + body[4:]) + '\n'
    exc = errors_of({'certificate': damaged, 'private_key': client.key_pem()})
    assert 'does not parse as an X.509 certificate' in str(exc)
    key = client.key_pem().splitlines()
    exc = errors_of({'certificate': client.cert_pem, 'private_key': '\n'.join(key[:1] + ['AAAA'] + key[-1:])})
    assert str(exc) == 'private_key: does not parse as a private key (damaged, or not a key)'


def test_swapped_certificate_and_key(client):
    exc = errors_of({'certificate': client.key_pem(), 'private_key': client.cert_pem})
    assert [m for _p, m in exc.problems] == [
        'holds a private key, not a certificate (are certificate and private_key swapped?)',
        'holds a certificate, not a private key (are certificate and private_key swapped?)']


def test_public_key_openssh_key_and_two_keys_are_errors(client):
    public = client.key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    assert 'holds a public key' in str(errors_of({'certificate': client.cert_pem, 'private_key': public}))
    openssh = client.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                       serialization.NoEncryption()).decode()
    assert 'OpenSSH format' in str(errors_of({'certificate': client.cert_pem, 'private_key': openssh}))
    two = client.key_pem() + client.key_pem('pkcs1')
    assert 'holds 2 private keys' in str(errors_of({'certificate': client.cert_pem, 'private_key': two}))


def test_combined_pem_file_is_split_by_field(client):
    combined = client.cert_pem + client.key_pem()
    secrets = pki.secrets_from_pki({'certificate': combined, 'private_key': combined})[0]
    assert b64d(secrets['certificateData']) == client.cert_pem
    assert 'PRIVATE KEY' not in b64d(secrets['certificateData'])


# ------------------------------------------------------------------------------ block shape and spec checks

def test_block_shape_errors():
    assert pki.check_spec_pki('a string') == [
        ('', 'must be a mapping with certificate, private_key and optionally ca and private_key_passphrase', 'error')]
    assert pki.check_spec_pki({'ca': 'x', 'cert': 'y'}) == [
        ('/cert', 'unknown key; allowed: certificate, private_key, ca, private_key_passphrase', 'error'),
        ('/certificate', 'is required: Kibana needs both a certificate and a private key for PKI', 'error'),
        ('/private_key', 'is required: Kibana needs both a certificate and a private key for PKI', 'error')]
    assert pki.check_spec_pki({'certificate': 42, 'private_key': 'x'})[0] == (
        '/certificate', 'must be a string (PEM text or a file path), not int', 'error')


def test_check_spec_pki_gives_pointers_and_severities(ca, other_ca):
    soon = ca.issue('spec-soon', not_after=5)
    problems = pki.check_spec_pki({'certificate': soon.cert_pem, 'private_key': soon.key_pem(), 'ca': other_ca.cert_pem})
    assert [(p, s) for p, _m, s in problems] == [('/certificate', 'warning'), ('/ca', 'error')]
    assert all(not m.startswith('ca:') for _p, m, _s in problems)  # the pointer names the field
    assert pki.check_spec_pki({'certificate': soon.cert_pem, 'private_key': soon.key_pem()}, expiry_warning_days=1) == []


def test_inspect_pki_returns_material(client):
    material, facts, problems = pki.inspect_pki({'certificate': client.cert_pem, 'private_key': client.key_pem('pkcs1')})
    assert material['certificate'] == client.cert_pem
    assert material['private_key'] == client.key_pem('pkcs8')
    assert problems == [] and facts['subject']


def test_without_cryptography_the_error_says_so(monkeypatch, client):
    monkeypatch.setattr(pki, 'HAS_CRYPTOGRAPHY', False)
    exc = errors_of({'certificate': client.cert_pem, 'private_key': client.key_pem()})
    assert 'cryptography' in str(exc)


# ------------------------------------------------------------------------------ secrets never in messages

def test_no_message_ever_holds_key_material(ca, client, other_ca):
    cases = [
        {'certificate': client.cert_pem, 'private_key': client.key_pem('pkcs1')[:-40]},
        {'certificate': client.key_pem(), 'private_key': client.key_pem()},
        {'certificate': client.cert_pem, 'private_key': client.key_pem(), 'ca': client.key_pem()},
        {'certificate': ca.issue('x', not_after=-1, not_before=-5).cert_pem, 'private_key': client.key_pem(),
         'ca': other_ca.cert_pem},
        {'certificate': client.cert_pem, 'private_key': client.key_pem('pkcs8', passphrase='pass-pass'),
         'private_key_passphrase': 'wrong-wrong'},
        {'certificate': client.cert_pem, 'private_key': '\n'.join(client.key_pem('pkcs1').splitlines()[:-3] + [
            '-----END RSA PRIVATE KEY-----'])},
    ]
    for block in cases:
        problems = pki.check_spec_pki(block)
        assert any(s == 'error' for _p, _m, s in problems), block.keys()
        texts = [m for _p, m, _s in problems]
        assert_no_key_material(client, texts)
        assert not any('pass-pass' in t or 'wrong-wrong' in t for t in texts)


def test_b64encode_text():
    assert pki.b64encode_text('-----BEGIN X-----\n') == base64.b64encode(b'-----BEGIN X-----\n').decode()


def test_factory_certificates_are_what_they_claim(ca, client):
    assert client.cert.issuer == ca.cert.subject
    assert isinstance(client.cert, x509.Certificate)
