"""connector_spec and playbooks/validate.yml for real: files, every error, exit codes, no secret in output."""
import os
import subprocess
import sys
import tempfile

import pytest

import harness

pytestmark = pytest.mark.integration

VALIDATE = os.path.join(harness.ROOT, 'playbooks', 'validate.yml')
VALID_DIR = os.path.join(harness.ROOT, 'tests', 'data', 'valid_specs')
CANARY = 'CANARY-spec-secret-4f1c2e'
CANARY_2 = 'CANARY-spec-secret-9a7b3d'

BAD_FILE = """\
# two mistakes in the first document, one in the third; the second is fine
connector_id: llm
name: Local LLM
connector_type_id: .gen-ai
config:
  apiProvider: Other
  apiUrl: llm.example.com/v1/chat/completions
secrets:
  apiKey: %s
---
connector_id: ok-slack
name: Slack
connector_type_id: .slack
secrets:
  webhookUrl: https://hooks.slack.com/services/T0/B0/%s
---
connector_id: hook
name: Hook
connector_type_id: .webhook
config:
  url: https://hooks.example.com
  methd: post
""" % (CANARY, CANARY_2)


@pytest.fixture
def spec_dir():
    with tempfile.TemporaryDirectory(prefix='kgc-specs-') as tmp:
        os.makedirs(os.path.join(tmp, 'connectors', 'nested'))
        with open(os.path.join(tmp, 'connectors', 'bad.yml'), 'w') as f:
            f.write(BAD_FILE)
        with open(os.path.join(tmp, 'connectors', 'nested', 'broken.yaml'), 'w') as f:
            f.write('connector_id: x\nname: [unclosed\n')
        with open(os.path.join(tmp, 'connectors', 'notes.txt'), 'w') as f:
            f.write('not a spec')
        yield tmp


def test_validate_playbook_passes_on_valid_specs():
    result = harness.run_playbook(VALIDATE, extra_vars={'spec_paths': [VALID_DIR]})
    assert result.rc == 0, result
    assert '31 connector spec(s) in 5 file(s)' in result.output


@pytest.mark.parametrize('verbosity', [0, 3])
def test_validate_playbook_lists_every_error_and_fails(spec_dir, verbosity):
    bad = os.path.join(spec_dir, 'connectors')
    result = harness.run_playbook(VALIDATE, extra_vars={'spec_paths': bad}, verbosity=verbosity,
                                  canaries=[CANARY, CANARY_2])
    assert result.rc != 0, result
    bad_file = os.path.join(bad, 'bad.yml')
    assert '%s document 0, connector llm: config.apiUrl' % bad_file in result.output
    assert '%s document 0, connector llm: config.defaultModel' % bad_file in result.output
    assert '%s document 2, connector hook: config.methd' % bad_file in result.output
    assert 'did you mean method?' in result.output
    assert 'broken.yaml' in result.output and 'YAML syntax error at line' in result.output
    assert 'connector ok-slack' not in result.output
    assert '4 error(s)' in result.output


def test_a_missing_path_is_named():
    result = harness.run_playbook(VALIDATE, extra_vars={'spec_paths': 'connectors/nope.yml'})
    assert result.rc != 0 and 'connectors/nope.yml: no such file or directory' in result.output, result


def test_module_with_inline_specs_returns_errors_without_secrets():
    playbook = """
- hosts: localhost
  gather_facts: false
  tasks:
    - kibana_gitops.connectors.connector_spec:
        specs:
          - connector_id: llm
            name: LLM
            connector_type_id: .gen-ai
            config: {apiProvider: OpenAI, apiUrl: "https://api.openai.com/v1/chat/completions", tmperature: 1}
            secrets: {apiKey: %s, extra: %s}
          - name: no-id
            connector_type_id: .server-log
        fail_on_error: false
      register: r
    - ansible.builtin.assert:
        that:
          - not r.valid
          - r.errors | map(attribute='path') | sort | list == ['/config/tmperature', '/secrets/extra']
          - r.warnings_found | map(attribute='path') | list == ['/connector_id']
          - "r.specs[0].secrets.apiKey == '<secret: not shown>'"
          - r.specs[1].space_id == 'default'
    - kibana_gitops.connectors.connector_spec:
        specs: [{name: no-id, connector_type_id: .server-log}]
        strict: true
      register: strict
      ignore_errors: true
    - ansible.builtin.assert:
        that:
          - strict is failed
          - "'connector_id is not set' in strict.msg"
""" % (CANARY, CANARY_2)
    result = harness.run_playbook(playbook, verbosity=3, canaries=[CANARY, CANARY_2])
    assert result.rc == 0, result


def test_connector_module_writes_nothing_for_an_invalid_spec(kibana_sim_factory):
    sim = kibana_sim_factory('--api-key', 'k')
    playbook = """
- hosts: localhost
  gather_facts: false
  tasks:
    - kibana_gitops.connectors.connector:
        connector_id: llm
        name: LLM
        connector_type_id: .gen-ai
        config: {apiProvider: Other, apiUrl: "https://llm.example.com/v1"}
        secrets: {apiKey: %s}
""" % CANARY
    result = harness.run_playbook(playbook, env={'KIBANA_URL': sim.url, 'KIBANA_API_KEY': 'k'}, canaries=[CANARY])
    assert result.rc != 0 and 'config.defaultModel is required' in result.output, result
    assert sim.stats()['total'] == 0  # not even a read: validation comes first
    assert sim.api('GET', '/api/actions/connectors', api_key='k')[1] == []


def test_ansible_doc_renders_the_module():
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-doc'),
                           'kibana_gitops.connectors.connector_spec'],
                          env=harness.ansible_env(), capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    for word in ('connector_spec', 'fail_on_error', 'strict', 'paths', 'report_lines', 'check_mode'):
        assert word in proc.stdout, word


def test_validate_playbook_per_kibana_release(tmp_path):
    """Terraform's name-only Slack channels (tf-011): refused for 9.2 with the release that accepts them."""
    (tmp_path / 'slack.yml').write_text(
        'connector_id: slack-api\nname: Slack API\nconnector_type_id: .slack_api\n'
        'config:\n  allowedChannels:\n    - name: "#alerts"\nsecrets:\n  token: %s\n' % CANARY)
    old = harness.run_playbook(VALIDATE, extra_vars={'spec_paths': [str(tmp_path)], 'kibana_version': '9.2.0'},
                               canaries=[CANARY])
    assert old.rc != 0, old
    assert 'config.allowedChannels[0].id is required (Kibana 9.2.0 refuses it; 9.3.0 is the first release that ' \
        'accepts it)' in old.output, old
    new = harness.run_playbook(VALIDATE, extra_vars={'spec_paths': [str(tmp_path)], 'kibana_version': '9.3'},
                               canaries=[CANARY])
    assert new.rc == 0 and 'are valid for Kibana 9.3.0' in new.output, new
    default = harness.run_playbook(VALIDATE, extra_vars={'spec_paths': [str(tmp_path)]}, canaries=[CANARY])
    assert default.rc == 0 and 'the newest release the collection knows' in default.output, default
