"""Kibana's role API subset, simulated users, and the token-usage dashboard (``getDashboard``).

Written from Kibana's source (elastic/kibana), not from plugins/:

* Routes ``GET|PUT|DELETE /api/security/role/{name}``
  (``x-pack/platform/plugins/shared/security/server/routes/authorization/roles/{get,put,delete}.ts``).
  PUT validates the body with ``getPutPayloadSchema`` (``roles/model/put_payload.ts``) and the
  Kibana part with ``getKibanaRoleSchema`` (``@kbn/security-plugin-types-server`` role_schema.ts):
  ``spaces`` is ``['*']`` or a list of ids matching ``^[a-z0-9_-]+$`` (default ``['*']``); ``base``
  must be known global / space base privileges (``all``, ``read``); ``base`` and ``feature`` exclude
  each other and one is required; no two entries may share a space. Answers 204 with no body;
  ``?createOnly=true`` on an existing role gives 409 ``Role already exists and cannot be created: <name>``.
  GET answers the role as ``transformElasticsearchRoleToRole`` builds it: ``name``, ``description``
  (only when set), ``metadata``, ``transient_metadata: {enabled: true}``, ``elasticsearch``
  (``cluster``, ``indices`` with Elasticsearch's ``allow_restricted_indices: false`` filled in,
  ``run_as``), ``kibana`` entries with both ``base`` and ``feature`` present, ``_transform_error`` and
  ``_unrecognized_applications`` (``roles/get.test.ts``). A missing role: 404 (``response.notFound()``;
  DELETE passes Elasticsearch's 404 through; the body text ``Not Found`` is UNVERIFIED for DELETE).
  Elasticsearch's own checks as Kibana relays them: reserved role names (400) and, for a user without
  ``manage_security``, 403. Those two texts are Elasticsearch's and UNVERIFIED.
* ``getDashboard`` (``stack_connectors/server/connector_types/{openai,bedrock,gemini}/*.ts``): the
  sub-action asks Elasticsearch ``_has_privileges`` for ``read`` on ``.kibana-event-log-*`` (with
  ``allow_restricted_indices: true``) for the *calling user*; without it ``{available: false}``; with it
  the dashboard saved object ``dashboardId`` is read, or created in the request's space, and
  ``{available: true}`` comes back (``lib/gen_ai/create_gen_ai_dashboard.ts``). Params schema
  ``{dashboardId: string}`` (``DashboardActionParamsSchema``).

The privilege model is deliberately small: the simulator's configured credentials (``--api-key``,
``--username``) are a superuser; users added with ``POST /_sim/security/users`` hold the roles they
are given, and an index privilege covers ``.kibana-event-log-*`` when one of the role's index
patterns matches that pattern (``*``, ``.kibana*``, the pattern itself…) with ``read`` or ``all``.
``allow_restricted_indices`` does not change the answer: no restricted index matches that pattern.
Only the role API and ``getDashboard`` look at a simulated user's privileges.

Test-only endpoints (no auth, not counted): ``POST /_sim/security/users`` body
``{"username", "password", "roles": [...]}``; ``GET /_sim/security/dashboards`` -> ``[{"space_id", "id"}]``;
``GET /_sim/security/roles`` -> the stored roles; ``POST /_sim/security/reset``.
"""
import copy
import fnmatch
import json
import re
import threading

from . import config_schema as s
from . import texts

EVENT_LOG_PATTERN = '.kibana-event-log-*'
GLOBAL_BASE_PRIVILEGES = ('all', 'read')
SPACE_BASE_PRIVILEGES = ('all', 'read')
DASHBOARD_TYPES = ('.gen-ai', '.bedrock', '.gemini')
RESERVED_ROLES = ('superuser', 'kibana_system', 'kibana_admin', 'viewer', 'editor', 'monitoring_user')
FEATURE_NAME = re.compile(r'^[a-zA-Z0-9_-]+$')
SPACE_ID = re.compile(r'^[a-z0-9_-]+$')
RUN_ERROR = 'an error occurred while running the action'


class Principal(object):
    def __init__(self, name, superuser=False, roles=()):
        self.name = name
        self.superuser = superuser
        self.roles = list(roles)


SUPERUSER = Principal('elastic', superuser=True)


# --------------------------------------------------------------------------- PUT payload schema
class MinArray(s.Array):
    """schema.arrayOf(T, {minSize})."""

    def __init__(self, item_type, min_size=None, **kw):
        super(MinArray, self).__init__(item_type, **kw)
        self.min_size = min_size

    def check(self, value, path):
        result = super(MinArray, self).check(value, path)
        if self.min_size is not None and len(result) < self.min_size:
            raise s.SchemaError('array size is [%d], but cannot be smaller than [%d]' % (len(result), self.min_size), path)
        return result


def _feature_name(value):
    return None if FEATURE_NAME.match(value) else "only a-z, A-Z, 0-9, '_', and '-' are allowed"


def _space_id(value):
    return None if SPACE_ID.match(value) else "must be lower case, a-z, 0-9, '_', and '-' are allowed"


def _strings(min_size=None, validate=None):
    return MinArray(s.string(validate=validate), min_size=min_size)


INDEX_ENTRY = s.obj(dict([
    ('names', _strings(1)),
    ('field_security', s.maybe(s.record(_strings()))),
    ('privileges', _strings(1)),
    ('query', s.maybe(s.string())),
    ('allow_restricted_indices', s.maybe(s.boolean())),
]))
REMOTE_INDEX_ENTRY = s.obj(dict([
    ('clusters', _strings(1)), ('names', _strings(1)), ('field_security', s.maybe(s.record(_strings()))),
    ('privileges', _strings(1)), ('query', s.maybe(s.string())), ('allow_restricted_indices', s.maybe(s.boolean())),
]))
ELASTICSEARCH = s.obj(dict([
    ('cluster', s.maybe(_strings())),
    ('remote_cluster', s.maybe(s.array(s.obj(dict([('privileges', _strings(1)), ('clusters', _strings(1))]))))),
    ('indices', s.maybe(s.array(INDEX_ENTRY))),
    ('remote_indices', s.maybe(s.array(REMOTE_INDEX_ENTRY))),
    ('run_as', s.maybe(_strings())),
]))
ALL_SPACES = MinArray(s.literal('*'), min_size=1, max_size=1)
SPACES = s.one_of([ALL_SPACES, _strings(validate=_space_id)], default=['*'])


class KibanaEntry(s.Object):
    """One ``kibana`` entry: ``base`` depends on ``spaces`` (schema.conditional) and the entry-level rule."""

    def __init__(self):
        super(KibanaEntry, self).__init__(dict([
            ('spaces', SPACES),
            ('base', s.maybe(_strings())),
            ('feature', s.maybe(s.record(_strings(validate=_feature_name)))),
        ]))

    def check(self, value, path):
        result = super(KibanaEntry, self).check(value, path)
        for key in result.get('feature') or {}:
            message = _feature_name(key)
            if message:
                raise s.SchemaError(message, path + ['feature', key])
        is_global = result['spaces'] == ['*']
        known = GLOBAL_BASE_PRIVILEGES if is_global else SPACE_BASE_PRIVILEGES
        for i, name in enumerate(result.get('base') or []):
            if name not in known:
                raise s.SchemaError('unknown %s privilege "%s", must be one of [%s]' % (
                    'global' if is_global else 'space', name, ','.join(known)), path + ['base', i])
        base, feature = result.get('base') or [], result.get('feature')
        if not base and not [p for ps in (feature or {}).values() for p in ps]:
            raise s.SchemaError('either [base] or [feature] is expected, but none of them specified', path)
        if base and feature:
            raise s.SchemaError("definition of [feature] isn't allowed when non-empty [base] is defined.", path)
        return result


class KibanaEntries(s.Array):
    def __init__(self):
        super(KibanaEntries, self).__init__(KibanaEntry())

    def check(self, value, path):
        result = super(KibanaEntries, self).check(value, path)
        for i, a in enumerate(result):
            for b in result[i + 1:]:
                shared = [x for x in a['spaces'] if x in b['spaces']]
                if shared:
                    raise s.SchemaError('more than one privilege is applied to the following spaces: [%s]'
                                        % ','.join(shared), path)
        return result


PUT_PAYLOAD = s.obj(dict([
    ('description', s.maybe(s.String(validate=lambda v: None if len(v) <= 2048 else
                                     'value has length [%d] but it must have a maximum length of [2048].' % len(v)))),
    ('metadata', s.maybe(s.record(s.any_value()))),
    ('elasticsearch', ELASTICSEARCH),
    ('kibana', s.maybe(KibanaEntries())),
]))


def _bad_request(error):
    return texts.bad_request(str(error))


# --------------------------------------------------------------------------- the model
class Security(object):
    def __init__(self):
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        with getattr(self, 'lock', threading.RLock()):
            self.roles = {}        # name -> the role as GET returns it
            self.users = {}        # username -> {'password', 'roles'}
            self.dashboards = []   # [(space_id, dashboard_id)], in creation order

    # --- authentication (server.authenticate asks here for users it does not know) ---
    def user(self, username, password):
        record = self.users.get(username)
        if record is None or record['password'] != password:
            return None
        return Principal(username, roles=record['roles'])

    def _roles_of(self, principal):
        return [self.roles[r] for r in principal.roles if r in self.roles]

    def _has_cluster(self, principal, wanted):
        if principal.superuser:
            return True
        return any(p in wanted for role in self._roles_of(principal) for p in role['elasticsearch']['cluster'])

    def has_event_log_read(self, principal):
        """``_has_privileges`` for read on .kibana-event-log-* (see the module docstring)."""
        if principal.superuser:
            return True
        for role in self._roles_of(principal):
            for entry in role['elasticsearch']['indices']:
                if not set(entry['privileges']) & {'read', 'all'}:
                    continue
                if any(fnmatch.fnmatchcase(EVENT_LOG_PATTERN, pattern) for pattern in entry['names']):
                    return True
        return False

    def _authorize_role_api(self, principal, action):
        if not self._has_cluster(principal, ('all', 'manage_security')):
            # Elasticsearch's authorization error, relayed by Kibana as 403 (UNVERIFIED wording).
            raise texts.KibanaError(403, 'action [cluster:admin/xpack/security/role/%s] is unauthorized for user [%s] '
                                         'with effective roles [%s], this action is granted by the cluster '
                                         'privileges [manage_security,all]'
                                    % (action, principal.name, ','.join(sorted(principal.roles))))

    # --- role API ---
    @staticmethod
    def _check_name(name):
        if len(name) > 1024:
            raise texts.bad_request('[request params.name]: value has length [%d] but it must have a maximum length '
                                    'of [1024].' % len(name))

    def role_get(self, name, principal):
        self._authorize_role_api(principal, 'get')
        with self.lock:
            role = self.roles.get(name)
            if role is None:
                raise texts.KibanaError(404, 'Not Found')
            return 200, copy.deepcopy(role)

    def role_put(self, name, query, body, principal):
        self._check_name(name)
        create_only = query.get('createOnly', ['false'])[-1]
        if create_only not in ('true', 'false'):
            raise texts.bad_request('[request query.createOnly]: expected value of type [boolean] but got [string]')
        try:
            payload = PUT_PAYLOAD.validate({} if body is s.MISSING else body, ['request body'])
        except s.SchemaError as e:
            raise _bad_request(e)
        self._authorize_role_api(principal, 'put')
        if name in RESERVED_ROLES:
            raise texts.bad_request('role [%s] is reserved and cannot be modified' % name)  # Elasticsearch, UNVERIFIED
        for key in payload.get('metadata') or {}:
            if key.startswith('_'):
                raise texts.bad_request('Validation Failed: 1: metadata keys may not start with [_];')  # UNVERIFIED
        with self.lock:
            if create_only == 'true' and name in self.roles:
                raise texts.KibanaError(409, 'Role already exists and cannot be created: %s' % name)
            self.roles[name] = self._as_stored(name, payload)
        return 204, None

    def role_delete(self, name, principal):
        self._authorize_role_api(principal, 'delete')
        if name in RESERVED_ROLES:
            raise texts.bad_request('role [%s] is reserved and cannot be deleted' % name)  # Elasticsearch, UNVERIFIED
        with self.lock:
            if self.roles.pop(name, None) is None:
                raise texts.KibanaError(404, 'Not Found')
        return 204, None

    @staticmethod
    def _as_stored(name, payload):
        """The role as GET will answer it: Elasticsearch's and Kibana's defaults filled in."""
        es = payload['elasticsearch']
        indices = []
        for entry in es.get('indices') or []:
            item = dict(entry)
            item.setdefault('allow_restricted_indices', False)
            indices.append(item)
        elasticsearch = {'cluster': list(es.get('cluster') or []), 'indices': indices,
                         'run_as': list(es.get('run_as') or [])}
        for key in ('remote_indices', 'remote_cluster'):
            if es.get(key):
                elasticsearch[key] = copy.deepcopy(es[key])
        kibana = [{'base': list(e.get('base') or []), 'feature': dict(e.get('feature') or {}),
                   'spaces': list(e['spaces'])} for e in payload.get('kibana') or []]
        role = {'name': name}
        if payload.get('description'):
            role['description'] = payload['description']
        role.update({'metadata': dict(payload.get('metadata') or {}), 'transient_metadata': {'enabled': True},
                     'elasticsearch': elasticsearch, 'kibana': kibana,
                     '_transform_error': [], '_unrecognized_applications': []})
        return role

    # --- getDashboard ---
    @staticmethod
    def is_dashboard_call(body):
        params = body.get('params') if isinstance(body, dict) else None
        return isinstance(params, dict) and params.get('subAction') == 'getDashboard'

    def execute_dashboard(self, store, space, connector_id, body, principal):
        """``POST …/connector/{id}/_execute`` with ``subAction: getDashboard``; None: not ours (other types)."""
        if connector_id in store.preconfigured:
            type_id = store.preconfigured[connector_id]['connector_type_id']
        else:
            with store.lock:
                record = store.get(space, connector_id)
            if record is None:
                raise texts.so_not_found(connector_id)
            type_id = record['connector_type_id']
        if type_id not in DASHBOARD_TYPES:
            return None
        sub_params = body['params'].get('subActionParams')
        problem = None
        if sub_params is None:
            sub_params = {}
        if not isinstance(sub_params, dict):
            problem = 'expected a plain object value, but found [%s] instead.' % s.type_detect(sub_params)
        elif not isinstance(sub_params.get('dashboardId', s.MISSING), str):
            problem = '[dashboardId]: expected value of type [string] but got [%s]' % s.type_detect(
                sub_params.get('dashboardId', s.MISSING))
        else:
            extra = [k for k in sub_params if k != 'dashboardId']
            if extra:
                problem = '[%s]: definition for this key is missing' % extra[0]
        if problem:
            return 200, {'status': 'error', 'connector_id': connector_id, 'message': RUN_ERROR,
                         'service_message': 'Request validation failed (Error: %s)' % problem,
                         'retry': True, 'errorSource': 'user'}
        if not self.has_event_log_read(principal):
            return 200, {'status': 'ok', 'connector_id': connector_id, 'data': {'available': False}}
        with self.lock:
            key = (space, sub_params['dashboardId'])
            if key not in self.dashboards:
                self.dashboards.append(key)
        return 200, {'status': 'ok', 'connector_id': connector_id, 'data': {'available': True}}

    # --- /_sim/security/ ---
    def handle_sim(self, method, path, raw):
        if method == 'POST' and path == '/_sim/security/reset':
            self.reset()
            return 200, {'ok': True}
        if method == 'POST' and path == '/_sim/security/users':
            try:
                data = json.loads(raw.decode('utf-8') or '{}')
                username, password = str(data['username']), str(data['password'])
                roles = [str(r) for r in data.get('roles') or []]
            except (ValueError, KeyError, TypeError, AttributeError):
                return 400, texts.bad_request('body must be {"username", "password", "roles": [...]}').body()
            with self.lock:
                self.users[username] = {'password': password, 'roles': roles}
            return 200, {'ok': True, 'username': username, 'roles': roles}
        if method == 'GET' and path == '/_sim/security/dashboards':
            with self.lock:
                return 200, [{'space_id': sp, 'id': i} for sp, i in self.dashboards]
        if method == 'GET' and path == '/_sim/security/roles':
            with self.lock:
                return 200, copy.deepcopy(self.roles)
        return 404, texts.ROUTE_NOT_FOUND.body()
