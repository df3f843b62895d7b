#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: pki_material
short_description: Check a client certificate, its private key and CA, and encode them for a Kibana connector
version_added: 0.1.0
description:
  - Reads a client certificate, its private key and optionally a CA bundle, checks them, and returns them as the
    base64 values Kibana's OpenAI connector (C(.gen-ai)) expects in its C(certificateData), C(privateKeyData) and
    C(caData) secrets.
  - Kibana itself only checks the PEM header, so a bad certificate is otherwise found when the connector fails.
    This module fails when a value does not parse, the key does not match the certificate, the certificate is
    expired or not valid yet, or the CA did not issue the certificate. It warns when the certificate expires within
    O(expiry_warning_days) days or its extended key usage excludes C(clientAuth).
  - The key is always returned as unencrypted PKCS#8 (C(-----BEGIN PRIVATE KEY-----)), which every Kibana version
    with PKI accepts; PKCS#1 (C(RSA PRIVATE KEY)), SEC1 (C(EC PRIVATE KEY)) and encrypted keys are converted.
  - Most users do not need this module; the O(kibana_gitops.connectors.connector#module:pki) option runs the
    same checks and sends the values to Kibana without returning them.
    Use this module to check material in a pipeline or to build C(secrets) by hand.
  - Changes nothing, so it always reports C(changed=false).
author:
  - kibana_gitops maintainers (@kibana-gitops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  check_mode:
    support: full
    description: Runs the same read-only checks as a normal run.
  diff_mode:
    support: none
  platform:
    platforms: posix
  action:
    support: full
    details:
      - Relative file paths are resolved and read on the controller, like C(copy)'s C(src).
      - Vault-encrypted files on the controller are decrypted, as C(copy) does.
  async:
    support: none
  bypass_host_loop:
    support: none
options:
  certificate:
    description:
      - The client certificate, as a file path or as inline PEM text. A PEM file may hold the certificate followed
        by intermediate CA certificates.
      - A file may also be DER (binary); inline DER is accepted as base64 of the DER bytes.
      - A relative path is looked up on the controller in the role's C(files/) folder, then the playbook's folder
        (as C(copy)'s C(src) is); a path not found there is read on the host the module runs on.
    type: str
    required: true
  private_key:
    description:
      - The certificate's private key, as a file path or as inline PEM text (paths and DER as for O(certificate)).
      - PKCS#8 (C(PRIVATE KEY), C(ENCRYPTED PRIVATE KEY)), PKCS#1 (C(RSA PRIVATE KEY)) or SEC1 (C(EC PRIVATE KEY)),
        encrypted or not.
      - Never printed, also not in errors or warnings.
    type: str
    required: true
  ca:
    description:
      - The CA certificate(s) Kibana should trust for the upstream server, one or more PEM certificates, as a file
        path or inline PEM text.
      - When given, one of them (directly, or through intermediates sent along in O(certificate)) must have issued
        O(certificate).
    type: str
  private_key_passphrase:
    description:
      - Passphrase of an encrypted O(private_key). Kibana has no passphrase field, so the key is decrypted here.
    type: str
  expiry_warning_days:
    description:
      - Warn when the certificate expires within this many days. V(0) turns the warning off.
    type: int
    default: 30
  return_private_key:
    description:
      - Return C(privateKeyData). The key is what a hand-built C(secrets) needs, so this is the default; the
        task's result is then hidden from the output (as with C(no_log)), but the registered variable has it.
      - V(false) returns only the certificate data and facts, which are then shown normally, for example to check
        material in a pipeline.
    type: bool
    default: true
notes:
  - The values are only as safe as the variable you register them in; do not print it.
requirements:
  - cryptography >= 41.0 (on the host the module runs on)
seealso:
  - module: kibana_gitops.connectors.connector
    description: Its O(kibana_gitops.connectors.connector#module:pki) option checks and sends the same material.
  - plugin: kibana_gitops.connectors.pem_b64encode
    plugin_type: filter
    description: Base64 of PEM text, without checks, for material you trust.
"""

EXAMPLES = r"""
- name: Check the client certificate of the local LLM gateway and encode it
  kibana_gitops.connectors.pki_material:
    certificate: kibana-client.crt         # role files/, or the playbook's folder
    private_key: kibana-client.key
    ca: llm-gw-ca.crt
    private_key_passphrase: "{{ vault_client_key_passphrase }}"
  register: llm_pki

- name: Build the connector's secrets by hand
  kibana_gitops.connectors.connector:
    connector_id: local-llm-mtls
    name: Local LLM (mTLS)
    connector_type_id: .gen-ai
    config:
      apiProvider: Other
      apiUrl: https://llm-gw.example.com/v1/chat/completions
      defaultModel: llama3.1
      verificationMode: full
    secrets: "{{ llm_pki.secrets }}"

- name: Fail a pipeline early when the certificate expires within 60 days (facts only, no key returned)
  kibana_gitops.connectors.pki_material:
    certificate: /etc/pki/kibana/client.crt
    private_key: /etc/pki/kibana/client.key
    return_private_key: false
  register: cert
  failed_when: cert.certificate_info.days_left < 60
"""

RETURN = r"""
certificateData:
  description: Base64 of the PEM text of the certificate (and the intermediates sent along with it).
  returned: success
  type: str
privateKeyData:
  description:
    - Base64 of the PEM text of the private key as unencrypted PKCS#8.
    - The task's result is hidden from the output when it is returned.
  returned: success and O(return_private_key=true)
  type: str
caData:
  description: Base64 of the PEM text of the CA certificate(s).
  returned: success and O(ca) is set
  type: str
secrets:
  description: The same values as a dict, ready for a connector's C(secrets).
  returned: success
  type: dict
  sample: {certificateData: LS0tLS1CRUdJTi..., privateKeyData: LS0tLS1CRUdJTi..., caData: LS0tLS1CRUdJTi...}
certificate_info:
  description: What the checks found. No key material.
  returned: success
  type: dict
  contains:
    subject:
      description: Subject of the certificate (RFC 4514).
      type: str
      sample: CN=kibana-client,O=Example
    issuer:
      description: Issuer of the certificate (RFC 4514).
      type: str
      sample: CN=Example Internal CA,O=Example
    serial:
      description: Serial number, hexadecimal.
      type: str
      sample: 5A3F9C0E21
    fingerprint_sha256:
      description: SHA-256 fingerprint of the certificate (DER), as C(openssl x509 -fingerprint -sha256) prints it.
      type: str
      sample: "1C:9B:...:0E"
    not_before:
      description: Start of validity, UTC.
      type: str
      sample: "2026-01-01T00:00:00Z"
    not_after:
      description: End of validity, UTC.
      type: str
      sample: "2027-01-01T00:00:00Z"
    days_left:
      description: Whole days until O(certificate) expires.
      type: int
      sample: 180
    extended_key_usage:
      description: Extended key usages of the certificate; null when it has none (any usage).
      type: list
      elements: str
      sample: [clientAuth]
    key_type:
      description: Type and size of the key.
      type: str
      sample: RSA 2048
    private_key_format:
      description: The format the key was given in (it is always returned as PKCS#8).
      type: str
      sample: PKCS#1 (RSA PRIVATE KEY)
    private_key_encrypted:
      description: Whether the key was given encrypted.
      type: bool
    chain:
      description: Intermediate certificates given after the certificate in O(certificate).
      type: list
      elements: dict
      returned: when there are any
    ca:
      description: Subject, fingerprint and expiry of each CA certificate.
      type: list
      elements: dict
      returned: when O(ca) is set
    ca_issued_certificate:
      description: Whether the CA issued the certificate (always true on success).
      type: bool
      returned: when O(ca) is set
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kibana_gitops.connectors.plugins.module_utils import pki
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.deps import missing_lib


def main():
    module = AnsibleModule(
        argument_spec=dict(
            # all no_log: the action plugin replaces file paths with their content
            certificate=dict(type='str', required=True, no_log=True),
            private_key=dict(type='str', required=True, no_log=True),
            ca=dict(type='str', no_log=True),
            private_key_passphrase=dict(type='str', no_log=True),
            expiry_warning_days=dict(type='int', default=pki.DEFAULT_EXPIRY_WARNING_DAYS),
            return_private_key=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    if not pki.HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_lib('cryptography'), exception=pki.CRYPTOGRAPHY_IMPORT_ERROR)
    block = dict((field, module.params[field]) for field in pki.FIELDS)
    try:
        secrets, facts, warnings = pki.secrets_from_pki(block, module.params['expiry_warning_days'])
    except pki.PkiError as exc:
        module.fail_json(msg=str(exc), errors=[{'field': p.lstrip('/'), 'message': m} for p, m in exc.problems])
    for warning in warnings:
        module.warn(warning)
    if not module.params['return_private_key']:
        secrets.pop('privateKeyData')
    # Ansible masks no_log values wherever they occur in the result, also inside these strings
    if any(hidden in value for hidden in module.no_log_values for value in secrets.values()):
        module.fail_json(msg='private_key_passphrase is so short that it occurs inside the encoded output, where '
                             'Ansible would mask it and so corrupt the output; use a longer passphrase')
    result = dict(changed=False, secrets=secrets, certificate_info=facts)
    result.update(secrets)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
