"""pki_material and pem_b64encode in real ansible-playbook runs: files found like copy's src (role files/,
playbook folder), vault and DER files, every failure named by field, and the private key's text in no output
at -vvv with --diff."""
import base64
import hashlib
import os
import subprocess
import sys
import textwrap

import pytest

import harness
import pki_factory

pytestmark = pytest.mark.integration


def sha256(text):
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def key_canaries(issued, passphrase=None, extra=()):
    """Strings that must never be printed: every base64 line of the key in every format we hand out or
    produce, the base64 value Kibana gets (privateKeyData), and the passphrase."""
    canaries = set(extra)
    texts = [issued.key_pem('pkcs8'), issued.key_pem('pkcs1')]
    if passphrase:
        canaries.add(passphrase)
    for text in texts:  # key lines hold public parts too (the modulus): matched as given only (harness.Plain)
        canaries.update(harness.Plain(line) for line in text.splitlines()
                        if line and not line.startswith('-----') and ':' not in line)
    b64 = base64.b64encode(issued.key_pem('pkcs8').encode()).decode()
    canaries.update(b64[i:i + 48] for i in range(48, len(b64) - 48, 200))  # the encoded key, in pieces
    canaries.add(base64.b64encode(issued.key_der()).decode()[40:100])
    return sorted(canaries)


def project(tmp_path, playbook, files=None, role_files=None, role_tasks=None):
    """A playbook folder with files/ and, optionally, a role with its own files/."""
    (tmp_path / 'files').mkdir(exist_ok=True)
    for name, data in (files or {}).items():
        (tmp_path / name).write_bytes(data) if isinstance(data, bytes) else (tmp_path / name).write_text(data)
    if role_tasks is not None:
        (tmp_path / 'roles' / 'pkirole' / 'tasks').mkdir(parents=True)
        (tmp_path / 'roles' / 'pkirole' / 'files').mkdir()
        (tmp_path / 'roles' / 'pkirole' / 'tasks' / 'main.yml').write_text(textwrap.dedent(role_tasks))
        for name, data in (role_files or {}).items():
            (tmp_path / 'roles' / 'pkirole' / 'files' / name).write_text(data)
    path = tmp_path / 'site.yml'
    path.write_text(playbook)
    return str(path)


PLAY_HEAD = """\
- hosts: localhost
  connection: local
  gather_facts: false
"""


def play(body):
    """A one-play playbook on localhost; `body` holds the play's keys (tasks: …), indented as you like."""
    return PLAY_HEAD + textwrap.indent(textwrap.dedent(body), '  ')


@pytest.fixture(scope='module')
def ca():
    return pki_factory.CA('Integration Test CA')


@pytest.fixture(scope='module')
def client(ca):
    return ca.issue('kibana-client')


def test_files_from_the_playbook_folder_and_a_role_are_checked_and_encoded(tmp_path, ca, client):
    passphrase = 'integration-passphrase-7f3a'
    body = play("""\
          tasks:
            - name: material next to the playbook (key in files/, PKCS#1 and encrypted)
              kibana_gitops.connectors.pki_material:
                certificate: client.crt
                private_key: client.key
                ca: ca.crt
                private_key_passphrase: "{{ passphrase }}"
              register: material
            - name: the registered values are the files' PEM, the key as plain PKCS#8
              ansible.builtin.assert:
                that:
                  - (material.certificateData | b64decode | hash('sha256')) == cert_sha
                  - (material.caData | b64decode | hash('sha256')) == ca_sha
                  - (material.privateKeyData | b64decode | hash('sha256')) == key_sha
                  - material.secrets.privateKeyData == material.privateKeyData
                  - material.certificate_info.subject == 'CN=kibana-client,O=kibana_gitops tests'
                  - material.certificate_info.private_key_format == 'PKCS#1 (RSA PRIVATE KEY)'
                  - material.certificate_info.private_key_encrypted
                  - material is not changed
                quiet: true
            - ansible.builtin.include_role:
                name: pkirole
        """)
    playbook = project(
        tmp_path, body,
        files={'files/client.crt': client.cert_pem, 'files/client.key': client.key_pem('pkcs1', passphrase),
               'ca.crt': ca.cert_pem},
        role_files={'role-client.crt': client.cert_pem, 'role-client.key': client.key_pem()},
        role_tasks="""\
            - name: material in the role's files/
              kibana_gitops.connectors.pki_material:
                certificate: role-client.crt
                private_key: role-client.key
                return_private_key: false
              register: role_material
            - ansible.builtin.debug:
                var: role_material
            - ansible.builtin.assert:
                that:
                  - role_material.privateKeyData is not defined
                  - (role_material.certificateData | b64decode | hash('sha256')) == cert_sha
                quiet: true
        """)
    result = harness.run_playbook(playbook, verbosity=3, diff=True,
                                  extra_vars={'passphrase': passphrase, 'cert_sha': sha256(client.cert_pem),
                                              'ca_sha': sha256(ca.cert_pem), 'key_sha': sha256(client.key_pem('pkcs8'))},
                                  canaries=key_canaries(client, passphrase))
    assert result.rc == 0, result
    # the task that returns the key is hidden from the output; the one without it is not
    assert result.output.count("the output has been hidden due to the fact that 'no_log: true' was specified") == 1
    assert '"subject": "CN=kibana-client,O=kibana_gitops tests"' in result.output
    assert '"private_key": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"' in result.output


def test_vault_encrypted_key_and_der_certificate(tmp_path, ca, client):
    vault_pass = tmp_path / 'vault-pass'
    vault_pass.write_text('vault-secret-for-tests\n')
    playbook = project(tmp_path, play("""\
          tasks:
            - kibana_gitops.connectors.pki_material:
                certificate: client.der
                private_key: client.key.vault
              register: material
            - ansible.builtin.assert:
                that:
                  - (material.certificateData | b64decode | hash('sha256')) == cert_sha
                  - (material.privateKeyData | b64decode | hash('sha256')) == key_sha
                quiet: true
        """), files={'files/client.der': client.cert_der, 'files/client.key.vault': client.key_pem()})
    subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-vault'), 'encrypt', '--vault-password-file',
                    str(vault_pass), str(tmp_path / 'files' / 'client.key.vault')], check=True, capture_output=True,
                   env=harness.ansible_env())
    assert b'$ANSIBLE_VAULT' in (tmp_path / 'files' / 'client.key.vault').read_bytes()
    result = harness.run_playbook(playbook, verbosity=3, args=['--vault-password-file', str(vault_pass)],
                                  extra_vars={'cert_sha': sha256(client.cert_pem), 'key_sha': sha256(client.key_pem())},
                                  canaries=key_canaries(client))
    assert result.rc == 0, result


def test_every_bad_case_fails_naming_the_field_and_never_the_key(tmp_path, ca, client):
    other_ca = pki_factory.CA('Another CA')
    expired = ca.issue('expired-client', not_before=-30, not_after=-1)
    future = ca.issue('future-client', not_before=5, not_after=60)
    stranger = pki_factory.new_key('rsa')
    cases = {
        # name: (certificate file, key file, ca file or None, passphrase or None, expected message start)
        'expired': ('expired.crt', 'client.key', None, None, 'certificate: CN=expired-client'),
        'not_yet_valid': ('future.crt', 'client.key', None, None, 'certificate: CN=future-client'),
        'mismatch': ('client.crt', 'stranger.key', None, None, 'private_key: does not match the certificate'),
        'other_ca': ('client.crt', 'client.key', 'other-ca.crt', None, 'ca: did not issue the certificate'),
        'garbage': ('garbage.crt', 'client.key', None, None, 'certificate: '),  # found on the controller: named
        'garbage_inline': ('"not a certificate"', 'client.key', None, None, 'certificate: is not PEM text'),
        'missing': ('no-such-file.crt', 'client.key', None, None, 'certificate: is not PEM text'),
        'encrypted_no_pass': ('client.crt', 'encrypted.key', None, None, 'private_key: is encrypted'),
        'wrong_pass': ('client.crt', 'encrypted.key', None, 'the-wrong-passphrase', 'private_key: could not be decrypted'),
    }
    tasks = []
    for name, (cert, key, ca_file, passphrase, _expected) in sorted(cases.items()):
        tasks.append(textwrap.dedent("""\
            - name: case {name}
              kibana_gitops.connectors.pki_material:
                certificate: {cert}
                private_key: {key}
                ca: {ca}
                private_key_passphrase: {passphrase}
              register: case_{name}
              ignore_errors: true
            """).format(name=name, cert=cert, key=key, ca=ca_file or 'null', passphrase=passphrase or 'null'))
    checks = ['case_%s is failed and case_%s.msg.startswith(%r)' % (n, n, c[4]) for n, c in sorted(cases.items())]
    tasks.append('- ansible.builtin.assert:\n    that:\n%s\n' % '\n'.join('      - "%s"' % c for c in checks))
    playbook = project(tmp_path, PLAY_HEAD + '  tasks:\n' + textwrap.indent(''.join(tasks), '    '), files={
        'files/client.crt': client.cert_pem, 'files/client.key': client.key_pem(), 'files/expired.crt': expired.cert_pem,
        'files/future.crt': future.cert_pem, 'files/stranger.key': pki_factory.key_pem(stranger),
        'files/other-ca.crt': other_ca.cert_pem, 'files/garbage.crt': 'this is not a certificate\n',
        'files/encrypted.key': client.key_pem('pkcs8', passphrase='the-right-passphrase')})
    stranger_lines = [harness.Plain(line) for line in pki_factory.key_pem(stranger).splitlines() if not line.startswith('-----')]
    result = harness.run_playbook(playbook, verbosity=3, diff=True,
                                  canaries=key_canaries(client, 'the-right-passphrase', extra=stranger_lines))
    assert result.rc == 0, result
    assert result.output.count('...ignoring') == len(cases)
    assert 'garbage.crt holds neither PEM text (no -----BEGIN line) nor DER data' in result.output


def test_near_expiry_is_an_ansible_warning(tmp_path, ca):
    soon = ca.issue('expiring-client', not_after=10)
    playbook = project(tmp_path, play("""\
          tasks:
            - kibana_gitops.connectors.pki_material:
                certificate: soon.crt
                private_key: soon.key
                expiry_warning_days: 30
              register: material
            - ansible.builtin.assert:
                that: material.certificate_info.days_left == 9
        """), files={'files/soon.crt': soon.cert_pem, 'files/soon.key': soon.key_pem()})
    result = harness.run_playbook(playbook, canaries=key_canaries(soon))
    assert result.rc == 0, result
    assert '[WARNING]: certificate: CN=expiring-client,O=kibana_gitops tests expires in 9 days' in result.output


def test_inline_pem_from_variables_and_the_filter(tmp_path, client):
    playbook = project(tmp_path, play("""\
          tasks:
            - kibana_gitops.connectors.pki_material:
                certificate: "{{ cert_pem }}"
                private_key: "{{ key_pem }}"
              register: material
            - name: the filter gives what Kibana expects for material built by hand
              ansible.builtin.assert:
                that:
                  - (cert_pem | kibana_gitops.connectors.pem_b64encode('CERTIFICATE')) == material.certificateData
                quiet: true
            - name: the filter refuses text that is not PEM
              ansible.builtin.set_fact:
                refused: "{{ 'definitely not pem' | kibana_gitops.connectors.pem_b64encode }}"
              register: refusal
              ignore_errors: true
            - ansible.builtin.assert:
                that:
                  - refusal is failed
                  - "'is not PEM text' in refusal.msg"
        """))
    result = harness.run_playbook(playbook, verbosity=3, diff=True,
                                  extra_vars={'cert_pem': client.cert_pem, 'key_pem': client.key_pem()},
                                  canaries=key_canaries(client))
    assert result.rc == 0, result
