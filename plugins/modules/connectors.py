#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: connectors
short_description: Apply a declarative set of Kibana connectors to one space, with safe prune
version_added: 0.1.0
description:
  - Makes one Kibana space hold exactly the given set of connectors. It creates what is missing, updates what
    differs, deletes specs with C(state=absent) and, with O(prune=true), deletes connectors that the set no
    longer holds within a declared managed scope.
  - The same engine as M(kibana_gitops.connectors.connector), for a whole set at once. Every spec is validated
    first and nothing is written when any of them is invalid. Then one list request reads the space, and only
    the writes that are needed are sent, a few at a time in parallel. A no-op run costs one request.
  - One connector failing does not stop the others; the task fails at the end and RV(results) says which
    failed and why.
  - The Kibana release is read once (C(GET /api/status)) and every spec is validated with that release's rules
    (the collection's table of version facts). A spec only that release cannot take (for example PKI before
    Kibana 8.19 / 9.1, or C(.slack_api) channels without ids before 9.3) is refused before any write, with the
    release and the first release that accepts it; the rest of the set is applied, and the task fails at the
    end. Prune never deletes a connector a refused spec names.
  - Prune never touches connectors outside the managed scope, preconfigured or system connectors, nor a
    connector still referenced by rules (C(referenced_by_count) > 0) unless O(force=true). Refusals are listed
    in RV(results) with the reason.
  - Prune guards against accidents - an empty set (no spec with C(state=present)) is refused unless
    O(prune_empty=true); when any spec of the set cannot be planned (an ambiguous name, a type change, ...)
    nothing is pruned; more deletions than O(max_deletes) refuse the whole prune. A refused prune fails the task
    after the other writes, with every connector it spared listed as V(refused).
  - A spec without C(connector_id) is created with an id derived from its space, type and name (a UUIDv5), so
    a create that was re-sent after a lost or slow answer, or that a concurrent run made first, is compared
    instead of duplicated. Two such specs with the same name and type in one set are an error.
  - A C(state=absent) spec of a connector still referenced by rules is refused unless O(force=true).
author:
  - Kibana GitOps maintainers (@kibana-gitops)
extends_documentation_fragment:
  - kibana_gitops.connectors.kibana
attributes:
  check_mode:
    support: full
    description: Reads the space once and reports exactly what would be created, updated, deleted and pruned.
  diff_mode:
    support: full
    description: One before/after per changed connector; secret values are never shown.
requirements:
  - jsonschema (the specs are validated before any request)
  - cryptography (only for specs with C(pki))
options:
  specs:
    description:
      - The connectors, each in the spec shape of M(kibana_gitops.connectors.connector) (C(connector_id),
        C(name), C(connector_type_id), C(state), C(config), C(secrets), C(pki)).
      - A spec's C(space_id), when given, must be O(space_id).
    type: list
    elements: dict
    required: true
  prune:
    description:
      - Delete connectors of the space that no spec names, within the managed scope (O(managed_id_prefix),
        O(managed_ids)). At least one of the two is required with O(prune=true).
    type: bool
    default: false
  managed_id_prefix:
    description:
      - Connectors whose id starts with this prefix belong to this set (for example V(gitops-)).
    type: str
  managed_ids:
    description:
      - Ids of connectors that belong to this set even when no spec names them any more.
    type: list
    elements: str
  force:
    description:
      - Prune, or delete with C(state=absent), connectors even when rules still reference them. The rules then
        lose their action.
    type: bool
    default: false
  prune_empty:
    description:
      - Allow O(prune=true) with a set that holds no connector (no spec with C(state=present)), which deletes every
        connector of the managed scope. Without it such a run fails before any request, because an empty set is
        far more often a mistake (a misspelled folder, a failed templating) than an intent.
    type: bool
    default: false
  max_deletes:
    description:
      - The most connectors one run may prune, as a count (V(5)) or a percentage of the connectors in the managed
        scope of the space (V(10%)). When the prune would delete more, it deletes none, reports each as
        V(refused) and fails the task. Unset means no bound. C(state=absent) specs are not counted.
    type: raw
  secrets_update:
    description:
      - As in M(kibana_gitops.connectors.connector). V(always) updates every connector that has secrets.
    type: str
    choices: [on_create, always]
    default: on_create
  parallel_writes:
    description:
      - How many writes run at the same time. Kibana handles a few well; keep it small on a busy Kibana.
    type: int
    default: 4
  kibana_version:
    description:
      - The release of this Kibana, when the caller has already read it from C(GET /api/status) (the connectors role
        does, once per instance); the module then does not read it again. Without it the module reads it once.
      - Give what Kibana reports, not a wish; the specs are validated, and server defaults compared, for this release.
    type: str
  strict:
    description:
      - Treat validation warnings (for example a spec without C(connector_id)) as errors.
    type: bool
    default: false
seealso:
  - module: kibana_gitops.connectors.connector
  - module: kibana_gitops.connectors.connector_spec
"""

EXAMPLES = r"""
- name: Everything in git for the security space; delete what was removed from git
  kibana_gitops.connectors.connectors:
    kibana_url: https://kibana.example.com:5601
    api_key: "{{ vault_kibana_api_key }}"
    space_id: security
    specs: "{{ query('ansible.builtin.file', *query('ansible.builtin.fileglob', 'connectors/security/*.yml')) | map('ansible.builtin.from_yaml') | list }}"
    prune: true
    managed_id_prefix: gitops-

- name: Show drift without changing anything (run with --check --diff)
  kibana_gitops.connectors.connectors:
    specs: "{{ connectors_specs }}"
  check_mode: true
  register: drift

- name: Fail the pipeline on drift
  ansible.builtin.fail:
    msg: "Drifted: {{ drift.results | selectattr('changed') | map(attribute='connector_id') | list }}"
  when: drift.changed
"""

RETURN = r"""
results:
  description: One entry per connector, in the order of O(specs), then pruned and refused ones.
  returned: always
  type: list
  elements: dict
  contains:
    connector_id:
      description: The connector's id (generated by Kibana for a new connector without one).
      type: str
    name:
      description: The connector's name.
      type: str
    action:
      description: What was done, or would be done in check mode.
      type: str
      choices: [created, updated, deleted, unchanged, failed, refused]
    changed:
      description: Whether the connector was (or would be) written.
      type: bool
    changes:
      description: The fields that differ (C(name), C(config.<field>), C(secrets)).
      type: list
      elements: str
    pruned:
      description: True when the connector was deleted because the set no longer holds it.
      type: bool
    msg:
      description:
        - Why the connector failed or was refused; for a create that found the connector already there (made by
          a concurrent run), what happened instead.
      type: str
    version_refused:
      description: True when the spec was refused because this Kibana release cannot take it (nothing was sent).
      type: bool
    accepted_from:
      description: With RV(results[].version_refused), the first Kibana release that accepts the spec, if any.
      type: str
  sample:
    - {connector_id: gitops-slack, name: Slack on-call, action: unchanged, changed: false, changes: []}
    - {connector_id: gitops-llm, name: Local LLM, action: updated, changed: true, changes: [config.defaultModel]}
    - {connector_id: gitops-old, name: Old hook, action: refused, changed: false,
       msg: "still referenced by 2 rule(s) or other saved objects: not pruned (set force: true to delete it anyway;
       the rules then lose this action)"}
summary:
  description: How many connectors were created, updated, deleted, unchanged, failed and refused.
  returned: always
  type: dict
  sample: {created: 1, updated: 1, deleted: 0, unchanged: 12, failed: 0, refused: 1, total: 15}
kibana_version:
  description: The Kibana release the specs were validated for (read from C(GET /api/status)).
  returned: always
  type: str
  sample: 9.2.0
"""

from ansible_collections.kibana_gitops.connectors.plugins.module_utils.module_base import KibanaModule, mask_spec_secrets
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.engine import Engine, GuardError, SpecError
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.engine import parse_max_deletes
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.kibana import KibanaError


def main():
    module = KibanaModule(
        validates_specs=True,
        argument_spec=dict(
            # `specs` is free-form, so Ansible cannot know which values in it are secret. no_log on the whole list
            # registers every value before Ansible's own argument checks run (one failing, e.g. prune: maybe,
            # would otherwise print the specs with their secrets at -vvv); mask_spec_secrets then unmasks the
            # values that are not secret (names, ids, URLs) for the results and diffs.
            specs=dict(type='list', elements='dict', required=True, no_log=True),
            prune=dict(type='bool', default=False),
            managed_id_prefix=dict(type='str'),
            managed_ids=dict(type='list', elements='str'),
            force=dict(type='bool', default=False),
            prune_empty=dict(type='bool', default=False),
            max_deletes=dict(type='raw'),
            secrets_update=dict(type='str', default='on_create', choices=['on_create', 'always']),
            parallel_writes=dict(type='int', default=4),
            strict=dict(type='bool', default=False),
            kibana_version=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    params = module.params
    mask_spec_secrets(module, params['specs'])
    space = params['space_id']
    if params['prune'] and not (params['managed_id_prefix'] or params['managed_ids']):
        module.fail_json(msg='prune needs a managed scope: set managed_id_prefix and/or managed_ids, so that '
                             'connectors this set does not own are never deleted')
    try:
        parse_max_deletes(params['max_deletes'])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    specs = []
    for index, spec in enumerate(params['specs']):
        spec = dict(spec)
        if spec.setdefault('space_id', space) != space:
            module.fail_json(msg='specs[%d] (connector %s) is for space %s but this task manages space %s; apply '
                                 'each space in its own task' % (index, spec.get('connector_id') or spec.get('name'),
                                                                 spec['space_id'], space))
        specs.append(spec)
    engine = Engine(module.client, check_mode=module.check_mode, secrets_update=params['secrets_update'],
                    strict=params['strict'], max_workers=params['parallel_writes'],
                    kibana_version=params['kibana_version'])
    try:
        prepared = engine.prepare(specs, allow_refusals=True)
        results, summary = engine.ensure_set(prepared, space, prune=params['prune'],
                                             managed_id_prefix=params['managed_id_prefix'],
                                             managed_ids=params['managed_ids'], force=params['force'],
                                             prune_empty=params['prune_empty'], max_deletes=params['max_deletes'])
    except SpecError as exc:
        module.fail_json(msg='invalid connector specs, nothing was sent to Kibana: %s' % exc, errors=exc.errors,
                         kibana_version=engine.version_if_read)
    except GuardError as exc:
        module.fail_json(msg=str(exc), kibana_version=engine.version_if_read)
    except KibanaError as exc:
        module.fail_kibana(exc)
    for warning in engine.warnings:
        module.warn(warning)
    diffs = []
    for r in results:
        diff = r.pop('diff', None)
        r.pop('connector', None)  # a set of hundreds: keep the result small
        if r['changed'] and diff:
            diffs.append(dict(diff, before_header='%s (Kibana)' % r['connector_id'],
                              after_header='%s (spec)' % r['connector_id']))
    changed = any(r['changed'] for r in results)
    version = engine.kibana_version
    refused = [r for r in results if r.get('version_refused')]
    if engine.prune_refusal and not summary['failed'] and not refused:
        module.fail_json(msg='prune refused in space %s: %s' % (space, engine.prune_refusal), changed=changed,
                         results=results, summary=summary, diff=diffs, kibana_version=version)
    if engine.refused_deletes and not summary['failed'] and not refused:
        module.fail_json(msg='%d connector(s) with state absent were not deleted: %s' % (
            len(engine.refused_deletes), '; '.join('%s: %s' % (r['connector_id'], r['msg']) for r in engine.refused_deletes)),
            changed=changed, results=results, summary=summary, diff=diffs, kibana_version=version)
    if summary['failed'] or refused:
        problems = [r['msg'] for r in results if r['action'] == 'failed'] + [r['msg'] for r in refused]
        if engine.prune_refusal:
            problems.append('prune refused: %s' % engine.prune_refusal)
        problems += ['%s: %s' % (r['connector_id'], r['msg']) for r in engine.refused_deletes]
        head = '%d of %d connectors failed' % (summary['failed'], len(results))
        if refused:
            head += ', %d refused by Kibana %s' % (len(refused), version)
        module.fail_json(msg='%s: %s' % (head, '; '.join(problems)), changed=changed, results=results,
                         summary=summary, diff=diffs, kibana_version=version)
    module.exit_json(changed=changed, results=results, summary=summary, diff=diffs, kibana_version=version)


if __name__ == '__main__':
    main()
