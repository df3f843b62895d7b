# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine behind `connector` and `connectors`: validate -> encode PKI -> plan -> write.

Both modules are faces of this one class: `ensure_one` reconciles a single spec (one GET by id,
or one list to find it by name), `ensure_set` a whole declarative set for one space (one list,
then only the writes needed, in bounded parallel). Writes survive a flaky network without
duplicating anything: a create to a fixed id that answers 409 after a lost response is compared
instead, a create without id whose answer was lost is looked up by name before it is re-sent,
and a delete that answers 404 on its retry is done.
"""
from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.kibana_gitops.connectors.plugins.module_utils.kibana import KibanaError
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import reconcile
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import spec as spec_rules
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import versions

PAST = {reconcile.CREATE: 'created', reconcile.UPDATE: 'updated', reconcile.DELETE: 'deleted',
        reconcile.UNCHANGED: 'unchanged'}
PKI_SECRETS = ('certificateData', 'privateKeyData', 'caData')


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

    def __init__(self, client, check_mode=False, secrets_update='on_create', strict=False, max_workers=4):
        self.client = client
        self.check_mode = check_mode
        self.secrets_update = secrets_update
        self.strict = strict
        self.max_workers = max(1, int(max_workers or 1))
        self.warnings = []
        self._kibana_version = None
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

    def ensure_one(self, spec):
        live = self.find_live(spec)
        return self._reconcile(spec, live)

    # ------------------------------------------------------------------ a declarative set
    def ensure_set(self, specs, space_id, prune=False, managed_id_prefix=None, managed_ids=None, force=False):
        """Reconcile a whole set for one space with one list request. Returns (results, summary).

        A failure of one connector is reported in its result; the others go on.
        """
        live_all = self.client.list_connectors(space_id)
        by_id = dict((c['id'], c) for c in live_all)
        jobs = []
        for spec in specs:
            try:
                if spec.get('connector_id'):
                    live = by_id.get(spec['connector_id'])
                else:
                    live = self._match_by_name(spec, live_all)
                jobs.append((spec, live))
            except reconcile.PlanError as exc:
                jobs.append((spec, exc))
        wanted = set(s.get('connector_id') for s in specs if s.get('connector_id'))
        wanted |= set(live['id'] for _spec, live in jobs if isinstance(live, dict))
        # a spec this release refused is still wanted: never prune what it names
        for refused in self.refused:
            if refused.get('connector_id'):
                wanted.add(refused['connector_id'])
            else:
                wanted |= set(c['id'] for c in live_all if c.get('name') == refused.get('name')
                              and c.get('connector_type_id') == refused.get('connector_type_id'))
        refusals = [dict(r) for r in self.refused if (r.get('space_id') or space_id) == space_id]
        if prune:
            for live in live_all:
                if live['id'] in wanted:
                    continue
                reason = self._prune_refusal(live, managed_id_prefix, managed_ids, force)
                if reason == 'unmanaged':
                    continue
                if reason:
                    refusals.append({'connector_id': live['id'], 'name': live.get('name'), 'action': 'refused',
                                     'changed': False, 'msg': reason})
                    continue
                jobs.append(({'connector_id': live['id'], 'name': live.get('name'), 'space_id': space_id,
                              'connector_type_id': live.get('connector_type_id'), 'state': 'absent',
                              '_pruned': True}, live))

        def run(job):
            spec, live = job
            if isinstance(live, Exception):
                return self._failed(spec, live)
            try:
                result = self._reconcile(spec, live)
            except (KibanaError, reconcile.PlanError) as exc:
                return self._failed(spec, exc)
            if spec.get('_pruned'):
                result['pruned'] = True
            return result

        # plans are cheap; only connectors that need a write go to the pool
        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            results = list(pool.map(run, jobs))
        results += refusals
        return results, summarise(results)

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
        if (live.get('referenced_by_count') or 0) > 0 and not force:
            return ('still referenced by %d rule(s) or other saved objects: not pruned (set force: true to delete '
                    'it anyway)' % live['referenced_by_count'])
        return None

    @staticmethod
    def _failed(spec, exc):
        return {'connector_id': spec.get('connector_id'), 'name': spec.get('name'), 'action': 'failed',
                'changed': False, 'msg': 'connector %s: %s' % (_connector_label(spec), exc)}

    # ------------------------------------------------------------------ plan + write
    def _reconcile(self, spec, live):
        plan = reconcile.plan_connector(spec, live, self.secrets_update, self._kibana_version or None)
        space = spec.get('space_id') or 'default'
        result = {'connector_id': plan.connector_id, 'name': spec.get('name'), 'action': PAST[plan.action],
                  'changed': plan.changed, 'changes': plan.changes, 'diff': plan.diff(),
                  'connector': _public(live)}
        if plan.action == reconcile.UPDATE and not spec.get('secrets') and \
                reconcile.secrets_required(spec.get('connector_type_id')):
            raise reconcile.PlanError(
                'connector %s needs an update (%s) but the spec has no secrets: Kibana replaces the secrets on '
                'every update, so they must be sent again; add them to secrets (e.g. from a vault variable)'
                % (_connector_label(spec), ', '.join(plan.changes)))
        if self.check_mode or plan.action == reconcile.UNCHANGED:
            return result
        if plan.action == reconcile.CREATE:
            result['connector'] = _public(self._create(space, spec))
            result['connector_id'] = result['connector'].get('id')
        elif plan.action == reconcile.UPDATE:
            body = reconcile.request_body(spec, for_update=True)
            result['connector'] = _public(self.client.update_connector(space, live['id'], body))
        elif plan.action == reconcile.DELETE:
            self._delete(space, live['id'])
            result['connector'] = {}
        return result

    def _create(self, space, spec):
        body = reconcile.request_body(spec)
        connector_id = spec.get('connector_id')
        try:
            return self.client.create_connector(space, body, connector_id)
        except KibanaError as exc:
            if connector_id and exc.status == 409:
                # our own create whose answer was lost (the retry found it), or a race: compare, don't fail
                live = self.client.get_connector(space, connector_id)
                return self._settle(space, spec, live) if live else _raise(exc)
            if connector_id or not exc.connection_failed:
                raise
        # no answer to a POST without id: it may have been applied. Look before sending it again.
        live = self._match_by_name(spec, self.client.list_connectors(space))
        if live:
            return self._settle(space, spec, live)
        return self.client.create_connector(space, body)

    def _settle(self, space, spec, live):
        plan = reconcile.plan_connector(spec, live, 'on_create', self._kibana_version or None)
        if plan.action == reconcile.UPDATE:
            return self.client.update_connector(space, live['id'], reconcile.request_body(spec, for_update=True))
        return live

    def _delete(self, space, connector_id):
        try:
            self.client.delete_connector(space, connector_id)
        except KibanaError as exc:
            if exc.status != 404:  # 404 on a retried DELETE: the first one was applied
                raise


def _raise(exc):
    raise exc


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
