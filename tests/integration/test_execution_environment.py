"""AWX / Automation Platform: the execution environment and the Kibana credential type of docs/awx/.

No container engine here: `ansible-builder create` writes the build context, then the test replays what the
image build does with it (the galaxy stage's collection install from the context, and the builder stage's
`introspect.py`) and checks that the collection's Python requirements come out. The credential type's
injectors are rendered as AWX renders them and a module runs with the resulting environment.
"""
import os
import shutil
import subprocess
import sys

import jinja2
import pytest
import yaml

import harness

pytestmark = pytest.mark.integration

AWX = os.path.join(harness.ROOT, 'docs', 'awx')
BIN = os.path.dirname(sys.executable)


def run(cmd, cwd, env=None):
    proc = subprocess.run(cmd, cwd=str(cwd), env=env or harness.ansible_env(), capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, '%s\n%s\n%s' % (cmd, proc.stdout[-3000:], proc.stderr[-3000:])
    return proc.stdout


def test_ansible_builder_context_installs_the_collection_and_its_python_requirements(tmp_path):
    work = tmp_path / 'ee'
    work.mkdir()
    for name in ('execution-environment.yml', 'requirements.yml'):
        shutil.copy(os.path.join(AWX, name), str(work / name))
    # the tarball the EE definition names, built from this checkout
    run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', '--output-path', str(work), harness.ROOT], work)
    definition = yaml.safe_load((work / 'execution-environment.yml').read_text())
    tarball = definition['additional_build_files'][0]['src']
    assert (work / tarball).is_file(), sorted(os.listdir(str(work)))

    run([os.path.join(BIN, 'ansible-builder'), 'create', '--file', 'execution-environment.yml',
         '--context', 'context', '--output-filename', 'Containerfile'], work)
    build = work / 'context' / '_build'
    containerfile = (work / 'context' / 'Containerfile').read_text()
    assert 'ansible-galaxy collection install' in containerfile and 'introspect.py introspect' in containerfile
    assert (build / 'galaxy' / tarball).is_file()

    # galaxy stage: `ansible-galaxy collection install -r requirements.yml` in the context's _build
    collections = tmp_path / 'usr-share-ansible'
    # (the image has no other copy of the collection: this checkout is not on the collections path here)
    run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '-r', 'requirements.yml',
         '--collections-path', str(collections)], build, env=harness.ansible_env({'ANSIBLE_COLLECTIONS_PATH': str(collections)}))
    installed = collections / 'ansible_collections' / harness.NAMESPACE / harness.NAME
    assert (installed / 'meta' / 'execution-environment.yml').is_file()
    # builder stage: the context's own introspect.py over the installed collections
    out = tmp_path / 'requirements.txt'
    run([sys.executable, str(build / 'scripts' / 'introspect.py'), 'introspect', str(collections),
         '--write-pip', str(out)], build)
    wanted = {}
    with open(os.path.join(harness.ROOT, 'requirements.txt')) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if line:
                wanted[line.split('>')[0].split('=')[0].strip().lower()] = line
    found = out.read_text()
    for name, line in wanted.items():
        assert line in found and '# from collection %s' % harness.FQCN in found, found
    assert set(wanted) == {'requests', 'jsonschema', 'cryptography'}


def test_credential_type_injects_what_the_modules_read(kibana_sim_factory):
    with open(os.path.join(AWX, 'kibana-credential-type.yml')) as f:
        (credential_type,) = yaml.safe_load(f)['credential_types']
    fields = {field['id']: field for field in credential_type['inputs']['fields']}
    assert fields['api_key'].get('secret') is True
    assert set(credential_type['inputs']['required']) <= set(fields)
    # AWX renders each injector as a Jinja template of the credential's inputs
    key = 'awx-credential-api-key'
    sim = kibana_sim_factory('--api-key', key)
    inputs = {'kibana_url': sim.url, 'api_key': key, 'proxy_url': ''}
    env_vars = dict((name, jinja2.Template(template, undefined=jinja2.StrictUndefined).render(**inputs))
                    for name, template in credential_type['injectors']['env'].items())
    assert set(env_vars) == {'KIBANA_URL', 'KIBANA_API_KEY', 'KIBANA_PROXY_URL'}
    play = harness.run_playbook('''
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Nothing but the credential's environment
      kibana_gitops.connectors.connector:
        connector_id: from-awx
        name: Made with the AWX credential
        connector_type_id: .server-log
''', env=env_vars, canaries=(key,))
    assert play.rc == 0, play
    status, body = sim.api('GET', '/api/actions/connector/from-awx', api_key=key)
    assert status == 200 and body['name'] == 'Made with the AWX credential', body
