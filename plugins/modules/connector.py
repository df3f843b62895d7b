#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: connector
short_description: Make sure one Kibana connector exists as specified, or does not exist
version_added: 0.1.0
description:
  - Creates, updates or deletes one Kibana connector (action) of any type through Kibana's connectors API,
    for example an OpenAI connector (C(.gen-ai)) for OpenAI, Azure OpenAI or a local LLM, a webhook, Slack or email.
  - The spec is validated offline first (per-type JSON Schema plus Kibana's own rules, see
    M(kibana_gitops.connectors.connector_spec)) with the rules of the Kibana release, read once from
    C(GET /api/status); nothing is sent to Kibana when it is invalid. A spec that only a newer (or older)
    release accepts fails with the release and the first release that accepts it.
  - The connector is found by O(connector_id) or, without one, by O(name) and O(connector_type_id) in the space;
    more than one connector with that name and type is an error that names them.
  - Only what differs is written. Kibana returns the config with its server-side defaults filled in
    (C(defaultModel), webhook C(method), email C(service) ...); the module fills in the same defaults, those
    of the Kibana release (for example C(gpt-4) on 8.x, C(gpt-4.1) on 9.x), before comparing, so a second run
    reports no change.
  - Kibana never returns secrets, so they cannot be compared; see O(secrets_update).
  - Preconfigured connectors (from C(kibana.yml)) are refused with a clear message; they cannot be changed
    through the API.
author:
  - Kibana GitOps maintainers (@kibana-gitops)
extends_documentation_fragment:
  - kibana_gitops.connectors.kibana
attributes:
  check_mode:
    support: full
    description: Reads Kibana and reports what would change; writes nothing.
  diff_mode:
    support: full
    description: Before and after of the connector's name and config; secret values are never shown.
requirements:
  - jsonschema (the spec is validated before any request)
  - cryptography (only for O(pki))
options:
  connector_id:
    description:
      - The connector's id. Recommended for GitOps, it gives the connector a stable identity across renames.
      - Kibana accepts any non-empty string; a lowercase slug (V(local-llm)) or a UUID is the usual choice.
      - Without it, the connector is found by O(name) and O(connector_type_id); a new one gets an id derived from
        the space, type and name (a UUIDv5), so that a retried, slow or concurrent create can never make a second one.
      - V(.) and V(..) are refused; they cannot be carried in a URL path.
    type: str
  name:
    description:
      - Display name of the connector. Required with O(state=present).
    type: str
  connector_type_id:
    description:
      - Kibana's connector type id, for example V(.gen-ai), V(.webhook), V(.slack), V(.email), V(.index),
        V(.server-log). Required with O(state=present). A connector's type cannot change.
    type: str
    aliases: [type]
  state:
    description:
      - V(present) makes sure the connector exists as specified; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  config:
    description:
      - The connector's config, with Kibana's own field names (for example C(apiProvider), C(apiUrl),
        C(defaultModel) for V(.gen-ai)). Unknown keys are an error, as they are for Kibana.
    type: dict
    default: {}
  secrets:
    description:
      - The connector's secrets (for example C(apiKey)). Write-only, Kibana stores them encrypted and never
        returns them. Never printed, also not in diffs or errors.
      - They are sent with every create and update, because Kibana's update replaces all secrets.
    type: dict
    default: {}
  pki:
    description:
      - Client certificate authentication for a V(.gen-ai) connector with C(apiProvider=Other). The PEM material
        is checked (it parses, the key matches the certificate, the certificate is valid now, the CA signed it)
        and base64-encoded into the C(certificateData), C(privateKeyData) and C(caData) secrets Kibana expects.
      - Each value is a file path or inline PEM text. Relative paths are looked up like C(copy)'s C(src)
        (the role's C(files/), then the playbook's folder).
      - Needs Kibana 8.19 or 9.1 and newer; an older Kibana is refused before any write.
    type: dict
    suboptions:
      certificate:
        description: Client certificate (PEM, or DER file).
        type: str
      private_key:
        description: Private key of the certificate (PKCS#8, PKCS#1 or SEC1 PEM; may be encrypted).
        type: str
      ca:
        description: CA certificate(s) that Kibana uses to verify the server it connects to.
        type: str
      private_key_passphrase:
        description: Passphrase of an encrypted O(pki.private_key).
        type: str
  force:
    description:
      - With O(state=absent), delete the connector even when rules still reference it (the rules then lose their
        action). Without it such a delete is refused and the task fails.
    type: bool
    default: false
  secrets_update:
    description:
      - When to consider the secrets changed, since Kibana never returns them.
      - V(on_create) (default) keeps runs idempotent; secrets still go with every create and with every update
        that other changes cause.
      - V(always) updates the connector on every run so that rotated secrets are applied; the task then always
        reports changed.
    type: str
    choices: [on_create, always]
    default: on_create
notes:
  - Kibana's API has no upsert and no partial update; the module reads first and then creates or replaces.
seealso:
  - module: kibana_gitops.connectors.connectors
    description: A whole declarative set of connectors for a space in one call, with prune.
  - module: kibana_gitops.connectors.connector_info
  - module: kibana_gitops.connectors.connector_spec
"""

EXAMPLES = r"""
- name: OpenAI connector for a local LLM behind a reverse proxy, API key from the vault
  kibana_gitops.connectors.connector:
    kibana_url: https://kibana.example.com:5601
    api_key: "{{ vault_kibana_api_key }}"
    connector_id: local-llm
    name: Local LLM (Llama 3.1)
    connector_type_id: .gen-ai
    config:
      apiProvider: Other
      apiUrl: https://llm-gw.example.com/v1/chat/completions
      defaultModel: llama3.1
    secrets:
      apiKey: "{{ vault_llm_token }}"

- name: The same LLM with a client certificate (mTLS) instead of a token
  kibana_gitops.connectors.connector:
    connector_id: local-llm-mtls
    name: Local LLM (mTLS)
    connector_type_id: .gen-ai
    config:
      apiProvider: Other
      apiUrl: https://llm-gw.example.com/v1/chat/completions
      defaultModel: llama3.1
      verificationMode: full
    pki:
      certificate: files/kibana-client.crt
      private_key: files/kibana-client.key
      ca: files/llm-gw-ca.crt

- name: Set connection options once for every module of the collection
  module_defaults:
    group/kibana_gitops.connectors.kibana:
      kibana_url: "{{ kibana_url }}"
      api_key: "{{ kibana_api_key }}"
      space_id: security
  block:
    - name: Slack notifications
      kibana_gitops.connectors.connector:
        connector_id: slack-oncall
        name: Slack on-call
        connector_type_id: .slack
        secrets:
          webhookUrl: "{{ vault_slack_webhook }}"

    - name: Rotate the webhook password on every run
      kibana_gitops.connectors.connector:
        connector_id: ticketing-webhook
        name: Ticketing webhook
        connector_type_id: .webhook
        config:
          url: https://tickets.example.com/api/events
        secrets:
          user: kibana
          password: "{{ vault_ticketing_password }}"
        secrets_update: always

- name: Delete a connector
  kibana_gitops.connectors.connector:
    connector_id: old-slack
    state: absent
"""

RETURN = r"""
action:
  description: What was done (or, in check mode, what would be done).
  returned: always
  type: str
  sample: created
  choices: [created, updated, deleted, unchanged, refused]
connector:
  description:
    - The connector as Kibana returns it after the change (before it, in check mode); empty after a delete.
    - Kibana never returns secrets.
  returned: always
  type: dict
  sample:
    id: local-llm
    name: Local LLM (Llama 3.1)
    connector_type_id: .gen-ai
    config: {apiProvider: Other, apiUrl: "https://llm-gw.example.com/v1/chat/completions", defaultModel: llama3.1}
    is_preconfigured: false
    is_deprecated: false
    is_missing_secrets: false
    is_system_action: false
changes:
  description: The fields that differ between the spec and Kibana (C(name), C(config.<field>), C(secrets)).
  returned: always
  type: list
  elements: str
  sample: [config.defaultModel]
kibana_version:
  description: The Kibana release the spec was validated for (read once from C(GET /api/status)).
  returned: when O(state=present)
  type: str
  sample: 9.2.0
"""

from ansible_collections.kibana_gitops.connectors.plugins.module_utils.module_base import KibanaModule
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.engine import Engine, SpecError
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.kibana import KibanaError
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.reconcile import PlanError

SPEC_OPTIONS = ('connector_id', 'name', 'connector_type_id', 'space_id', 'state', 'config', 'secrets', 'pki')


def main():
    module = KibanaModule(
        validates_specs=True,
        argument_spec=dict(
            connector_id=dict(type='str'),
            name=dict(type='str'),
            connector_type_id=dict(type='str', aliases=['type']),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            config=dict(type='dict', default={}),
            secrets=dict(type='dict', default={}, no_log=True),
            pki=dict(type='dict', options=dict(
                certificate=dict(type='str'),
                private_key=dict(type='str', no_log=True),
                ca=dict(type='str'),
                private_key_passphrase=dict(type='str', no_log=True),
            )),
            secrets_update=dict(type='str', default='on_create', choices=['on_create', 'always']),
            force=dict(type='bool', default=False),
        ),
        required_if=[('state', 'present', ('name', 'connector_type_id'))],
        required_one_of=[('connector_id', 'name')],
        supports_check_mode=True,
    )
    spec = dict((k, module.params[k]) for k in SPEC_OPTIONS if module.params.get(k) is not None)
    if spec.get('pki'):
        spec['pki'] = dict((k, v) for k, v in spec['pki'].items() if v is not None)
    engine = Engine(module.client, check_mode=module.check_mode, secrets_update=module.params['secrets_update'])
    try:
        specs = engine.prepare([spec]) if spec.get('state') == 'present' else [spec]
        result = engine.ensure_one(specs[0], force=module.params['force'])
    except SpecError as exc:
        module.fail_json(msg='invalid connector spec, nothing was sent to Kibana: %s' % exc, errors=exc.errors,
                         kibana_version=engine.version_if_read)
    except PlanError as exc:
        module.fail_json(msg=str(exc))
    except KibanaError as exc:
        module.fail_kibana(exc)
    for warning in engine.warnings:
        module.warn(warning)
    if result['action'] == 'refused':
        module.fail_json(msg='connector %s: %s' % (result['connector_id'], result['msg']), action='refused',
                         changed=False, connector=result['connector'], changes=[])
    if result.get('msg'):
        module.warn(result['msg'])
    extra = {'kibana_version': engine.version_if_read} if engine.version_if_read else {}
    module.exit_json(changed=result['changed'], action=result['action'], connector=result['connector'],
                     changes=result['changes'], diff=result['diff'], **extra)


if __name__ == '__main__':
    main()
