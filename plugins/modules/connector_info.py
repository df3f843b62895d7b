#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: connector_info
short_description: Read Kibana connectors and connector types
version_added: 0.1.0
description:
  - Lists the connectors of one Kibana space (including preconfigured ones), optionally filtered by id, name
    or type, with one request.
  - Optionally lists the connector types Kibana knows, with whether each is enabled and the licence it needs.
  - Kibana never returns secrets, so none are returned.
  - With O(export=true) or O(export_dir), the connectors are also returned (and written) as specs for a GitOps
    repository, to adopt connectors that were made by hand. Secrets become placeholders such as
    C({{ vault_local_llm_apikey }}); once those variables are defined, applying the files changes nothing.
    Preconfigured and system connectors are not exported.
author:
  - Kibana GitOps maintainers (@kibana-gitops)
extends_documentation_fragment:
  - kibana_gitops.connectors.kibana
attributes:
  check_mode:
    support: full
    description: Only reads Kibana. With O(export_dir), reports which files would change without writing them.
  diff_mode:
    support: none
    description: Nothing is changed in Kibana, so there is nothing to diff.
requirements:
  - PyYAML (only for O(export_dir); a dependency of ansible-core)
options:
  connector_ids:
    description: Return only connectors with these ids.
    type: list
    elements: str
  names:
    description: Return only connectors with these names (exact match).
    type: list
    elements: str
  connector_type_ids:
    description: Return only connectors of these types, for example V(.gen-ai).
    type: list
    elements: str
  connector_types:
    description: Also return the connector types Kibana knows (RV(connector_types)).
    type: bool
    default: false
  export:
    description: Also return the connectors as specs (RV(specs)), secrets as placeholders.
    type: bool
    default: false
  export_dir:
    description:
      - Write each exported spec to C(<export_dir>/<connector_id>.yml) (implies O(export=true)). Only files whose
        content differs are written; the folder is created if needed.
      - The file name is the connector id with every character other than letters, digits, C(_), C(-) and a C(.)
        that is not the first one written as C(%XX) (C(a/b) becomes C(a%2Fb.yml), C(.hidden) becomes
        C(%2Ehidden.yml)), so every connector gets its own file inside O(export_dir), and the loaders do not skip it.
      - An existing file is only replaced when it holds the same connector (its C(connector_id)). A file that holds
        something else, or a symbolic link, is never overwritten - the task fails and lists it, after writing the
        other files. Files are replaced atomically.
      - Strings from Kibana that contain C({{), C({%) or C({#) are written with the C(!unsafe) tag, so loading the
        files never evaluates them as Jinja (see C(docs/gitops.md)).
    type: path
  usage_dashboard:
    description:
      - Also report, for each AI connector returned (V(.gen-ai), V(.bedrock), V(.gemini)), its token usage dashboard
        in RV(connectors[].usage_dashboard), by asking Kibana with the connector's C(getDashboard) sub-action, as the
        connector's page in Kibana does. One request per AI connector.
      - Kibana answers for the user the module authenticates as. Without C(read) on C(.kibana-event-log-*)
        (see M(kibana_gitops.connectors.usage_role)) the dashboard is reported with C(available=false) and a reason.
      - Like opening the connector's page, this makes Kibana create the dashboard in the space if it is missing.
    type: bool
    default: false
  schema_url:
    description:
      - URL or path of C(connector-spec.schema.json) to put in each exported file's C(yaml-language-server) header,
        so editors validate the file.
    type: str
seealso:
  - module: kibana_gitops.connectors.connector
"""

EXAMPLES = r"""
- name: All OpenAI connectors of the security space
  kibana_gitops.connectors.connector_info:
    kibana_url: https://kibana.example.com:5601
    api_key: "{{ vault_kibana_api_key }}"
    space_id: security
    connector_type_ids: [.gen-ai]
  register: llm_connectors

- name: Which connector types are enabled under the current licence?
  kibana_gitops.connectors.connector_info:
    connector_types: true
  register: info

- ansible.builtin.debug:
    msg: "{{ info.connector_types | selectattr('enabled') | map(attribute='id') | list }}"

- name: Where is each LLM connector's token usage dashboard, and may this user see it?
  kibana_gitops.connectors.connector_info:
    connector_type_ids: [.gen-ai, .bedrock, .gemini]
    usage_dashboard: true
  register: llm

- ansible.builtin.debug:
    msg: "{{ llm.connectors | map(attribute='usage_dashboard') | list }}"

- name: Adopt the connectors made by hand in the ops space into git
  kibana_gitops.connectors.connector_info:
    space_id: ops
    export_dir: "{{ playbook_dir }}/connectors/ops"
"""

RETURN = r"""
connectors:
  description: The connectors of the space that match the filters, sorted by name as Kibana sorts them.
  returned: always
  type: list
  elements: dict
  sample:
    - id: local-llm
      name: Local LLM (Llama 3.1)
      connector_type_id: .gen-ai
      config: {apiProvider: Other, apiUrl: "https://llm-gw.example.com/v1/chat/completions", defaultModel: llama3.1}
      is_preconfigured: false
      is_deprecated: false
      is_missing_secrets: false
      is_system_action: false
      referenced_by_count: 0
      usage_dashboard:
        available: true
        dashboard_id: generative-ai-token-usage-openai-default
        url: "https://kibana.example.com/app/dashboards#/view/generative-ai-token-usage-openai-default?_a=(query:(...))"
        reason: null
  contains:
    usage_dashboard:
      description:
        - The connector's token usage dashboard (AI connectors only, with O(usage_dashboard=true)).
        - C(available) is what Kibana's C(getDashboard) answered for the user the module authenticates as; C(url) links
          to the dashboard filtered on the connector (null when not available); C(reason) says why it is not available.
      type: dict
      returned: with O(usage_dashboard=true), for C(.gen-ai), C(.bedrock) and C(.gemini) connectors
      contains:
        available:
          description: Whether the user may view the dashboard (Kibana created it in the space if needed).
          type: bool
        dashboard_id:
          description: The dashboard's id, C(generative-ai-token-usage-<openai|bedrock|gemini>-<space>).
          type: str
        url:
          description: Link to the dashboard, filtered on the connector.
          type: str
        reason:
          description: Why the dashboard is not available (null when it is).
          type: str
connector_types:
  description: The connector types Kibana knows, as Kibana lists them.
  returned: when O(connector_types=true)
  type: list
  elements: dict
  sample:
    - id: .gen-ai
      name: OpenAI
      enabled: true
      enabled_in_config: true
      enabled_in_license: true
      minimum_license_required: enterprise
specs:
  description: The connectors as specs, secrets as placeholders (see O(export)).
  returned: when O(export=true) or O(export_dir) is set
  type: list
  elements: dict
  sample:
    - connector_id: local-llm
      name: Local LLM (Llama 3.1)
      connector_type_id: .gen-ai
      space_id: default
      config: {apiProvider: Other, apiUrl: "https://llm-gw.example.com/v1/chat/completions", defaultModel: llama3.1}
      secrets: {apiKey: "{{ vault_local_llm_apikey }}"}
exported_files:
  description: The files written (or, in check mode, that would be written) under O(export_dir).
  returned: when O(export_dir) is set
  type: list
  elements: str
kibana_version:
  description:
    - The release of this Kibana instance (from C(GET /api/status)), so a fleet report can say which instance runs
      what. Null when Kibana does not tell.
  returned: always
  type: str
  sample: 9.2.0
refused:
  description: Files not written, each with the reason (the task fails when there is one).
  returned: when a file under O(export_dir) was refused
  type: list
  elements: str
  sample: ["/repo/connectors/ops/a_b.yml: exists and does not hold connector a_b; not overwritten"]
"""

import os

from ansible_collections.kibana_gitops.connectors.plugins.module_utils.deps import missing_lib
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.module_base import KibanaModule
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.kibana import KibanaError
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import export, files
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import spec_files
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import usage


def _keep(connector, params):
    for option, field in (('connector_ids', 'id'), ('names', 'name'), ('connector_type_ids', 'connector_type_id')):
        if params.get(option) and connector.get(field) not in params[option]:
            return False
    return True


def main():
    module = KibanaModule(
        argument_spec=dict(
            connector_ids=dict(type='list', elements='str'),
            names=dict(type='list', elements='str'),
            connector_type_ids=dict(type='list', elements='str'),
            connector_types=dict(type='bool', default=False),
            export=dict(type='bool', default=False),
            export_dir=dict(type='path'),
            schema_url=dict(type='str'),
            usage_dashboard=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    space = module.params['space_id']
    result = dict(changed=False)
    try:
        result['connectors'] = [c for c in module.client.list_connectors(space) if _keep(c, module.params)]
        if module.params['connector_types']:
            result['connector_types'] = module.client.list_connector_types(space)
    except KibanaError as exc:
        module.fail_kibana(exc)
    try:
        result['kibana_version'] = module.client.version() or None
    except KibanaError:
        result['kibana_version'] = None  # an old proxy may hide /api/status; the connectors were read
    if module.params['usage_dashboard']:
        add_usage_dashboards(module, space, result['connectors'])
    if module.params['export'] or module.params['export_dir']:
        result['specs'] = [export.spec_from_connector(c, space) for c in result['connectors'] if export.exportable(c)]
    if module.params['export_dir']:
        result['exported_files'] = write_specs(module, result['specs'])
        result['changed'] = bool(result['exported_files'])
    module.exit_json(**result)


def add_usage_dashboards(module, space, connectors):
    """connectors[].usage_dashboard for the AI connectors (getDashboard, as the connector's page asks)."""
    for connector in connectors:
        dash_id = usage.dashboard_id(connector.get('connector_type_id'), space)
        if dash_id is None:
            continue
        try:
            answer = module.client.get_dashboard(space, connector['id'], dash_id)
        except KibanaError as exc:
            connector['usage_dashboard'] = usage.usage_dashboard(module.params['kibana_url'], space, connector, error=exc)
            continue
        connector['usage_dashboard'] = usage.usage_dashboard(module.params['kibana_url'], space, connector, answer)


def _holds_connector(path, connector_id):
    """True when the spec file at path describes connector_id (a file export may replace)."""
    specs, _sources, errors = spec_files.load_spec_file(path)
    return not errors and len(specs) == 1 and isinstance(specs[0], dict) and specs[0].get('connector_id') == connector_id


def write_specs(module, specs):
    """Write one file per spec; return the paths whose content changed. Never writes outside export_dir, never
    through a symbolic link, never over a file that holds another connector (the task fails listing those)."""
    if not export.HAS_YAML:
        module.fail_json(msg=missing_lib('PyYAML'))
    folder = os.path.abspath(module.params['export_dir'])
    changed, refused, taken = [], [], {}
    for spec in specs:
        name = export.file_name(spec['connector_id'])
        path = os.path.join(folder, name)
        if os.path.dirname(path) != folder or name.startswith('.'):  # cannot happen with file_name; kept as a guard
            refused.append('%s: connector %s would be written outside export_dir' % (name, spec['connector_id']))
            continue
        if name.lower() in taken:
            refused.append('%s: connectors %s and %s would share this file' % (path, taken[name.lower()], spec['connector_id']))
            continue
        taken[name.lower()] = spec['connector_id']
        text = export.spec_file_text(spec, module.params['schema_url'])
        if os.path.islink(path):
            refused.append('%s: is a symbolic link; not written (connector %s)' % (path, spec['connector_id']))
            continue
        if os.path.exists(path):
            with open(path, 'rb') as f:
                if f.read() == text.encode('utf-8'):
                    continue
            if not _holds_connector(path, spec['connector_id']):
                refused.append('%s: exists and does not hold connector %s; not overwritten' % (path, spec['connector_id']))
                continue
        changed.append(path)
        if not module.check_mode:
            files.write_atomically(path, text)
    if refused:
        module.fail_json(msg='export: %d file(s) not written:\n%s' % (len(refused), '\n'.join(refused)),
                         changed=bool(changed) and not module.check_mode, exported_files=changed,
                         specs=specs, refused=refused)
    return changed


if __name__ == '__main__':
    main()
