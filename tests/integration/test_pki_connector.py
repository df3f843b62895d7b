"""`pki:` on the connector and connectors modules against the Kibana simulator.

A `.gen-ai` connector with provider Other is created from PEM files next to the playbook (and
in a role's files/); the secrets the simulator stored are read out of band (/_sim/) and decoded
and compared with the files. Bad material stops the run before any request reaches Kibana, and
the private key's text is in no output at -vvv with --diff.
"""
import base64
import os
import textwrap

import pytest
from cryptography.hazmat.primitives import serialization

import harness
import pki_factory

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not os.path.exists(os.path.join(harness.ROOT, 'plugins', 'modules', 'connector.py')),
                       reason='the connector module does not exist yet'),
]

API_KEY = 'pki-it-api-key'
PASSPHRASE = 'pki-it-key-passphrase-51d0'
CONFIG = {'apiProvider': 'Other', 'apiUrl': 'https://llm-gw.example.com/v1/chat/completions',
          'defaultModel': 'llama3.1', 'verificationMode': 'full'}


@pytest.fixture(scope='module')
def ca():
    return pki_factory.CA('Connector PKI Test CA')


@pytest.fixture(scope='module')
def client(ca):
    return ca.issue('kibana-llm-client')


def canaries(*issued):
    found = {PASSPHRASE}
    for item in issued:
        for fmt in ('pkcs8', 'pkcs1'):
            found.update(harness.Plain(line) for line in item.key_pem(fmt).splitlines() if line and not line.startswith('-----'))
        encoded = base64.b64encode(item.key_pem('pkcs8').encode()).decode()  # what Kibana stores
        found.update(encoded[i:i + 48] for i in range(48, len(encoded) - 48, 200))
    return sorted(found)


def spki(key):
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def write_project(tmp_path, tasks, files):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    playbook = tmp_path / 'site.yml'
    playbook.write_text(textwrap.dedent("""\
        - hosts: localhost
          connection: local
          gather_facts: false
          module_defaults:
            group/kibana_gitops.connectors.kibana:
              kibana_url: "{{ kibana_url }}"
              api_key: "{{ kibana_api_key }}"
              retries: 0
          tasks:
        """) + textwrap.indent(textwrap.dedent(tasks), '    '))
    return str(playbook)


def connector_task(certificate='client.crt', private_key='client.key', ca_file='ca.crt', passphrase=True,
                   connector_id='local-llm-mtls'):
    return textwrap.dedent("""\
        - name: local LLM with a client certificate
          kibana_gitops.connectors.connector:
            connector_id: {connector_id}
            name: Local LLM (mTLS)
            connector_type_id: .gen-ai
            config: {config}
            pki:
              certificate: {certificate}
              private_key: {private_key}
              ca: {ca}
              private_key_passphrase: {passphrase}
          register: created
        """).format(connector_id=connector_id, config=CONFIG, certificate=certificate, private_key=private_key,
                    ca=ca_file, passphrase='"{{ key_passphrase }}"' if passphrase else 'null')


def play(kibana, playbook, **kwargs):
    extra = {'kibana_url': kibana.url, 'kibana_api_key': API_KEY, 'key_passphrase': PASSPHRASE}
    return harness.run_playbook(playbook, extra_vars=extra, **kwargs)


def assert_stored_matches(kibana, connector_id, client, ca):
    stored = kibana.stored_secrets(connector_id)
    assert stored is not None, 'no secrets stored for %s' % connector_id
    assert base64.b64decode(stored['certificateData']).decode() == client.cert_pem
    assert base64.b64decode(stored['caData']).decode() == ca.cert_pem
    key_text = base64.b64decode(stored['privateKeyData']).decode()
    assert key_text.startswith('-----BEGIN PRIVATE KEY-----\n')  # PKCS#8, unencrypted, whatever the file was
    assert spki(serialization.load_pem_private_key(key_text.encode(), None)) == spki(client.key)
    assert 'apiKey' not in stored


def test_genai_other_connector_from_pki_files(kibana_sim_factory, tmp_path, ca, client):
    kibana = kibana_sim_factory('--api-key', API_KEY)
    playbook = write_project(tmp_path, connector_task(), {
        'files/client.crt': client.cert_pem, 'files/client.key': client.key_pem('pkcs1', PASSPHRASE),
        'ca.crt': ca.cert_pem})
    first = play(kibana, playbook, verbosity=3, diff=True, canaries=canaries(client))
    assert first.rc == 0, first
    assert 'changed: [localhost]' in first.output
    assert_stored_matches(kibana, 'local-llm-mtls', client, ca)

    kibana.reset_stats()
    second = play(kibana, playbook, verbosity=3, diff=True, canaries=canaries(client))
    assert second.rc == 0, second
    assert 'changed=0' in second.output
    assert kibana.writes() == 0


def test_connectors_module_with_role_files(kibana_sim_factory, tmp_path, ca, client):
    kibana = kibana_sim_factory('--api-key', API_KEY)
    tasks = """\
        - ansible.builtin.include_role:
            name: llm
        """
    role_tasks = textwrap.dedent("""\
        - name: the set, pki files from the role's files/
          kibana_gitops.connectors.connectors:
            space_id: default
            specs:
              - connector_id: llm-a
                name: LLM A
                connector_type_id: .gen-ai
                config: {config}
                pki:
                  certificate: client.crt
                  private_key: client.key
                  ca: ca.crt
        """).format(config=CONFIG)
    playbook = write_project(tmp_path, tasks, {
        'roles/llm/tasks/main.yml': role_tasks, 'roles/llm/files/client.crt': client.cert_pem,
        'roles/llm/files/client.key': client.key_pem('pkcs8'), 'roles/llm/files/ca.crt': ca.cert_pem})
    result = play(kibana, playbook, verbosity=3, diff=True, canaries=canaries(client))
    assert result.rc == 0, result
    assert_stored_matches(kibana, 'llm-a', client, ca)


@pytest.mark.parametrize('case', ['expired', 'mismatched_key', 'other_ca', 'encrypted_without_passphrase'])
def test_bad_material_stops_the_run_before_any_request(kibana_sim_factory, tmp_path, ca, client, case):
    kibana = kibana_sim_factory('--api-key', API_KEY)
    expired = ca.issue('expired-llm-client', not_before=-40, not_after=-3)
    stranger = pki_factory.new_key('rsa')
    files = {'files/client.crt': client.cert_pem, 'files/client.key': client.key_pem('pkcs1', PASSPHRASE),
             'files/ca.crt': ca.cert_pem, 'files/expired.crt': expired.cert_pem,
             'files/stranger.key': pki_factory.key_pem(stranger),
             'files/other-ca.crt': pki_factory.CA('Unrelated CA').cert_pem}
    task, expected = {
        'expired': (connector_task(certificate='expired.crt', passphrase=False, private_key='stranger.key'),
                    'certificate: CN=expired-llm-client'),
        'mismatched_key': (connector_task(private_key='stranger.key', passphrase=False),
                           'private_key: does not match the certificate'),
        'other_ca': (connector_task(ca_file='other-ca.crt'), 'ca: did not issue the certificate'),
        'encrypted_without_passphrase': (connector_task(passphrase=False), 'private_key: is encrypted'),
    }[case]
    playbook = write_project(tmp_path, task, files)
    stranger_lines = [harness.Plain(line) for line in pki_factory.key_pem(stranger).splitlines() if not line.startswith('-----')]
    result = play(kibana, playbook, verbosity=3, diff=True, canaries=canaries(client) + stranger_lines)
    assert result.rc != 0, result
    assert expected in result.output
    assert 'nothing was sent to Kibana' in result.output
    assert kibana.stats()['total'] == 0  # not even GET /api/status
    assert kibana.stored_secrets('local-llm-mtls') is None


def test_kibana_without_pki_support_is_refused_before_writing(kibana_sim_factory, tmp_path, ca, client):
    kibana = kibana_sim_factory('--api-key', API_KEY, '--kibana-version', '8.18.2')
    playbook = write_project(tmp_path, connector_task(), {
        'files/client.crt': client.cert_pem, 'files/client.key': client.key_pem('pkcs1', PASSPHRASE),
        'files/ca.crt': ca.cert_pem})
    result = play(kibana, playbook, canaries=canaries(client))
    assert result.rc != 0, result
    assert 'Kibana 8.18.2 refuses it; 8.19.0 is the first release that accepts it' in result.output
    assert kibana.writes() == 0
    assert kibana.stats()['paths'].get('GET /api/status') == 1


def test_connector_spec_runs_the_same_checks_on_pki_files(tmp_path, ca, client):
    expired = ca.issue('expired-spec-client', not_before=-40, not_after=-3)
    tasks = """\
        - name: validate specs whose pki files sit next to the playbook
          kibana_gitops.connectors.connector_spec:
            fail_on_error: false
            specs:
              - connector_id: good
                name: Good
                connector_type_id: .gen-ai
                config: {config}
                pki: {{certificate: client.crt, private_key: client.key, ca: ca.crt}}
              - connector_id: expired
                name: Expired
                connector_type_id: .gen-ai
                config: {config}
                pki: {{certificate: expired.crt, private_key: client.key, ca: other-ca.crt}}
          register: checked
        - ansible.builtin.assert:
            that:
              - not checked.valid
              - checked.errors | map(attribute='connector') | unique == ['expired']
              - checked.errors | map(attribute='path') | list == ['/pki/certificate', '/pki/ca']
            quiet: true
        """.format(config=CONFIG)
    playbook = write_project(tmp_path, tasks, {
        'files/client.crt': client.cert_pem, 'files/client.key': client.key_pem(), 'files/ca.crt': ca.cert_pem,
        'files/expired.crt': expired.cert_pem, 'files/other-ca.crt': pki_factory.CA('Spec Other CA').cert_pem})
    result = harness.run_playbook(playbook, verbosity=3, diff=True, extra_vars={'kibana_url': 'unused', 'kibana_api_key': 'unused'},
                                  canaries=canaries(client))
    assert result.rc == 0, result


def test_connector_test_reads_pki_files_from_the_playbook_folder(tmp_path, ca, client):
    """The relative path resolves on the controller (else the message would be 'not a file that exists'),
    and the expired certificate is reported for that connector before anything is probed."""
    expired = ca.issue('expired-probe-client', not_before=-40, not_after=-3)
    tasks = """\
        - kibana_gitops.connectors.connector_test:
            via: direct
            fail_on_error: false
            specs:
              - connector_id: probe-expired
                name: Probe
                connector_type_id: .gen-ai
                config: {config}
                pki: {{certificate: expired.crt, private_key: client.key}}
          register: tested
        - ansible.builtin.assert:
            that:
              - tested.results[0].status == 'failed'
              - "'pki: certificate: CN=expired-probe-client' in tested.results[0].stages[0].detail"
              - "'expired on' in tested.results[0].stages[0].detail"
            quiet: true
        """.format(config=CONFIG)
    playbook = write_project(tmp_path, tasks, {'files/expired.crt': expired.cert_pem, 'files/client.key': client.key_pem()})
    result = harness.run_playbook(playbook, verbosity=3, extra_vars={'kibana_url': 'unused', 'kibana_api_key': 'unused'},
                                  canaries=canaries(client))
    assert result.rc == 0, result
