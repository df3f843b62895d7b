# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AI connectors' token-usage dashboard, and the Kibana role that may view it. Pure: no I/O.

Facts from Kibana's source (elastic/kibana, x-pack/platform/plugins/shared/stack_connectors):
* ``public/connector_types/lib/gen_ai/use_get_dashboard.ts``: the UI asks for the dashboard id
  ``generative-ai-token-usage-<openai|bedrock|gemini>-<spaceId>`` through the connector's
  ``getDashboard`` sub-action and, when ``available``, links to the dashboard app with the query
  ``kibana.saved_objects: { id  : <connectorId> }``.
* ``server/connector_types/{openai,bedrock,gemini}``: ``getDashboard`` answers ``{available: false}``
  when the calling user lacks ``read`` on ``.kibana-event-log-*``; otherwise it creates the dashboard
  saved object in the space if needed and answers ``{available: true}``.
* Elastic's OpenAI connector page: viewing the dashboard needs ``read`` and ``view_index_metadata``
  on ``.kibana-event-log-*`` and the Kibana ``read`` privilege.
"""
from __future__ import annotations

import copy
import re

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover
    from urllib import quote  # type: ignore

DASHBOARD_PROVIDERS = {'.gen-ai': 'openai', '.bedrock': 'bedrock', '.gemini': 'gemini'}
EVENT_LOG_INDEX = '.kibana-event-log-*'
INDEX_PRIVILEGES = ['read', 'view_index_metadata']
KIBANA_BASE = 'read'
DEFAULT_ROLE_NAME = 'connector-usage-viewer'
DEFAULT_DESCRIPTION = ('Can view the token usage dashboard of the AI connectors (OpenAI, Bedrock, Gemini). '
                       'Managed by kibana_gitops.connectors.usage_role.')
# metadata key that remembers which spaces the module granted, so a change of `spaces` moves the grant
MARKER = 'kibana_gitops_usage_role'
SPACE_RE = re.compile(r'^[a-z0-9_-]+$')
NOT_AVAILABLE_HINT = ('the user the module authenticates as lacks read on %s (see the usage_role module: read and '
                      'view_index_metadata on %s, and Kibana read)' % (EVENT_LOG_INDEX, EVENT_LOG_INDEX))


class RoleError(Exception):
    pass


# ------------------------------------------------------------------------------------------ dashboard
def dashboard_id(connector_type_id, space_id):
    """The id Kibana's UI asks getDashboard for, or None for a type without the dashboard."""
    provider = DASHBOARD_PROVIDERS.get(connector_type_id)
    if provider is None:
        return None
    return 'generative-ai-token-usage-%s-%s' % (provider, space_id or 'default')


def _rison_string(text):
    return "'%s'" % text.replace('!', '!!').replace("'", "!'")


def dashboard_url(kibana_url, space_id, dash_id, connector_id):
    """A link to the dashboard filtered on the connector, as the connector's page links to it.

    The UI builds it with the dashboard app's locator (a redirect URL); this is the same view as a
    direct dashboard app URL, which needs no browser-side decoding.
    """
    prefix = '' if not space_id or space_id == 'default' else '/s/%s' % quote(space_id, safe='')
    query = 'kibana.saved_objects: { id  : %s }' % connector_id
    app_state = '(query:(language:kuery,query:%s))' % _rison_string(query)
    return '%s%s/app/dashboards#/view/%s?_a=%s' % (kibana_url.rstrip('/'), prefix, quote(dash_id, safe=''),
                                                   quote(app_state, safe="():,'!*-._~"))


def usage_dashboard(kibana_url, space_id, connector, answer=None, error=None):
    """``{available, dashboard_id, url, reason}`` from Kibana's getDashboard answer (or the request's error)."""
    dash_id = dashboard_id(connector.get('connector_type_id'), space_id)
    result = {'available': False, 'dashboard_id': dash_id, 'url': None, 'reason': None}
    if error is not None:
        result['reason'] = 'getDashboard failed: %s' % error
        return result
    answer = answer or {}
    if answer.get('status') != 'ok':
        detail = answer.get('service_message') or answer.get('message') or 'no answer'
        result['reason'] = 'getDashboard failed: %s' % detail
        return result
    if (answer.get('data') or {}).get('available') is True:
        result['available'] = True
        result['url'] = dashboard_url(kibana_url, space_id, dash_id, connector['id'])
    else:
        result['reason'] = 'Kibana answered available: false: %s' % NOT_AVAILABLE_HINT
    return result


# ------------------------------------------------------------------------------------------ role
def check_spaces(spaces):
    """Kibana's rule for a privilege entry's spaces: ['*'] alone, or ids of [a-z0-9_-]."""
    if not spaces:
        raise RoleError('spaces must not be empty: use ["*"] for every space')
    if '*' in spaces:
        if len(spaces) != 1:
            raise RoleError('spaces: "*" (every space) cannot be combined with space ids')
        return ['*']
    bad = [s for s in spaces if not SPACE_RE.match(s)]
    if bad:
        raise RoleError("spaces: %s: must be lower case, a-z, 0-9, '_', and '-' are allowed" % ', '.join(bad))
    return sorted(set(spaces))


def editable(live):
    """A role as Kibana's GET answers it -> the body Kibana's PUT takes (read-only fields dropped).

    Refuses a role that PUT cannot write back whole (reserved, or privileges Kibana could not read).
    """
    if live is None:
        return None
    if (live.get('metadata') or {}).get('_reserved'):
        raise RoleError('role %s is reserved; choose another name' % live.get('name'))
    if live.get('_transform_error') or live.get('_unrecognized_applications'):
        raise RoleError('role %s holds privileges Kibana cannot write back (%s); the module leaves it alone'
                        % (live.get('name'), ', '.join(str(x) for x in (live.get('_transform_error') or [])
                                                       + (live.get('_unrecognized_applications') or []))))
    es = live.get('elasticsearch') or {}
    elasticsearch = {'cluster': list(es.get('cluster') or []),
                     'indices': [dict(e) for e in es.get('indices') or []],
                     'run_as': list(es.get('run_as') or [])}
    for key in ('remote_indices', 'remote_cluster'):
        if es.get(key):
            elasticsearch[key] = copy.deepcopy(es[key])
    kibana = []
    for entry in live.get('kibana') or []:
        if entry.get('_reserved'):
            raise RoleError('role %s has reserved Kibana privileges; the module leaves it alone' % live.get('name'))
        kibana.append({'base': list(entry.get('base') or []), 'feature': dict(entry.get('feature') or {}),
                       'spaces': list(entry.get('spaces') or ['*'])})
    body = {}
    if live.get('description'):
        body['description'] = live['description']
    body.update({'metadata': dict(live.get('metadata') or {}), 'elasticsearch': elasticsearch, 'kibana': kibana})
    return body


def _is_owned_index(entry):
    return list(entry.get('names') or []) == [EVENT_LOG_INDEX]


def _same_spaces(entry, spaces):
    return sorted(entry.get('spaces') or ['*']) == sorted(spaces)


def _previous_spaces(body):
    marker = (body.get('metadata') or {}).get(MARKER)
    if isinstance(marker, dict) and isinstance(marker.get('spaces'), list):
        return [str(s) for s in marker['spaces']]
    return None


def _drop_owned_kibana(body, spaces):
    """Remove the module's Kibana entry for `spaces` (only a plain base read entry counts as the module's)."""
    body['kibana'] = [e for e in body['kibana']
                      if not (_same_spaces(e, spaces) and e['base'] == [KIBANA_BASE] and not e['feature'])]


def desired_present(current, spaces, description=None):
    """The role body with the module's privileges in it; everything else as it was."""
    body = copy.deepcopy(current) if current is not None else {
        'description': DEFAULT_DESCRIPTION, 'metadata': {},
        'elasticsearch': {'cluster': [], 'indices': [], 'run_as': []}, 'kibana': []}
    if description is not None:
        body['description'] = description
    # index privileges: the entry for exactly .kibana-event-log-* is the module's
    owned = [e for e in body['elasticsearch']['indices'] if _is_owned_index(e)]
    if owned:
        entry = owned[0]
        entry['privileges'] = list(entry['privileges']) + [p for p in INDEX_PRIVILEGES if p not in entry['privileges']]
    else:
        body['elasticsearch']['indices'].append({'names': [EVENT_LOG_INDEX], 'privileges': list(INDEX_PRIVILEGES),
                                                 'allow_restricted_indices': False})
    # Kibana privileges: move the module's grant when `spaces` changed
    previous = _previous_spaces(body)
    if previous is not None and sorted(previous) != sorted(spaces):
        _drop_owned_kibana(body, previous)
    mine = [e for e in body['kibana'] if _same_spaces(e, spaces)]
    if mine:
        entry = mine[0]
        if not (set(entry['base']) & {KIBANA_BASE, 'all'}):
            entry['base'], entry['feature'] = [KIBANA_BASE], {}
    else:
        clash = [e for e in body['kibana'] if set(e.get('spaces') or ['*']) & set(spaces)]
        if clash:
            raise RoleError('the role already grants Kibana privileges for spaces %s in another entry (%s); Kibana '
                            'allows one entry per space: set spaces to match that entry, or change the role by hand'
                            % (', '.join(clash[0]['spaces']), _entry_text(clash[0])))
        body['kibana'].append({'base': [KIBANA_BASE], 'feature': {}, 'spaces': list(spaces)})
    body['metadata'][MARKER] = {'spaces': list(spaces)}
    return body


def desired_absent(current, spaces):
    """The role without the module's privileges; None when nothing else is left (delete the role)."""
    body = copy.deepcopy(current)
    body['elasticsearch']['indices'] = [e for e in body['elasticsearch']['indices'] if not _is_owned_index(e)]
    for owned_spaces in filter(None, [_previous_spaces(body), spaces]):
        _drop_owned_kibana(body, owned_spaces)
    body['metadata'].pop(MARKER, None)
    es = body['elasticsearch']
    if not any([es['cluster'], es['indices'], es['run_as'], es.get('remote_indices'), es.get('remote_cluster'),
                body['kibana'], body['metadata']]):
        return None
    return body


def _entry_text(entry):
    if entry.get('base'):
        return 'base %s' % ', '.join(entry['base'])
    return 'features %s' % ', '.join(sorted(entry.get('feature') or {}))


def plan_role(live, spaces, state='present', description=None):
    """-> (action, body_to_put_or_None, before, after); action: created|updated|deleted|unchanged."""
    spaces = check_spaces(spaces)
    current = editable(live)
    if state == 'absent':
        if current is None:
            return 'unchanged', None, {}, {}
        body = desired_absent(current, spaces)
        if body is None:
            return 'deleted', None, current, {}
        return ('unchanged' if body == current else 'updated'), body, current, body
    body = desired_present(current, spaces, description)
    if current is None:
        return 'created', body, {}, body
    return ('unchanged' if body == current else 'updated'), body, current, body
