"""Test harness shared by unit and integration tests.

* makes the checkout importable as ``ansible_collections.kibana_gitops.connectors`` (the repo
  root is the collection root, so a temp tree with a symlink stands in for the usual layout);
* starts the simulators as real processes on loopback and talks to their ``/_sim/`` API;
* runs real ``ansible-playbook`` processes and checks their output, and every file they wrote, for secret
  canaries: always the marker ``CANARY`` (test secrets are named CANARY-…), the values given in ``canaries``
  and the secret-looking values of the run's extra vars and environment; each as given, base64-encoded (at
  any byte alignment, as inside a basic-auth header) and URL-encoded.
"""
import base64
import json
import re
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import yaml

# Every test secret is named CANARY-…: the marker itself must never show up in any output or written file.
CANARY_MARK = 'CANARY'
# Keys whose values in extra vars / the environment are secrets (checked as canaries automatically)
SECRET_KEY = re.compile(r'api_?key|apikey|password|passphrase|secret|token|private_key|webhookurl', re.I)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
SIMULATORS = os.path.join(ROOT, 'tests', 'simulators')

with open(os.path.join(ROOT, 'galaxy.yml')) as _f:
    _GALAXY = yaml.safe_load(_f)
NAMESPACE, NAME = _GALAXY['namespace'], _GALAXY['name']
FQCN = '%s.%s' % (NAMESPACE, NAME)


def _collections_base():
    """Folder that contains ansible_collections/<ns>/<name> pointing at this checkout."""
    ac = os.path.dirname(os.path.dirname(ROOT))
    if (os.path.basename(ac) == 'ansible_collections' and os.path.basename(ROOT) == NAME
            and os.path.basename(os.path.dirname(ROOT)) == NAMESPACE):
        return os.path.dirname(ac)  # already laid out (ansible-test copies the checkout there)
    # a stable, git-ignored tree next to the checkout (also what `make demo` and ansible-doc use)
    base = os.path.join(ROOT, '.build', 'collections')
    link = os.path.join(base, 'ansible_collections', NAMESPACE, NAME)
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        try:
            os.symlink(ROOT, link)
        except FileExistsError:  # another test process made it first
            pass
    return base


COLLECTIONS_BASE = _collections_base()
if COLLECTIONS_BASE not in sys.path:
    sys.path.insert(0, COLLECTIONS_BASE)


def free_port():
    """A port that was free a moment ago (for servers that cannot print their own; simulators use --port 0)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Plain(str):
    """A canary matched only as given: a piece of encoded material (a line of a PEM key holds the public modulus,
    which the certificate carries too, so its base64 legitimately appears in certificateData)."""


def canary_forms(canary):
    """The forms a secret can leak in: as is, URL-encoded, and base64 at each of the three byte alignments
    (the part of the encoding that depends only on the canary, so a canary inside user:password is found)."""
    if isinstance(canary, Plain):
        return {str(canary)}
    raw = canary.encode('utf-8')
    found = {canary, urllib.parse.quote(canary, safe=''), urllib.parse.quote_plus(canary)}
    for skip in range(3):
        encoded = base64.b64encode(b'\0' * skip + raw).decode('ascii')
        start, end = -(-8 * skip // 6), 8 * (skip + len(raw)) // 6
        core = encoded[start:end]
        if len(core) >= 4:
            found.add(core)
            found.add(core.replace('+', '-').replace('/', '_'))
    return found


def secret_inputs(value, secret=False):
    """String values under secret-looking keys of a nested structure (extra vars, environment)."""
    found = set()
    if isinstance(value, dict):
        for key, item in value.items():
            found |= secret_inputs(item, secret or bool(SECRET_KEY.search(str(key))))
    elif isinstance(value, (list, tuple)):
        for item in value:
            found |= secret_inputs(item, secret)
    elif isinstance(value, str) and secret and len(value) >= 6 and '{{' not in value:
        found.add(value)
    return found


def assert_no_canary(text, canaries, where):
    for canary in set(canaries) | {CANARY_MARK}:
        for form in canary_forms(canary):
            at = text.find(form)
            # the context of the leak (not the leaked form itself) says which task or file printed it
            assert at < 0, 'secret canary %r leaked into %s (as %r), here: %r' % (
                canary, where, form, text[max(0, at - 300):at] + '<LEAK>' + text[at + len(form):at + len(form) + 80])


def written_files(*roots):
    """Every regular file under the given files/folders."""
    for root in roots:
        if os.path.isfile(root):
            yield root
        for folder, _dirs, files in os.walk(root):
            for name in files:
                yield os.path.join(folder, name)


def assert_no_canary_in_files(canaries, *roots):
    for path in written_files(*roots):
        with open(path, 'rb') as f:
            assert_no_canary(f.read().decode('latin-1'), canaries, 'the file %s' % path)


def drop_nulls(value):
    """The Terraform acceptance data as the provider sent it: null-valued keys removed (SanitizedValue),
    omitted objects as {}."""
    if isinstance(value, dict):
        return dict((k, drop_nulls(v)) for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def stop_process(proc):
    """Terminate a test process, killing it when it does not stop within 5 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class Simulator:
    """A simulator process (tests/simulators/<kind>) on a loopback port."""

    def __init__(self, kind, args=(), startup_timeout=15):
        self.kind = kind
        self.log = tempfile.NamedTemporaryFile(prefix='sim-%s-' % kind, suffix='.log', delete=False)
        # --port 0: the simulator binds a free port itself and prints it (no bind-and-release race)
        cmd = [sys.executable, os.path.join(SIMULATORS, kind), '--port', '0'] + list(args)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True)
        deadline = time.time() + startup_timeout
        line = ''
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if 'listening on' in line or self.proc.poll() is not None:
                break
        if 'listening on' not in line:
            logs = self.logs()  # read before stop() removes the log file
            self.stop()
            raise RuntimeError('%s simulator did not start: %s' % (kind, logs))
        self.url = line.strip().rsplit(' ', 1)[-1]
        self.port = int(self.url.rsplit(':', 1)[-1])

    def logs(self):
        with open(self.log.name) as f:
            return f.read()

    def stop(self):
        stop_process(self.proc)
        if self.proc.stdout:
            self.proc.stdout.close()
        try:
            os.unlink(self.log.name)
        except OSError:
            pass

    # --- out-of-band access: test-only /_sim/ API, and Kibana's API as another client would use it ---
    def api(self, method, path, body=None, api_key=None, username=None, password=None, space=None):
        """Kibana's API as a user (or a colleague clicking in the UI) would call it: (status, body)."""
        headers = {'kbn-xsrf': 'tests'}
        if api_key:
            headers['Authorization'] = 'ApiKey ' + api_key
        elif username:
            import base64
            headers['Authorization'] = 'Basic ' + base64.b64encode(('%s:%s' % (username, password)).encode()).decode()
        prefix = '/s/%s' % space if space and space != 'default' else ''
        return self.sim(method, prefix + path, body, headers)

    def sim(self, method, path, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {'Content-Type': 'application/json'}
        all_headers.update(headers or {})
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=all_headers)
        import ssl
        ctx = ssl._create_unverified_context()  # the simulator's own test certificate
        try:
            with urllib.request.urlopen(req, timeout=10, context=ctx) as resp:
                raw = resp.read()
                return resp.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, raw.decode()

    def stats(self):
        return self.sim('GET', '/_sim/stats')[1]

    def reset_stats(self):
        self.sim('POST', '/_sim/stats/reset')

    def reset(self):
        self.sim('POST', '/_sim/reset')

    def stored_secrets(self, connector_id, space='default'):
        status, body = self.sim('GET', '/_sim/connectors/%s/%s/secrets' % (space, connector_id))
        return body if status == 200 else None

    def set_references(self, connector_id, count, space='default'):
        self.sim('POST', '/_sim/connectors/%s/%s/references' % (space, connector_id), {'count': count})

    def writes(self):
        """Number of non-GET requests the simulator has served (since the last stats reset)."""
        methods = self.stats()['methods']
        return sum(n for m, n in methods.items() if m != 'GET')


class PlaybookResult:
    def __init__(self, proc, text):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.output = text

    def __repr__(self):
        return 'PlaybookResult(rc=%s)\n%s\n%s' % (self.rc, self.stdout[-6000:], self.stderr[-3000:])


def ansible_env(extra=None):
    env = dict(os.environ)
    env.update({
        'ANSIBLE_COLLECTIONS_PATH': COLLECTIONS_BASE,
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'ANSIBLE_RETRY_FILES_ENABLED': '0',
        'ANSIBLE_LOCALHOST_WARNING': '0',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': '0',
        'ANSIBLE_DEPRECATION_WARNINGS': '0',
        'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
        'ANSIBLE_LOCAL_TEMP': os.path.join(tempfile.gettempdir(), 'kgc-ansible-local'),
    })
    # the modules read these from the environment: only what a test passes counts
    for k in ('KIBANA_URL', 'KIBANA_API_KEY', 'KIBANA_USERNAME', 'KIBANA_PASSWORD', 'KIBANA_PROXY_URL',
              'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'):
        env.pop(k, None)
    for k in ('http_proxy', 'https_proxy', 'all_proxy', 'no_proxy'):
        env.pop(k, None)
        env.pop(k.upper(), None)
    env.update(extra or {})
    return env


def run_playbook(playbook, extra_vars=None, check=False, diff=False, verbosity=0, env=None,
                 canaries=(), args=(), inventory=None, timeout=600, scan_paths=()):
    """Run ansible-playbook for real. `playbook` is a path or YAML text.

    No secret canary may appear in the output or in any file the run wrote into its working folder or under
    `scan_paths`: the CANARY marker, every string in `canaries`, and the secret-looking values of `extra_vars`
    and `env` (see assert_no_canary; each also base64- and URL-encoded).
    """
    canaries = set(canaries) | secret_inputs(extra_vars or {}) | secret_inputs(env or {})
    tmpdir = tempfile.mkdtemp(prefix='kgc-play-')
    try:
        if '\n' in playbook:
            path = os.path.join(tmpdir, 'playbook.yml')
            with open(path, 'w') as f:
                f.write(playbook)
        else:
            path = playbook
        cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), path]
        if inventory:
            cmd += ['-i', inventory]
        if extra_vars:
            vars_path = os.path.join(tmpdir, 'extra_vars.json')
            with open(vars_path, 'w') as f:
                json.dump(extra_vars, f)
            cmd += ['-e', '@' + vars_path]
        if check:
            cmd.append('--check')
        if diff:
            cmd.append('--diff')
        if verbosity:
            cmd.append('-' + 'v' * verbosity)
        cmd += list(args)
        proc = subprocess.run(cmd, capture_output=True, check=False, text=True, env=ansible_env(env),
                              cwd=tmpdir, timeout=timeout)
        text = proc.stdout + proc.stderr
        assert_no_canary(text, canaries, 'ansible-playbook output')
        written = [p for p in written_files(tmpdir) if p not in (path, os.path.join(tmpdir, 'extra_vars.json'))]
        assert_no_canary_in_files(canaries, *(written + list(scan_paths)))
        return PlaybookResult(proc, text)
    finally:
        shutil.rmtree(tmpdir, True)
