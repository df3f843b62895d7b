"""The collection as a user gets it: build the tarball, install it into a temporary collections path with
the README's own install command, write the README's files into a temporary folder of the user's and run
the README's commands there, exactly as written, against the Kibana and OpenAI simulators.

Checks where files land (the user's folder, never the installed collection) and Kibana's state out of band.
"""
import os
import re
import subprocess
import sys

import pytest
import yaml

import harness

pytestmark = pytest.mark.integration

KIBANA_KEY = 'CANARY-installed-kibana-key-7f3a'
LLM_KEY = 'CANARY-installed-llm-key-91c2'
README_LLM_URL = 'http://llm.internal.example:8000'


def readme_section(title):
    with open(os.path.join(harness.ROOT, 'README.md')) as f:
        text = f.read()
    start = text.index(title)
    end = re.search(r'^#{2,3} ', text[start + len(title):], re.M)
    return text[start:start + len(title) + (end.start() if end else len(text))]


def code_blocks(section):
    """(language, text) of every fenced block of a README section."""
    return re.findall(r'^```(\w*)\n(.*?)^```', section, re.M | re.S)


def commands(block):
    """The command lines of a bash block, without comments."""
    lines = [line.split(' #')[0].strip() for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith('#')]


def user_files(section):
    """The README's YAML files: a block whose first line is '# <relative path>'."""
    files = {}
    for lang, text in code_blocks(section):
        first = text.splitlines()[0]
        if lang == 'yaml' and re.match(r'^# [\w./-]+\.yml$', first):
            files[first[2:]] = text
    return files


def tree(path):
    found = set()
    for folder, dirs, names in os.walk(path):
        dirs[:] = [d for d in dirs if d != '__pycache__']
        found.update(os.path.relpath(os.path.join(folder, n), path) for n in names)
    return found


def run(line, cwd, env):
    proc = subprocess.run(['bash', '-c', line], cwd=str(cwd), env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    output = proc.stdout + proc.stderr
    for canary in (KIBANA_KEY, LLM_KEY):
        assert canary not in output, 'secret canary leaked by %r' % line
    assert proc.returncode == 0, '%s\nrc=%s\n%s' % (line, proc.returncode, output[-6000:])
    return output


def test_readme_commands_from_a_users_folder_with_the_installed_tarball(kibana_sim_factory, openai_sim_factory,
                                                                        tmp_path):
    kibana = kibana_sim_factory('--api-key', KIBANA_KEY)
    llm = openai_sim_factory('--api-key', LLM_KEY, '--model', 'llama3.1')
    collections = tmp_path / 'collections'
    env = harness.ansible_env({
        'ANSIBLE_COLLECTIONS_PATH': str(collections),
        'PATH': os.path.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', ''),
        # what the README's export line sets
        'KIBANA_URL': kibana.url, 'KIBANA_API_KEY': KIBANA_KEY, 'LLM_API_KEY': LLM_KEY,
    })
    # the README's inventory chooses the interpreter itself (ansible_playbook_python), as a user's would
    env.pop('ANSIBLE_PYTHON_INTERPRETER')

    # build, then the README's install command in the folder that holds the tarball
    dist = tmp_path / 'dist'
    run('ansible-galaxy collection build --output-path %s %s' % (dist, harness.ROOT), tmp_path, env)
    install_lines = [c for c in commands(code_blocks(readme_section('## Install'))[0][1])
                     if c.startswith('ansible-galaxy collection install') and '.tar.gz' in c]
    assert len(install_lines) == 1, install_lines
    run(install_lines[0], dist, env)
    installed = collections / 'ansible_collections' / harness.NAMESPACE / harness.NAME
    assert (installed / 'MANIFEST.json').is_file()
    before = tree(str(installed))
    assert not [p for p in before if p.startswith(('tests/output', '.build', '.venv', 'bench-output'))], before

    # the user's folder, with the README's files (the example LLM address replaced by the simulator's)
    section = readme_section('### Your first run, from your own folder')
    files = user_files(section)
    assert set(files) >= {'inventory/hosts.yml', 'site.yml'}, files
    home = tmp_path / 'my-connectors'
    for name, text in files.items():
        path = home / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace(README_LLM_URL, llm.url))
    specs = [yaml.safe_load(t) for n, t in files.items() if n.startswith('connectors/')]
    wanted = {s['connector_id'] for s in specs}

    lines = commands([t for lang, t in code_blocks(section) if lang == 'bash'][0])
    exported = [c for c in lines if c.startswith('export ')]
    assert exported and all(v in exported[0] for v in ('KIBANA_URL=', 'KIBANA_API_KEY=', 'LLM_API_KEY='))
    plays = [c for c in lines if not c.startswith('export ')]
    names = [(re.search(r'kibana_gitops\.connectors\.\w+', c) or re.search(r'\S+\.yml', c)).group(0) for c in plays]
    assert names == ['kibana_gitops.connectors.validate', 'kibana_gitops.connectors.apply',
                     'kibana_gitops.connectors.drift', 'kibana_gitops.connectors.test',
                     'kibana_gitops.connectors.export', 'site.yml'], names
    outputs = {}
    for name, line in zip(names, plays):
        outputs[name.rsplit('.', 1)[-1] if name != 'site.yml' else 'site'] = run(line, home, env)
        if name.endswith('.apply'):
            # Kibana's state, read as another client would
            status, body = kibana.api('GET', '/api/actions/connectors', api_key=KIBANA_KEY)
            assert status == 200 and {c['id'] for c in body} == wanted, body
            assert kibana.stored_secrets('gitops-local-llm') == {'apiKey': LLM_KEY}

    assert '%d connector spec(s) in %d file(s)' % (len(specs), len(specs)) in outputs['validate']
    # the test playbook's reports and the export land in the user's folder
    reports = home / 'connector-test-reports'
    assert sorted(p.name for p in reports.iterdir()) == ['kibana-dev-default.md', 'kibana-dev-default.xml']
    assert '| gitops-local-llm | default | kibana | ok |' in (reports / 'kibana-dev-default.md').read_text()
    export = home / 'exported' / 'kibana-dev' / 'default'
    assert {p.stem for p in export.glob('*.yml')} == wanted
    assert LLM_KEY not in ''.join(p.read_text() for p in export.glob('*.yml'))
    status, body = kibana.api('GET', '/api/actions/connector/first-server-log', api_key=KIBANA_KEY)
    assert status == 200 and body['name'] == 'My first connector', body
    # nothing was written inside the installed collection
    assert tree(str(installed)) == before


def test_ansible_doc_and_playbooks_from_the_checkout_root():
    """README, In a checkout: the root's ansible.cfg makes the checkout the collection for commands run there."""
    env = harness.ansible_env()
    env.pop('ANSIBLE_COLLECTIONS_PATH')  # only what ansible.cfg says
    env.pop('ANSIBLE_CONFIG', None)
    doc = run('ansible-doc kibana_gitops.connectors.connector', harness.ROOT, dict(env, PATH=os.path.dirname(
        sys.executable) + os.pathsep + env.get('PATH', '')))
    assert '> MODULE kibana_gitops.connectors.connector' in doc and 'proxy_url' in doc, doc[:2000]
    line = [c for c in commands(code_blocks(readme_section('### In a checkout'))[0][1]) if c.startswith('ansible-playbook')]
    assert len(line) == 1, line
    out = run(line[0], harness.ROOT, dict(env, PATH=os.path.dirname(sys.executable) + os.pathsep + env.get('PATH', '')))
    assert 'are valid' in out, out


def test_readme_git_install_command(tmp_path):
    """The README's install from git, with this repository (its committed HEAD) as the git server."""
    lines = [c for c in commands(code_blocks(readme_section('## Install'))[0][1])
             if c.startswith('ansible-galaxy collection install') and 'git+' in c]
    assert len(lines) == 1, lines
    line = re.sub(r"git\+https://[^']+?\.git,main", 'git+file://%s,HEAD' % harness.ROOT, lines[0])
    assert line != lines[0], lines[0]
    collections = tmp_path / 'collections'
    env = harness.ansible_env({'ANSIBLE_COLLECTIONS_PATH': str(collections),
                               'PATH': os.path.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', '')})
    run(line, tmp_path, env)
    installed = collections / 'ansible_collections' / harness.NAMESPACE / harness.NAME
    files = tree(str(installed))
    assert {'MANIFEST.json', 'meta/runtime.yml', 'meta/execution-environment.yml', 'requirements.txt'} <= files
    assert not [p for p in files if p.startswith(('.ci/', '.build/', 'tests/output/', 'ansible.cfg'))], sorted(files)
