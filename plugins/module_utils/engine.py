# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine behind `connector` and `connectors`: validate -> encode PKI -> plan -> write.

Both modules are faces of this one class: `ensure_one` reconciles a single spec (one GET by id,
or one list to find it by name), `ensure_set` a whole declarative set for one space (one list,
then only the writes needed, in bounded parallel). Writes survive a flaky network, slow answers
and concurrent runs without duplicating anything: every create goes to a fixed id (a spec
without `connector_id` gets `derived_id(space, type, name)`), so a re-sent, slow or concurrent
create answers 409 and is compared instead; a delete that answers 404 on its retry is done.

Prune guards (`ensure_set`): never an empty set unless `prune_empty`; never when a spec of the
space could not be planned; never more than `max_deletes`; never outside the managed scope,
preconfigured, system or referenced connectors (without `force`).
"""
from __future__ import annotations

import copy
import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.kibana_gitops.connectors.plugins.module_utils.kibana import KibanaError
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import reconcile
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import spec as spec_rules
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import versions

PAST = {reconcile.CREATE: 'created', reconcile.UPDATE: 'updated', reconcile.DELETE: 'deleted',
        reconcile.UNCHANGED: 'unchanged'}
PKI_SECRETS = ('certificateData', 'privateKeyData', 'caData')
# Namespace of the ids derived for specs without connector_id: uuid5(NAMESPACE_URL,
# 'https://github.com/kibana-gitops/connectors#connector_id'). Fixed forever: changing it would make every
# name-only connector look new (docs/internals.md).
ID_NAMESPACE = uuid.UUID('ee56490c-d5b9-58ae-8d47-819a2a6ca3b1')


def derived_id(space_id, connector_type_id, name):
    """The id a spec without connector_id is created with: the same for every run, process and retry."""
    key = json.dumps([space_id or 'default', connector_type_id, name], separators=(',', ':'), ensure_ascii=False)
    return str(uuid.uuid5(ID_NAMESPACE, key))


class GuardError(Exception):
    """A safety guard refused the run as a whole, before any write."""


def parse_max_deletes(value):
    """max_deletes as ('count', n) or ('percent', p); None for no bound. Raises ValueError."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError('max_deletes must be a count (e.g. 5) or a percentage (e.g. "10%%"), got %r' % value)
    if isinstance(value, int):
        number, kind = value, 'count'
    else:
        match = re.match(r'^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$', str(value))
        if not match:
            raise ValueError('max_deletes must be a count (e.g. 5) or a percentage (e.g. "10%%"), got %r' % value)
        number, kind = float(match.group(1)), 'percent' if match.group(2) else 'count'
        if kind == 'count':
            if number != int(number):
                raise ValueError('max_deletes must be a whole number of connectors, got %r' % value)
            number = int(number)
    if number < 0 or (kind == 'percent' and number > 100):
        raise ValueError('max_deletes out of range: %r' % value)
    return kind, number


class SpecError(Exception):
    """One or more specs are invalid: nothing was sent to Kibana. ``errors`` as spec.py reports them."""

    def __init__(self, errors, warnings=()):
        self.errors = list(errors)
        self.warnings = list(warnings)
        super(SpecError, self).__init__(format_problems(self.errors))


def format_problems(problems):
    return '; '.join(spec_rules.format_problem(p) for p in problems)


def pki_supported(version):
    """Has Kibana ``version`` the .gen-ai PKI fields (versions.py: 8.19 / 9.1)? Unknown version: let Kibana decide."""
    if not versions.parse(version):
        return True
    return versions.supports('gen-ai-pki', version)


def _connector_label(spec):
    return spec.get('connector_id') or spec.get('name') or '(unnamed)'


class Engine(object):

    def __init__(self, client, check_mode=False, secrets_update='on_create', strict=False, max_workers=4,
                 kibana_version=None):
        self.client = client
        self.check_mode = check_mode
        self.secrets_update = secrets_update
        self.strict = strict
        self.max_workers = max(1, int(max_workers or 1))
        self.warnings = []
        # why ensure_set refused to prune at all (a guard tripped); None when it did not
        self.prune_refusal = None
        # results of state: absent specs that were refused (a delete asked for, and not done)
        self.refused_deletes = []
        # the release, when the caller read it already (the role, once per instance); else GET /api/status once
        self._kibana_version = versions.normalise(kibana_version) if kibana_version else None
        self.refused = []  # results of specs this Kibana's release cannot take (nothing was sent for them)

    # ------------------------------------------------------------------ the Kibana release
    @property
    def kibana_version(self):
        """The release of the Kibana this engine talks to (GET /api/status once; the client caches it)."""
        if self._kibana_version is None:
            try:
                self._kibana_version = versions.normalise(self.client.version()) or ''
            except KibanaError as exc:
                self._kibana_version = ''
                self.warnings.append('could not read the Kibana version from /api/status (%s): specs are validated '
                                     'for Kibana %s, the newest release the collection knows' % (exc, versions.NEWEST))
        return self._kibana_version or None

    @property
    def version_if_read(self):
        """The release, if it was read already (None otherwise; never sends a request)."""
        return self._kibana_version or None

    # ------------------------------------------------------------------ preparation (no writes)
    def prepare(self, specs, sources=None, allow_refusals=False):
        """Validate every spec for this Kibana's release and turn `pki:` into secrets, before any write.

        Raises SpecError when a spec is invalid for every release. A spec that only this release cannot take
        (another release would accept it) is refused: with ``allow_refusals`` it is left out and reported in
        ``self.refused`` (the rest of the set goes on); without, it raises SpecError.
        """
        # first offline, for the newest release: a spec no release accepts fails without a single request
        checker = _pki_checker()
        offline = spec_rules.validate_specs(specs, sources=sources, strict=self.strict, pki_checker=checker)
        hopeless = [e for errs in offline.errors_by_spec.values() if not spec_rules.version_refusal(errs) for e in errs]
        if hopeless:
            raise SpecError(hopeless, offline.warnings)
        version = self.kibana_version
        report = offline if versions.normalise(version) == offline.kibana_version else spec_rules.validate_specs(
            specs, sources=sources, strict=self.strict, pki_checker=checker, kibana_version=version)
        self.warnings.extend(format_problems([w]) for w in report.warnings)
        refused_at = set()
        if report.errors:
            hard = [e for i, errs in sorted(report.errors_by_spec.items())
                    if not (allow_refusals and spec_rules.version_refusal(errs)) for e in errs]
            if hard:
                raise SpecError(hard, report.warnings)
            for index, errs in sorted(report.errors_by_spec.items()):
                if errs:
                    refused_at.add(index)
                    self.refused.append(self._refusal(specs[index], errs, report.kibana_version))
        prepared = []
        errors = []
        for index, spec in enumerate(report.specs):
            if index in refused_at:
                continue
            spec = copy.deepcopy(spec)
            pki_block = spec.pop('pki', None)
            if pki_block and spec.get('state', 'present') == 'present':
                try:
                    secrets, _facts, warnings = _pki().secrets_from_pki(pki_block)
                except Exception as exc:  # PkiError: its message never carries key material
                    errors.append({'connector': _connector_label(spec), 'path': '/pki', 'message': str(exc)})
                    continue
                spec['secrets'] = dict(spec.get('secrets') or {}, **secrets)
                self.warnings.extend('connector %s: %s' % (_connector_label(spec), w) for w in warnings)
            prepared.append(spec)
        if errors:
            raise SpecError(errors)
        return prepared

    @staticmethod
    def _refusal(spec, errors, version):
        first = sorted(set(e['accepted_from'] for e in errors if e.get('accepted_from')), key=versions.parse)
        return {'connector_id': spec.get('connector_id'), 'name': spec.get('name'),
                'connector_type_id': spec.get('connector_type_id'), 'space_id': spec.get('space_id'),
                'action': 'refused', 'changed': False, 'kibana_version': version, 'version_refused': True,
                'accepted_from': first[-1] if first else None,
                'msg': 'Kibana %s cannot take this spec, nothing was sent: %s' % (version, format_problems(errors))}

    # ------------------------------------------------------------------ one connector
    def find_live(self, spec):
        """The live connector a spec means: by connector_id, else by name + type (must be unique)."""
        space = spec.get('space_id') or 'default'
        if spec.get('connector_id'):
            return self.client.get_connector(space, spec['connector_id'])
        return self._match_by_name(spec, self.client.list_connectors(space))

    @staticmethod
    def _match_by_name(spec, connectors):
        type_id = spec.get('connector_type_id')
        matches = [c for c in connectors if c.get('name') == spec.get('name')
                   and (not type_id or c.get('connector_type_id') == type_id)]
        if len(matches) > 1:
            raise reconcile.PlanError(
                'connector name %r (type %s) is ambiguous in space %s: %d connectors have it (ids: %s); '
                'set connector_id to say which one' % (spec.get('name'), spec.get('connector_type_id'),
                                                       spec.get('space_id') or 'default', len(matches),
                                                       ', '.join(sorted(c['id'] for c in matches))))
        return matches[0] if matches else None

    def ensure_one(self, spec, force=False):
        live = self.find_live(spec)
        if live and (spec.get('state') or 'present') == 'absent' and 'referenced_by_count' not in live:
            # Kibana's GET has no reference count; only the list has it
            space = spec.get('space_id') or 'default'
            listed = [c for c in self.client.list_connectors(space) if c.get('id') == live.get('id')]
            live = dict(live, referenced_by_count=(listed[0] if listed else {}).get('referenced_by_count') or 0)
        return self._reconcile(spec, live, force=force)

    # ------------------------------------------------------------------ a declarative set
    def ensure_set(self, specs, space_id, prune=False, managed_id_prefix=None, managed_ids=None, force=False,
                   prune_empty=False, max_deletes=None):
        """Reconcile a whole set for one space with one list request. Returns (results, summary).

        A failure of one connector is reported in its result; the others go on. A prune guard that trips
        refuses the whole prune (every candidate reported as refused, with the reason in self.prune_refusal).
        Raises GuardError, before any request, for prune of an empty set without prune_empty.
        """
        limit = parse_max_deletes(max_deletes)
        if prune and not prune_empty and not any((s.get('state') or 'present') == 'present' for s in specs):
            raise GuardError(
                'prune refused: the set for space %s holds no connector (%d spec(s), none with state present), so '
                'prune would delete every managed connector; if that is what you want, set prune_empty: true'
                % (space_id, len(specs)))
        live_all = self.client.list_connectors(space_id)
        by_id = dict((c['id'], c) for c in live_all)
        jobs = []
        for spec in specs:
            try:
                if spec.get('connector_id'):
                    live = by_id.get(spec['connector_id'])
                else:
                    live = self._match_by_name(spec, live_all)
                if not preconfigured_spec(spec):
                    self._plan(spec, live, force)  # plan errors now, before anything is written or pruned
                jobs.append((spec, live))
            except reconcile.PlanError as exc:
                jobs.append((spec, exc))
        wanted = set(s.get('connector_id') for s in specs if s.get('connector_id'))
        wanted |= set(live['id'] for _spec, live in jobs if isinstance(live, dict))
        # a name-only spec not found by name is created with its derived id: never prune that id
        wanted |= set(derived_id(space_id, s.get('connector_type_id'), s.get('name')) for s in specs
                      if not s.get('connector_id'))
        # a spec this release refused is still wanted: never prune what it names
        for refused in self.refused:
            if refused.get('connector_id'):
                wanted.add(refused['connector_id'])
            else:
                wanted.add(derived_id(space_id, refused.get('connector_type_id'), refused.get('name')))
                wanted |= set(c['id'] for c in live_all if c.get('name') == refused.get('name')
                              and c.get('connector_type_id') == refused.get('connector_type_id'))
        refusals = [dict(r) for r in self.refused if (r.get('space_id') or space_id) == space_id]
        if prune:
            candidates = []
            in_scope = 0
            for live in live_all:
                reason = self._prune_refusal(live, managed_id_prefix, managed_ids, force)
                if reason == 'unmanaged':
                    continue
                if not live.get('is_preconfigured') and not live.get('is_system_action'):
                    in_scope += 1
                if live['id'] in wanted:
                    continue
                if reason:
                    refusals.append(self._refused(live, reason))
                    continue
                candidates.append(live)
            self.prune_refusal = self._prune_guard(jobs, candidates, in_scope, limit, max_deletes)
            if self.prune_refusal:
                refusals += [self._refused(live, self.prune_refusal) for live in candidates]
                candidates = []
            for live in candidates:
                jobs.append(({'connector_id': live['id'], 'name': live.get('name'), 'space_id': space_id,
                              'connector_type_id': live.get('connector_type_id'), 'state': 'absent',
                              '_pruned': True}, live))

        def run(job):
            spec, live = job
            if isinstance(live, Exception):
                return self._failed(spec, live)
            try:
                result = self._reconcile(spec, live, force=True if spec.get('_pruned') else force)
            except (KibanaError, reconcile.PlanError) as exc:
                return self._failed(spec, exc)
            if spec.get('_pruned'):
                result['pruned'] = True
            elif result['action'] == 'refused':
                self.refused_deletes.append(result)
            return result

        # plans are cheap; only connectors that need a write go to the pool
        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            results = list(pool.map(run, jobs))
        results += refusals
        return results, summarise(results)

    @staticmethod
    def _prune_guard(jobs, candidates, in_scope, limit, max_deletes):
        """Why nothing at all may be pruned in this run, or None."""
        broken = [(spec, exc) for spec, exc in jobs if isinstance(exc, Exception)]
        if broken and candidates:
            return ('not pruned: %d spec(s) of this space could not be planned (%s), so the set is not known for sure; '
                    'fix them and run again' % (len(broken), '; '.join(
                        'connector %s: %s' % (_connector_label(spec), exc) for spec, exc in broken[:3])))
        if limit and candidates:
            kind, number = limit
            allowed = number if kind == 'count' else int(in_scope * number / 100.0)
            if len(candidates) > allowed:
                return ('not pruned: %d connector(s) would be pruned, more than max_deletes=%s allows (%d of %d managed '
                        'connector(s)); nothing was pruned. Check the specs (a misspelled folder or space?), or raise '
                        'max_deletes for this run' % (len(candidates), max_deletes, allowed, in_scope))
        return None

    @staticmethod
    def _refused(live, reason):
        return {'connector_id': live['id'], 'name': live.get('name'), 'action': 'refused', 'changed': False,
                'changes': [], 'msg': reason}

    @staticmethod
    def _prune_refusal(live, managed_id_prefix, managed_ids, force):
        """Why a connector outside the set must not be pruned ('unmanaged' = not ours: skip silently)."""
        in_scope = (managed_id_prefix and live['id'].startswith(managed_id_prefix)) or \
            (managed_ids and live['id'] in managed_ids)
        if not in_scope:
            return 'unmanaged'
        if live.get('is_preconfigured'):
            return 'preconfigured in kibana.yml: never pruned'
        if live.get('is_system_action'):
            return 'system connector: never pruned'
        return _referenced_refusal(live, force, 'pruned')

    @staticmethod
    def _failed(spec, exc):
        return {'connector_id': spec.get('connector_id'), 'name': spec.get('name'), 'action': 'failed',
                'changed': False, 'msg': 'connector %s: %s' % (_connector_label(spec), exc)}

    # ------------------------------------------------------------------ plan + write
    def _plan(self, spec, live, force=False):
        """The plan for one spec; raises PlanError for what cannot be done (and returns a refusal reason)."""
        plan = reconcile.plan_connector(spec, live, self.secrets_update, self._kibana_version or None)
        if plan.action == reconcile.UPDATE and not spec.get('secrets') and \
                reconcile.secrets_required(spec.get('connector_type_id')):
            raise reconcile.PlanError(
                'connector %s needs an update (%s) but the spec has no secrets: Kibana replaces the secrets on '
                'every update, so they must be sent again; add them to secrets (e.g. from a vault variable)'
                % (_connector_label(spec), ', '.join(plan.changes)))
        refusal = _referenced_refusal(live, force, 'deleted') if plan.action == reconcile.DELETE else None
        return plan, refusal

    def _reconcile(self, spec, live, force=False):
        if preconfigured_spec(spec):
            return _preconfigured_result(spec, live)
        plan, refusal = self._plan(spec, live, force)
        space = spec.get('space_id') or 'default'
        connector_id = plan.connector_id
        if plan.action == reconcile.CREATE and not connector_id:
            connector_id = derived_id(space, spec.get('connector_type_id'), spec.get('name'))
            plan.after['connector_id'] = connector_id
        result = {'connector_id': connector_id, 'name': spec.get('name'), 'action': PAST[plan.action],
                  'changed': plan.changed, 'changes': plan.changes, 'diff': plan.diff(),
                  'connector': _public(live)}
        if refusal:
            result.update(action='refused', changed=False, changes=[], msg=refusal,
                          diff={'before': plan.before, 'after': plan.before})
            return result
        if self.check_mode or plan.action == reconcile.UNCHANGED:
            return result
        if plan.action == reconcile.CREATE:
            connector, action, note = self._create(space, spec, connector_id)
            result['connector'] = _public(connector)
            result['connector_id'] = result['connector'].get('id') or connector_id
            if note:
                # another run (or a colleague) made it first, or our own answer was lost: say what really happened
                result.update(action=action, changed=action != 'unchanged', msg=note)
                if action == 'unchanged':
                    result['changes'] = []
        elif plan.action == reconcile.UPDATE:
            body = reconcile.request_body(spec, for_update=True)
            result['connector'] = _public(self.client.update_connector(space, live['id'], body))
        elif plan.action == reconcile.DELETE:
            self._delete(space, live['id'])
            result['connector'] = {}
        return result

    def _create(self, space, spec, connector_id):
        """Create at a fixed id. Returns (connector, action, note): what this run really did.

        A 409 means the id exists: our own earlier attempt whose answer was lost (the client re-sent it),
        or a concurrent run. Either way it is compared, never duplicated.
        """
        body = reconcile.request_body(spec)
        try:
            return self.client.create_connector(space, body, connector_id), 'created', None
        except KibanaError as exc:
            if exc.status != 409:
                raise
            live = self.client.get_connector(space, connector_id)
            if not live:
                raise
            if exc.retried:
                note = ('the answer to the create was lost and the re-sent create found connector %s: most likely '
                        'this run created it' % connector_id)
                connector, action = self._settle(space, spec, live)
                return connector, 'created' if action == 'unchanged' else action, note
            connector, action = self._settle(space, spec, live)
            note = ('connector %s already existed when this run created it (made by a concurrent run or by hand): '
                    '%s' % (connector_id, 'compared, nothing to change' if action == 'unchanged' else 'updated'))
            return connector, action, note

    def _settle(self, space, spec, live):
        plan = reconcile.plan_connector(spec, live, 'on_create', self._kibana_version or None)
        if plan.action == reconcile.UPDATE:
            body = reconcile.request_body(spec, for_update=True)
            return self.client.update_connector(space, live['id'], body), 'updated'
        return live, 'unchanged'

    def _delete(self, space, connector_id):
        try:
            self.client.delete_connector(space, connector_id)
        except KibanaError as exc:
            if exc.status != 404:  # 404 on a retried DELETE: the first one was applied
                raise


def _referenced_refusal(live, force, what):
    count = (live or {}).get('referenced_by_count') or 0
    if count > 0 and not force:
        return ('still referenced by %d rule(s) or other saved objects: not %s (set force: true to delete it anyway; '
                'the rules then lose this action)' % (count, what))
    return None


def preconfigured_spec(spec):
    """A spec marked ``kibana_yml.preconfigured``: kibana.yml declares it (role kibana_settings), the API never writes it."""
    return bool((spec.get('kibana_yml') or {}).get('preconfigured'))


def _preconfigured_result(spec, live):
    result = {'connector_id': spec.get('connector_id'), 'name': spec.get('name'), 'action': 'unchanged',
              'changed': False, 'changes': [], 'diff': {'before': {}, 'after': {}}, 'connector': _public(live),
              'preconfigured': True}
    if spec.get('state', 'present') == 'present' and not (live and live.get('is_preconfigured')):
        result.update(action='failed', msg='connector %s is marked kibana_yml.preconfigured but Kibana does not list it '
                                           'as preconfigured: render kibana.yml with the kibana_settings role (and '
                                           'restart Kibana) first, or drop the mark' % _connector_label(spec))
    return result


def _public(live):
    """A live connector as modules return it (Kibana never returns secrets; nothing to strip)."""
    return copy.deepcopy(live) if live else {}


def summarise(results):
    summary = dict((k, 0) for k in ('created', 'updated', 'deleted', 'unchanged', 'failed', 'refused'))
    for r in results:
        summary[r['action']] = summary.get(r['action'], 0) + 1
    summary['total'] = len(results)
    return summary


def _pki():
    from ansible_collections.kibana_gitops.connectors.plugins.module_utils import pki
    return pki


def _pki_checker():
    try:
        return _pki().check_spec_pki
    except ImportError:  # cryptography missing: the spec shape is still checked
        return None
