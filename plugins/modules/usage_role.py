#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: usage_role
short_description: A Kibana role that may view the AI connectors' token usage dashboard
version_added: 0.2.0
description:
  - Makes sure a Kibana role exists with the minimum privileges Elastic documents for viewing the OpenAI (and
    Amazon Bedrock, Google Gemini) token usage dashboard, through Kibana's role API
    (C(PUT /api/security/role/{name})). Assign the role to non-admin users who should see the dashboard.
  - The privileges are C(read) and C(view_index_metadata) on the C(.kibana-event-log-*) index and the Kibana
    C(read) base privilege in O(spaces). Kibana's C(getDashboard) sub-action answers C(available=false) for a user
    without C(read) on C(.kibana-event-log-*); see the C(usage_dashboard) option of M(kibana_gitops.connectors.connector_info).
  - The module only writes the privileges it owns, in a role that may hold others. It owns the index privilege entry
    whose C(names) are exactly C(.kibana-event-log-*), the Kibana privilege entry for exactly O(spaces), and one
    metadata key (C(kibana_gitops_usage_role)) that remembers O(spaces), so that a change of O(spaces) moves the grant.
    Cluster privileges, other index entries, C(run_as), other Kibana entries, the rest of the metadata and the
    description are written back as Kibana returned them.
  - Idempotent - the role Kibana returns (with its own defaults filled in, such as C(allow_restricted_indices=false))
    is compared with the role the module would write; nothing is sent when they are equal.
  - Roles are global in Kibana; O(space_id) is not used.
author:
  - Kibana GitOps maintainers (@kibana-gitops)
extends_documentation_fragment:
  - kibana_gitops.connectors.kibana
attributes:
  check_mode:
    support: full
    description: Reads the role and reports what would change; writes nothing.
  diff_mode:
    support: full
    description: The role before and after, as Kibana's role API shapes it.
options:
  name:
    description: The role's name.
    type: str
    default: connector-usage-viewer
  spaces:
    description:
      - The Kibana spaces in which the role grants C(read). V(*) (the default) means every space, including spaces
        created later.
      - Kibana allows one privilege entry per space. If the role already grants Kibana privileges for some of these
        spaces in another entry, the module fails and names that entry rather than rewrite it.
    type: list
    elements: str
    default: ['*']
  description:
    description:
      - The role's description. When omitted, a new role gets a description that says what it is for, and an existing
        role keeps its own.
    type: str
  state:
    description:
      - V(present) adds the module's privileges to the role (creating the role if needed).
      - V(absent) removes them; the role is deleted when nothing else is left in it, otherwise the rest is kept.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: kibana_gitops.connectors.connector_info
  - name: Kibana role management API
    description: Create or update a role.
    link: https://www.elastic.co/docs/api/doc/kibana/operation/operation-put-security-role-name
"""

EXAMPLES = r"""
- name: Non-admin users may view the token usage dashboard in every space
  kibana_gitops.connectors.usage_role:
    kibana_url: https://kibana.example.com:5601
    api_key: "{{ vault_kibana_api_key }}"

- name: The same, for the security and observability spaces only, under another name
  kibana_gitops.connectors.usage_role:
    name: llm-usage-viewer
    spaces: [security, observability]
    description: LLM cost owners (team FinOps)

- name: Take the dashboard privileges back (the role goes if nothing else is in it)
  kibana_gitops.connectors.usage_role:
    name: llm-usage-viewer
    spaces: [security, observability]
    state: absent
"""

RETURN = r"""
action:
  description: What was done (or, in check mode, would be done).
  returned: always
  type: str
  choices: [created, updated, deleted, unchanged]
  sample: created
role:
  description: The role as Kibana's role API returns it after the change (empty when deleted or absent).
  returned: always
  type: dict
  sample:
    name: connector-usage-viewer
    description: Can view the token usage dashboard of the AI connectors (OpenAI, Bedrock, Gemini).
    metadata: {kibana_gitops_usage_role: {spaces: ['*']}}
    elasticsearch:
      cluster: []
      indices: [{names: ['.kibana-event-log-*'], privileges: [read, view_index_metadata], allow_restricted_indices: false}]
      run_as: []
    kibana: [{base: [read], feature: {}, spaces: ['*']}]
"""

from ansible_collections.kibana_gitops.connectors.plugins.module_utils.module_base import KibanaModule
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.kibana import KibanaError
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import usage


def main():
    module = KibanaModule(
        argument_spec=dict(
            name=dict(type='str', default=usage.DEFAULT_ROLE_NAME),
            spaces=dict(type='list', elements='str', default=['*']),
            description=dict(type='str'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
        ),
        supports_check_mode=True,
    )
    name = module.params['name']
    if not name or len(name) > 1024:
        module.fail_json(msg='name must be 1 to 1024 characters long')
    try:
        live = module.client.get_role(name)
        action, body, before, after = usage.plan_role(live, module.params['spaces'], module.params['state'],
                                                      module.params['description'])
    except usage.RoleError as exc:
        module.fail_json(msg='role %s: %s' % (name, exc))
    except KibanaError as exc:
        module.fail_kibana(exc)
    result = dict(changed=action != 'unchanged', action=action, role=live or {})
    if module._diff:
        result['diff'] = dict(before=before, after=after, before_header='role %s' % name, after_header='role %s' % name)
    if action == 'unchanged' or module.check_mode:
        if module.check_mode and action != 'unchanged':
            result['role'] = dict(after, name=name) if after else {}
        module.exit_json(**result)
    try:
        if action == 'deleted':
            module.client.delete_role(name)
            result['role'] = {}
        else:
            module.client.put_role(name, body)
            result['role'] = module.client.get_role(name) or {}
    except KibanaError as exc:
        module.fail_kibana(exc, action=action)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
