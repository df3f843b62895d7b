"""HTTP layer: routing, spaces, auth, kbn-xsrf, faults, the /_sim/ test API, TLS, command line.

Order of checks on a request, as Kibana's HTTP stack runs them:
route lookup (unknown route: 404) -> authentication (401, §7) -> payload parsing (invalid JSON:
400) -> kbn-xsrf on POST/PUT/DELETE (core's post-auth handler, §1) -> route validation (400) ->
the operation (api.py).
"""
import argparse
import base64
import json
import re
import socket
import ssl
import struct
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from . import config_schema as s
from . import kibana_yml
from . import security
from . import texts
from .api import ConnectorsAPI
from .connector_types import Settings
from .faults import FaultPlan, FaultSpecError
from .store import PreconfiguredError, Store, load_preconfigured
from .urls import AllowList

SPACE_PREFIX = re.compile(r'^/s/([a-z0-9_\-]+)(/.*)$')
ID = r'([^/]+)'
ROUTES = [
    ('GET', re.compile(r'^/api/status$'), 'status'),
    ('POST', re.compile(r'^/api/actions/connector$'), 'create'),
    ('POST', re.compile(r'^/api/actions/connector/%s/_execute$' % ID), 'execute'),
    ('POST', re.compile(r'^/api/actions/connector/%s$' % ID), 'create'),
    ('PUT', re.compile(r'^/api/actions/connector/%s$' % ID), 'update'),
    ('GET', re.compile(r'^/api/actions/connector/%s$' % ID), 'get'),
    ('DELETE', re.compile(r'^/api/actions/connector/%s$' % ID), 'delete'),
    ('GET', re.compile(r'^/api/actions/connectors$'), 'list'),
    ('GET', re.compile(r'^/api/actions/connector_types$'), 'list_types'),
    ('GET', re.compile(r'^/api/security/role/%s$' % ID), 'role_get'),
    ('PUT', re.compile(r'^/api/security/role/%s$' % ID), 'role_put'),
    ('DELETE', re.compile(r'^/api/security/role/%s$' % ID), 'role_delete'),
]
SIM_SECRETS = re.compile(r'^/_sim/connectors/([^/]+)/([^/]+)/secrets$')
SIM_REFERENCES = re.compile(r'^/_sim/connectors/([^/]+)/([^/]+)/references$')


class Drop(Exception):
    """Close the connection without an answer (faults ``reset`` / ``lost``)."""

    def __init__(self, hard):
        super(Drop, self).__init__()
        self.hard = hard  # True: RST (reset); False: orderly close (lost)


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'KibanaSimulator/1.0'
    timeout = 120  # an idle or stuck client never pins a thread for ever

    # --- plumbing ---
    def setup(self):
        BaseHTTPRequestHandler.setup(self)
        # headers and body go out in two writes: without this, Nagle + delayed ACK cost ~40 ms a request
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                self.connection.do_handshake()  # in this thread, not in the accept loop
            except (ssl.SSLError, OSError):
                self.close_connection = True

    def log_message(self, fmt, *args):  # paths and status only; bodies (secrets) are never logged
        sys.stderr.write('%s - %s\n' % (self.address_string(), fmt % args))

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def send_json(self, status, body, headers=None):
        data = b'' if body is None else json.dumps(body).encode('utf-8')
        self.send_response(status)
        if body is not None:
            self.send_header('Content-Type', 'application/json; charset=utf-8')
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if status != 204:  # RFC 9110: no Content-Length on a 204
            self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        if data and self.command != 'HEAD':
            self.wfile.write(data)

    def send_error_body(self, err, headers=None):
        self.send_json(err.status, err.body(), headers)

    def drop(self, hard):
        self.close_connection = True
        try:
            if hard:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            self.connection.close()
        except OSError:
            pass

    def read_body(self):
        length = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(length) if length > 0 else b''

    # --- request handling ---
    def dispatch(self):
        sim = self.server.sim
        parts = urlsplit(self.path)
        path = parts.path
        raw = self.read_body()
        if path.startswith('/_sim/'):
            return self.handle_sim(path, raw)
        sim.store.stats.count(self.command, path)
        space, route_path = 'default', path
        m = SPACE_PREFIX.match(path)
        if m:
            space, route_path = m.group(1), m.group(2)
        if len(route_path) > 1:
            route_path = route_path.rstrip('/')  # Kibana's router strips a trailing slash
        try:
            fault = None
            if route_path.startswith('/api/') and route_path != '/api/status':
                fault = sim.faults.pick(self.command not in ('GET', 'HEAD'))
            if fault:
                sim.store.stats.count_fault(fault)
                if fault == '429':
                    raise texts.KibanaError(429)
                if fault == '503':
                    raise texts.KibanaError(503)
                if fault == 'reset':
                    raise Drop(hard=True)
                if fault == 'slow':
                    time.sleep(sim.faults.slow_ms / 1000.0)
            status, body = self.route(sim, space, route_path, parts.query, raw)
            if fault == 'lost':
                raise Drop(hard=False)  # the write has been applied; the answer is lost
            self.send_json(status, body)
        except Drop as d:
            self.drop(d.hard)
        except texts.KibanaError as e:
            headers = {'Retry-After': str(sim.faults.retry_after)} if e.status == 429 else None
            self.send_error_body(e, headers)

    def route(self, sim, space, path, query, raw):
        for method, pattern, op in ROUTES:
            m = pattern.match(path)
            if m and method == self.command:
                break
        else:
            raise texts.ROUTE_NOT_FOUND
        principal = self.authenticate(sim)
        body = s.MISSING
        if raw.strip():
            try:
                body = json.loads(raw.decode('utf-8'))
            except ValueError:
                raise texts.INVALID_JSON
        if self.command in ('POST', 'PUT', 'DELETE') and not (
                self.headers.get('kbn-xsrf') is not None or self.headers.get('kbn-version') is not None):
            raise texts.XSRF_MISSING
        api = sim.api
        connector_id = unquote(m.group(1)) if m.groups() else None
        if op.startswith('role_'):  # security.py: the role API subset
            return getattr(sim.security, op)(*((connector_id, parse_qs(query), body, principal) if op == 'role_put'
                                               else (connector_id, principal)))
        if op == 'status':
            return api.status()
        if op == 'create':
            return api.create(space, connector_id, body)
        if op == 'update':
            return api.update(space, connector_id, body)
        if op == 'get':
            return api.get(space, connector_id)
        if op == 'delete':
            return api.delete(space, connector_id)
        if op == 'list':
            return api.list(space)
        if op == 'list_types':
            return api.list_types((parse_qs(query).get('feature_id') or [None])[0])
        if op == 'execute' and sim.security.is_dashboard_call(body):  # security.py: getDashboard
            answer = sim.security.execute_dashboard(sim.store, space, connector_id, body, principal)
            if answer is not None:
                return answer
        return api.execute(space, connector_id, body)

    def authenticate(self, sim):
        """ApiKey or Basic (§1 headers); without configured credentials every request passes.

        Returns who is calling: the configured credentials are a superuser, a user added through
        /_sim/security/users holds its roles (security.py).
        """
        header = self.headers.get('Authorization') or ''
        scheme, _sep, value = header.partition(' ')
        value = value.strip()
        user = password = None
        if scheme.lower() == 'basic':
            try:
                user, _sep, password = base64.b64decode(value).decode('utf-8').partition(':')
            except (ValueError, UnicodeDecodeError):
                user = password = None
            principal = sim.security.user(user, password) if user is not None else None
            if principal is not None:
                return principal
        if not sim.api_keys and sim.username is None:
            return security.SUPERUSER
        if scheme.lower() == 'apikey' and value and value in sim.api_keys:
            return security.SUPERUSER
        if user is not None and sim.username is not None and user == sim.username and password == sim.password:
            return security.SUPERUSER
        raise texts.UNAUTHORIZED

    # --- /_sim/: test-only, no auth, not counted (docs/internals.md) ---
    def handle_sim(self, path, raw):
        sim = self.server.sim
        store = sim.store
        if self.command == 'GET' and path == '/_sim/stats':
            return self.send_json(200, store.stats.snapshot())
        if self.command == 'POST' and path == '/_sim/stats/reset':
            store.stats.clear()
            return self.send_json(200, {'ok': True})
        if self.command == 'GET' and path == '/_sim/version':
            kibana = sim.settings.kibana
            return self.send_json(200, {'version': kibana.text, 'modelled_as': '%d.%d.%d' % kibana.modelled,
                                        'era': kibana.era, 'facts': kibana.describe()})
        if path.startswith('/_sim/security/'):
            return self.send_json(*sim.security.handle_sim(self.command, path, raw))
        if self.command == 'POST' and path == '/_sim/reset':
            store.reset()
            sim.security.reset()
            return self.send_json(200, {'ok': True})
        m = SIM_SECRETS.match(path)
        if m and self.command == 'GET':
            record = store.get(unquote(m.group(1)), unquote(m.group(2)))
            if record is None:
                return self.send_error_body(texts.KibanaError(404, 'no such connector'))
            return self.send_json(200, record['secrets'])
        m = SIM_REFERENCES.match(path)
        if m and self.command == 'POST':
            try:
                count = int(json.loads(raw.decode('utf-8') or '{}')['count'])
            except (ValueError, KeyError, TypeError):
                return self.send_error_body(texts.bad_request('body must be {"count": N}'))
            with store.lock:
                record = store.get(unquote(m.group(1)), unquote(m.group(2)))
                if record is None:
                    return self.send_error_body(texts.KibanaError(404, 'no such connector'))
                store.put(unquote(m.group(1)), dict(record, referenced_by_count=count))
            return self.send_json(200, {'ok': True, 'referenced_by_count': count})
        return self.send_error_body(texts.ROUTE_NOT_FOUND)


class Server(ThreadingHTTPServer):
    """Python's default listen backlog (5) resets connections at 32-100 concurrent clients (issue 13);
    128 like the OpenAI simulator."""
    request_queue_size = 128
    daemon_threads = True


class Simulator(object):
    """Everything a request handler needs, built from the command line."""

    def __init__(self, args):
        self.api_keys = set(args.api_key or [])
        self.username, self.password = args.username, args.password
        hosts = [h.strip() for h in args.allowed_hosts.split(',') if h.strip()]
        if args.preconfigured and hosts == ['*']:  # a kibana.yml given as --preconfigured may set allowedHosts
            hosts = kibana_yml.allowed_hosts(args.preconfigured) or hosts
        self.settings = Settings(args.kibana_version, AllowList(hosts))
        preconfigured = load_preconfigured(args.preconfigured) if args.preconfigured else None
        self.store = Store(preconfigured, args.state_file)
        enabled = [t.strip() for t in args.enabled_types.split(',') if t.strip()]
        self.api = ConnectorsAPI(self.store, self.settings, enabled)
        self.faults = FaultPlan(args.faults)
        self.security = security.Security()


def parse_args(argv):
    p = argparse.ArgumentParser(prog='python tests/simulators/kibana',
                                description="Kibana connectors API simulator (tests only)")
    p.add_argument('--port', type=int, default=5601, help='0 picks a free port')
    p.add_argument('--host', default='127.0.0.1')
    p.add_argument('--api-key', action='append', help='accepted "Authorization: ApiKey <KEY>" (repeatable)')
    p.add_argument('--username')
    p.add_argument('--password')
    p.add_argument('--preconfigured', help="kibana.yml with xpack.actions.preconfigured (§6)")
    p.add_argument('--allowed-hosts', default='*', help='xpack.actions.allowedHosts, comma separated')
    p.add_argument('--kibana-version', default='9.2.0')
    p.add_argument('--state-file', help='JSON state, loaded at start if present, saved after every write')
    p.add_argument('--tls-cert')
    p.add_argument('--tls-key')
    p.add_argument('--faults', help='e.g. rate=0.2,kinds=429+503+reset+lost+slow,seed=7,slow_ms=1500,retry_after=1')
    p.add_argument('--enabled-types', default='*', help='xpack.actions.enabledActionTypes, comma separated')
    args = p.parse_args(argv)
    if (args.username is None) != (args.password is None):
        p.error('--username and --password go together')
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error('--tls-cert and --tls-key go together')
    if not re.match(r'^\d+\.\d+(\.\d+)?', args.kibana_version):
        p.error('--kibana-version must look like 9.2.0')
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        sim = Simulator(args)
    except (PreconfiguredError, FaultSpecError, OSError, ValueError) as e:
        sys.stderr.write('kibana simulator: %s\n' % e)
        return 2
    server = Server((args.host, args.port), Handler)
    server.sim = sim
    scheme = 'http'
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        scheme = 'https'
    port = server.server_address[1]
    sys.stdout.write('kibana simulator listening on %s://%s:%d\n' % (scheme, args.host, port))
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
