# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: pem_b64encode
short_description: Encode PEM text as base64 for Kibana's certificateData, privateKeyData and caData secrets
version_added: 0.1.0
description:
  - Returns the base64 encoding of PEM text, as Kibana's OpenAI connector (C(.gen-ai)) wants its
    C(certificateData), C(privateKeyData) and C(caData) secrets. Raw PEM in those secrets fails Kibana's check.
  - Refuses input that is not PEM (no complete C(-----BEGIN ...-----) / C(-----END ...-----) block) with a message
    that never repeats the input.
  - Also refuses what Kibana cannot use at all, an encrypted private key (Kibana has no passphrase field) and an
    C(EC PRIVATE KEY) (Kibana only accepts C(PRIVATE KEY) and C(RSA PRIVATE KEY) headers), and warns about
    C(RSA PRIVATE KEY), which Kibana versions before the newest refuse.
  - It does not parse or check the material. M(kibana_gitops.connectors.pki_material) and the
    O(kibana_gitops.connectors.connector#module:pki) option do (key matches certificate, expiry, CA), and convert
    keys to PKCS#8.
author:
  - kibana_gitops maintainers (@kibana-gitops)
positional: expect
options:
  _input:
    description: PEM text, for example from C(lookup('file', ...)).
    type: str
    required: true
  expect:
    description:
      - The PEM type that must be present, for example V(CERTIFICATE) or V(PRIVATE KEY). Any type when not given.
    type: str
seealso:
  - module: kibana_gitops.connectors.pki_material
"""

EXAMPLES = r"""
- name: Build .gen-ai PKI secrets by hand from material you trust
  kibana_gitops.connectors.connector:
    connector_id: local-llm-mtls
    name: Local LLM (mTLS)
    connector_type_id: .gen-ai
    config:
      apiProvider: Other
      apiUrl: https://llm-gw.example.com/v1/chat/completions
      defaultModel: llama3.1
      verificationMode: full
    secrets:
      certificateData: "{{ lookup('file', 'kibana-client.crt') | kibana_gitops.connectors.pem_b64encode('CERTIFICATE') }}"
      privateKeyData: "{{ vault_client_key_pem | kibana_gitops.connectors.pem_b64encode('PRIVATE KEY') }}"
      caData: "{{ lookup('file', 'llm-gw-ca.crt') | kibana_gitops.connectors.pem_b64encode }}"
"""

RETURN = r"""
_value:
  description: Base64 of the PEM text (UTF-8), with surrounding whitespace removed and one final newline.
  type: str
"""

import base64
import re

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display

_BLOCK = re.compile(r'-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----', re.DOTALL)

display = Display()


def pem_b64encode(text, expect=None):
    """PEM text -> base64 string. Error messages name PEM types only, never content."""
    if not isinstance(text, str):
        raise AnsibleFilterError('pem_b64encode expects PEM text (a string), got %s' % type(text).__name__)
    labels = [m.group(1) for m in _BLOCK.finditer(text)]
    if not labels:
        raise AnsibleFilterError('pem_b64encode: the input is not PEM text: it has no complete "-----BEGIN <TYPE>-----" '
                                 '... "-----END <TYPE>-----" block (base64 or DER input: decode it to PEM first)')
    if expect and expect.upper() not in labels:
        raise AnsibleFilterError('pem_b64encode: expected a %s block, found %s' % (expect.upper(), ', '.join(labels)))
    if 'ENCRYPTED PRIVATE KEY' in labels or 'Proc-Type: 4,ENCRYPTED' in text:
        raise AnsibleFilterError('pem_b64encode: the private key is encrypted and Kibana has no passphrase field; use '
                                 'kibana_gitops.connectors.pki_material with private_key_passphrase to decrypt it')
    if 'EC PRIVATE KEY' in labels:
        raise AnsibleFilterError('pem_b64encode: Kibana refuses "EC PRIVATE KEY" (SEC1) keys; use '
                                 'kibana_gitops.connectors.pki_material, which converts the key to PKCS#8')
    if 'RSA PRIVATE KEY' in labels:
        display.warning('pem_b64encode: an "RSA PRIVATE KEY" (PKCS#1) is refused by Kibana versions before the newest; '
                        'kibana_gitops.connectors.pki_material converts it to PKCS#8, which all accept')
    return base64.b64encode((text.strip() + '\n').encode('utf-8')).decode('ascii')


class FilterModule(object):

    def filters(self):
        return {'pem_b64encode': pem_b64encode}
