#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: connector_spec
short_description: Validate Kibana connector specs offline, reporting every mistake
version_added: 0.1.0
description:
  - Validates connector specs (the shape that M(kibana_gitops.connectors.connector) and
    M(kibana_gitops.connectors.connectors) take) against a JSON Schema per connector type and the rules
    JSON Schema cannot say. No Kibana and no credentials are needed; nothing is sent anywhere.
  - Reports B(every) problem, not just the first, each with the file, the document index in the file (0 is the
    first YAML document), the connector (id or name), the JSON pointer of the field, a message in plain words
    and a hint where one helps.
  - Checked, per type, as the Kibana release O(kibana_version) does - required fields, types, enums, unknown keys
    (Kibana rejects them), and empty or whitespace-only strings (Kibana's API rejects them). What differs between
    releases (connector types, fields, C(.gen-ai) providers and PKI, C(.slack_api) channel ids, coercion) comes from
    the collection's table of version facts; an error that another release would not have names the release and
    the first release that accepts the spec (or the last that did).
  - Checked beyond the schema - URLs parse with http(s) and a host name; C(.gen-ai) provider rules (C(Other)
    needs C(defaultModel), an API key unless PKI is used, certificate and key together, C(certificateData) and
    friends base64 of PEM with the right header, raw PEM is named as such); the webhook authentication
    combinations; email C(service), C(host) and C(port); ServiceNow and xMatters credential combinations;
    duplicate connector ids in a space (error) and duplicate names in a space (warning); PKI that Kibana would
    store but not use (warning); specs without C(connector_id) (warning).
  - What Kibana accepts is never an error. Where the collection has its own opinion (for example URL fields Kibana
    does not check, numbers given as strings, which Kibana coerces), it warns, and fails only with O(strict); the
    list is in C(docs/spec-validation.md) of the collection.
  - The same validation runs inside M(kibana_gitops.connectors.connector) and
    M(kibana_gitops.connectors.connectors) before any request, so an invalid spec never writes anything.
author:
  - kibana_gitops maintainers (@kibana-gitops)
attributes:
  check_mode:
    support: full
    description: The module only reads; check mode changes nothing.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to diff.
options:
  specs:
    description:
      - Specs to validate, each a dict with C(connector_id), C(name), C(connector_type_id), C(space_id),
        C(state), C(config), C(secrets) and C(pki), as in M(kibana_gitops.connectors.connector).
      - Secret values are never returned or printed.
    type: list
    elements: raw
    default: []
  paths:
    description:
      - Spec files and directories to validate. Directories are searched recursively for C(*.yml), C(*.yaml)
        and C(*.json). A YAML file may hold several documents; a document is one spec or a list of specs.
      - Relative C(pki) file paths in a spec file are taken relative to that file when they exist there.
    type: list
    elements: path
    default: []
  allow_empty:
    description:
      - Accept a folder in O(paths) that holds no spec file. Without it such a folder is an error, because a
        misspelled folder would otherwise become an empty set of connectors (which a prune would apply).
    type: bool
    default: false
  strict:
    description:
      - Turn every warning into an error (for example PKI that Kibana would not use, a missing connector_id,
        duplicate names, a URL Kibana does not check, a number written as a string).
    type: bool
    default: false
  kibana_version:
    description:
      - The Kibana release to validate for, for example V(9.2.0) or V(8.18).
      - By default the newest release the collection knows; RV(kibana_version_note) then says so. In a fleet,
        validate once per release the fleet runs. M(kibana_gitops.connectors.connector) and
        M(kibana_gitops.connectors.connectors) read the release of each Kibana themselves.
    type: str
  fail_on_error:
    description:
      - Fail the task when any error is found. With V(false) the task succeeds and returns the errors.
    type: bool
    default: true
  check_pki:
    description:
      - Also check the PEM material of C(pki) blocks (it parses, the key matches the certificate, expiry,
        the CA signed it). Needs the C(cryptography) Python library; without it only the block's shape is checked.
    type: bool
    default: true
  template:
    description:
      - Load O(paths) for an apply instead of validating them, as the C(kibana_gitops.connectors.connectors) role does.
        The files are read on the controller with Ansible's YAML loader (vault-encrypted files and C(!vault) values
        are decrypted), and Jinja in their strings is filled in from the play's variables (C("{{ vault_llm_apikey }}"),
        lookups included, since spec files in your repository are trusted like playbooks).
      - Strings tagged C(!unsafe) are never templated. M(kibana_gitops.connectors.connector_info) export writes every
        string from Kibana that holds C({{), C({%) or C({#) that way, so data from Kibana is never run as code.
        See C(docs/gitops.md) for the trust model.
      - Returns RV(loaded_specs) (O(specs) first, then the files' specs, C(space_id) and C(state) filled in) and
        RV(files); nothing is validated and the task's output is hidden, since the specs hold secrets.
      - Bounds, as when validating - a file larger than 8 MiB, nested deeper than 32 levels or whose YAML aliases
        expand to more than 100,000 nodes is refused, naming the file.
    type: bool
    default: false
notes:
  - Runs on the host it is delegated to; O(paths) are read there (usually C(localhost) in a pipeline).
    With O(template=true) they are read on the controller.
  - Spec files are bounded - a file larger than 8 MiB, nested deeper than 32 levels, or whose YAML aliases
    expand to more than 100,000 nodes is refused with an error that names the file.
  - A C(!unsafe) tag (Ansible's) is read as a plain string when validating.
requirements:
  - jsonschema
  - cryptography (for O(check_pki))
  - PyYAML (for O(paths), a dependency of ansible-core)
seealso:
  - module: kibana_gitops.connectors.connector
  - module: kibana_gitops.connectors.connectors
"""

EXAMPLES = r"""
- name: Validate every connector spec of the repository (a pull-request check)
  kibana_gitops.connectors.connector_spec:
    paths:
      - connectors/
  delegate_to: localhost

- name: Validate specs from variables, report but do not fail
  kibana_gitops.connectors.connector_spec:
    specs: "{{ connectors_specs }}"
    strict: true
    fail_on_error: false
  register: validation

- name: Show every problem
  ansible.builtin.debug:
    msg: "{{ validation.report_lines }}"
  when: validation.errors | length > 0
"""

RETURN = r"""
valid:
  description: True when no error was found.
  returned: always
  type: bool
  sample: false
specs:
  description: The normalised specs (C(space_id), C(state), C(config), C(secrets) filled in); secret values replaced.
  returned: always
  type: list
  elements: dict
  sample: [{connector_id: local-llm, name: Local LLM, connector_type_id: .gen-ai, space_id: default, state: present,
            config: {apiProvider: Other, apiUrl: "https://llm.example.com/v1/chat/completions", defaultModel: llama3.1},
            secrets: {apiKey: "<secret: not shown>"}}]
errors:
  description: Every error found.
  returned: always
  type: list
  elements: dict
  contains:
    file:
      description: File the spec came from (null for O(specs)).
      type: str
    document:
      description: Index of the YAML document in the file, 0 for the first.
      type: int
    item:
      description: Index in the document, when the document is a list of specs.
      type: int
    connector:
      description: "The spec's connector_id, else its name, else C(spec #N)."
      type: str
    path:
      description: JSON pointer of the field, for example C(/config/apiUrl).
      type: str
    message:
      description: What is wrong, in plain words; names the field.
      type: str
    hint:
      description: How to fix it, when there is a useful hint.
      type: str
    rule:
      description: Set when the check is deliberately stricter than Kibana (see C(docs/spec-validation.md)).
      type: str
  sample: [{file: connectors/llm.yml, document: 0, connector: local-llm, path: /config/defaultModel,
            message: config.defaultModel is required, hint: null, rule: null}]
warnings_found:
  description: Every warning, in the same shape as RV(errors).
  returned: always
  type: list
  elements: dict
report_lines:
  description: Errors then warnings as one readable line each.
  returned: always
  type: list
  elements: str
  sample: ["connectors/llm.yml document 0, connector local-llm, config.defaultModel: config.defaultModel is required"]
files:
  description: The spec files read.
  returned: always
  type: list
  elements: str
kibana_version:
  description: The Kibana release the specs were validated for.
  returned: always
  type: str
  sample: 9.4.0
kibana_version_note:
  description: Why that release, when O(kibana_version) was not given or is outside the releases the collection knows.
  returned: when there is something to say
  type: str
loaded_specs:
  description:
    - The specs to apply, Jinja filled in, secrets included (the task's output is hidden). Strings are marked
      unsafe, so they are never templated again.
  returned: when O(template=true)
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kibana_gitops.connectors.plugins.module_utils import spec as spec_rules
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import spec_files
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import versions
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.deps import missing_lib


def _pki_checker(module):
    """pki.check_spec_pki, imported on the first pki block only: most spec sets have none, and cryptography
    costs a noticeable part of a validation run's start-up."""
    if not module.params['check_pki']:
        return None
    loaded = []

    def check(pki_block):
        if not loaded:
            from ansible_collections.kibana_gitops.connectors.plugins.module_utils import pki
            if not pki.HAS_CRYPTOGRAPHY:
                module.warn('%s: pki blocks are checked for their shape only' % missing_lib('cryptography'))
            loaded.append(pki.check_spec_pki if pki.HAS_CRYPTOGRAPHY else None)
        return loaded[0](pki_block) if loaded[0] else []
    return check


def main():
    module = AnsibleModule(
        argument_spec=dict(
            # no_log keeps the whole list out of the invocation log; only the secret values stay masked below
            specs=dict(type='list', elements='raw', default=[], no_log=True),
            paths=dict(type='list', elements='path', default=[]),
            allow_empty=dict(type='bool', default=False),
            strict=dict(type='bool', default=False),
            fail_on_error=dict(type='bool', default=True),
            check_pki=dict(type='bool', default=True),
            kibana_version=dict(type='str'),
            template=dict(type='bool', default=False),  # handled by the action plugin (controller side)
        ),
        supports_check_mode=True,
    )
    if not spec_rules.HAS_JSONSCHEMA:
        module.fail_json(msg=missing_lib('jsonschema'), exception=spec_rules.JSONSCHEMA_IMPORT_ERROR)
    try:
        version, note = versions.choose(module.params['kibana_version'])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    inline = module.params['specs'] or []
    # mask secret values in every output, but not names, ids and URLs (which no_log=True would mask too)
    module.no_log_values.difference_update(spec_rules.leaf_values(inline))
    module.no_log_values.update(spec_rules.secret_values(inline))

    if module.params['paths'] and not spec_files.HAS_YAML:
        module.fail_json(msg=missing_lib('PyYAML'))
    files, _ignored = spec_files.spec_files(module.params['paths'])
    file_specs, sources, load_errors = spec_files.load_spec_paths(module.params['paths'])
    if module.params['allow_empty']:
        load_errors = [e for e in load_errors if e.get('rule') != 'empty-folder']
    module.no_log_values.update(spec_rules.secret_values(file_specs))
    specs = list(inline) + file_specs
    sources = [None] * len(inline) + sources
    report = spec_rules.validate_specs(specs, sources=sources, strict=module.params['strict'],
                                       pki_checker=_pki_checker(module), kibana_version=version)
    errors = load_errors + report.errors
    result = dict(
        changed=False,
        valid=not errors,
        specs=[spec_rules.redact_spec(s) for s in report.specs],
        errors=errors,
        warnings_found=report.warnings,
        report_lines=[spec_rules.format_problem(p) for p in errors + report.warnings],
        files=files,
        kibana_version=version,
    )
    if note:
        result['kibana_version_note'] = note
    if errors and module.params['fail_on_error']:
        count = len(set((p.get('file'), p.get('document'), p.get('item'), p.get('connector')) for p in errors))
        module.fail_json(msg='%d error(s) in %d spec(s) for Kibana %s:\n%s' % (len(errors), count, version, '\n'.join(
            spec_rules.format_problem(p) for p in errors)), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
