# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What changes between Kibana releases for connectors: one table, one row per fact, each with its source.

Data, read by the validator (spec.py, through schemas.for_version), the reconcile (server defaults per
version) and the modules (the version of each Kibana, read once from /api/status). The Kibana simulator
under tests/ keeps its own, independent model of the same facts.

A row:
* ``id``: a stable key (spec.py and schemas.py look facts up by it);
* ``kind``: ``type`` (a connector type is registered), ``field`` (a config/secrets field exists),
  ``branch`` (a ``.gen-ai`` provider exists), ``optional`` (a field stops being required), ``rule`` (a
  server-side check starts), ``default`` (a server default value), ``era`` (error texts), ``response``
  (a field of Kibana's answers);
* ``since``: the first release that has it, one per release line (``('8.19.0', '9.1.0')`` means 8.19 and
  newer 8.x, and 9.1 and newer; a release line newer than every entry has it too);
* ``what``: the fact in words; ``source``: the Kibana PR, test file (@commit) or release note it comes from;
* ``verified``: False when the boundary is derived rather than read (docs/spec-validation.md lists these);
* kind-specific data: ``type_id``, ``part``, ``field``, ``branches``, ``value``.

Where the boundary is not verified the row takes the lenient side (the oldest plausible release) when a
wrong boundary would turn a spec Kibana accepts into an error.
"""
from __future__ import annotations

import re

# Releases the collection models (the simulator runs as any of them). The newest is the default of
# connector_spec's kibana_version.
KNOWN_VERSIONS = ('8.15.0', '8.16.0', '8.17.0', '8.18.0', '8.19.0', '9.0.0', '9.1.0', '9.2.0', '9.3.0', '9.4.0')
NEWEST = KNOWN_VERSIONS[-1]
OLDEST = KNOWN_VERSIONS[0]

_GEN_AI_BRANCHES = ('OpenAI', 'Azure OpenAI', 'Other')
_AI_TYPES = ('.gen-ai', '.bedrock', '.gemini', '.inference')

FACTS = (
    # ---------------------------------------------------------------- error-text eras (reference §0)
    {'id': 'era-zod3', 'kind': 'era', 'since': ('9.3.0',), 'value': 'zod v3',
     'what': 'connector schemas move to @kbn/connector-schemas (zod v3): 400 texts say "connector type" and '
             '`Field "x": Required`; before, config-schema texts say "action type" and `[x]: expected value …`',
     'source': 'elastic/kibana PRs #240909, #240177, #240186, #240315 (label v9.3.0); test '
               'x-pack/platform/test/alerting_api_integration/.../connector_types/bedrock.ts @0b2bf85e'},
    {'id': 'era-zod4', 'kind': 'era', 'since': ('9.4.0',), 'value': 'zod v4',
     'what': 'zod v4: per-issue texts `✖ Invalid input: … → at x`',
     'source': 'elastic/kibana PR #252702 "Upgrade to Zod v4" (v9.4.0); tests .../connector_types/email.ts @01ad79c3, '
               'gemini.ts @0e1c3c3d'},
    # ---------------------------------------------------------------- connector types (registrations)
    {'id': 'type-gemini', 'kind': 'type', 'type_id': '.gemini', 'since': ('8.15.0',),
     'what': 'the Google Gemini connector (.gemini) is registered',
     'source': 'elastic/kibana PR #183668 "Gemini connector integration" (v8.15.0)'},
    {'id': 'type-thehive', 'kind': 'type', 'type_id': '.thehive', 'since': ('8.16.0',),
     'what': 'the TheHive connector (.thehive) is available',
     'source': 'Kibana docs kibana/8.16/thehive-action-type.html ("Added in 8.16.0"); elastic/kibana PR #180138, '
               'PR #191903 "Enable TheHive connector in the UI" (v8.16.0), API docs PR #192424 (v8.16.0)'},
    {'id': 'type-inference', 'kind': 'type', 'type_id': '.inference', 'since': ('8.18.0', '9.0.0'),
     'what': 'the AI Connector (.inference) is registered',
     'source': 'elastic/kibana PR #209197 "Enable inference connector for ESS by default", backported to 8.18 '
               '(#209895) and 9.0 (#209864); added behind an experimental flag in 8.16 (PR #189027), disabled for '
               '8.17 (PR #202538)'},
    {'id': 'type-xsoar', 'kind': 'type', 'type_id': '.xsoar', 'since': ('8.19.0', '9.1.0'),
     'what': 'the Cortex XSOAR connector (.xsoar) is registered',
     'source': 'elastic/kibana PR #212049 "XSOAR Connector" (main: 9.1) and its 8.19 backport PR #224698'},
    {'id': 'type-jsm', 'kind': 'type', 'type_id': '.jira-service-management', 'since': ('9.2.0',),
     'what': 'the Jira Service Management connector (.jira-service-management) is registered',
     'source': 'elastic/kibana PR #231155 (phase 1, backend registration), PR #235408 (UI); '
               'elastic/docs-content issue #2880 ("When: 9.2")'},
    # ---------------------------------------------------------------- .gen-ai (reference §4)
    {'id': 'gen-ai-other', 'kind': 'branch', 'type_id': '.gen-ai', 'branch': 'Other', 'since': ('8.16.0',),
     'what': '.gen-ai apiProvider "Other" (any OpenAI-compatible service)',
     'source': 'elastic/kibana PR #194831; elastic/security-docs issue #5965 ("ESS release 8.16")'},
    {'id': 'gen-ai-pki', 'kind': 'rule', 'type_id': '.gen-ai', 'since': ('8.19.0', '9.1.0'),
     'what': '.gen-ai PKI secrets certificateData / privateKeyData / caData (and verificationMode)',
     'source': 'elastic/kibana PR #215624 (labels v8.19.0, v9.1.0), PR #219984 (v8.19.0); reference §4.1'},
    {'id': 'gen-ai-azure-default-model', 'kind': 'field', 'type_id': '.gen-ai', 'part': 'config',
     'branches': ('Azure OpenAI',), 'field': 'defaultModel', 'since': ('9.3.0',),
     'what': '.gen-ai Azure OpenAI takes an optional defaultModel',
     'source': 'src/platform/packages/shared/kbn-connector-schemas/openai/schemas/v1.ts @e2971c75 (the 9.3 move)'},
    {'id': 'ai-context-window', 'kind': 'field', 'type_ids': _AI_TYPES, 'part': 'config',
     'field': 'contextWindowLength', 'since': ('9.2.0',),
     'what': 'contextWindowLength on .gen-ai, .bedrock, .gemini and .inference',
     'source': 'elastic/kibana PR #228371 "[inference] add base support for context window length detection" '
               '(v9.2.0, backport:skip)'},
    {'id': 'ai-temperature', 'kind': 'field', 'type_ids': _AI_TYPES, 'part': 'config', 'field': 'temperature',
     'since': ('9.3.0',),
     'what': 'temperature on .gen-ai, .bedrock, .gemini and .inference',
     'source': 'elastic/kibana PRs #239626 (AI connector) and #239806 (OpenAI, Bedrock, Gemini); issue #239181 (v9.3.0)'},
    {'id': 'gen-ai-headers', 'kind': 'field', 'type_id': '.gen-ai', 'part': 'config', 'field': 'headers',
     'since': (OLDEST,), 'verified': False,
     'what': '.gen-ai headers (every provider)',
     'source': 'x-pack/platform/plugins/shared/stack_connectors/common/openai/schema.ts @9b250a83 has them with '
               '"Other"; early 8.x (@6f3eebfc) has none; first release not read, so not gated'},
    {'id': 'gen-ai-openai-org-project', 'kind': 'field', 'type_id': '.gen-ai', 'part': 'config',
     'branches': ('OpenAI',), 'fields': ('organizationId', 'projectId'), 'since': ('8.18.0', '9.0.0'),
     'what': '.gen-ai OpenAI organizationId / projectId',
     'source': 'elastic/kibana PR #213117 (server schema), PR #213760 (UI, labels v8.18.0, v8.19.0); 9.0 was '
               'released with 8.18'},
    {'id': 'gen-ai-native-function-calling', 'kind': 'field', 'type_id': '.gen-ai', 'part': 'config',
     'branches': ('Other',), 'field': 'enableNativeFunctionCalling', 'since': ('9.2.0',),
     'what': '.gen-ai Other enableNativeFunctionCalling (no 8.x release has it)',
     'source': 'elastic/kibana PR #232097 "Introduce enableNativeFunctionCalling schema change to the OpenAI '
               'connector" (labels v9.2.0, backport:skip)'},
    {'id': 'gen-ai-default-model-8', 'kind': 'default', 'type_id': '.gen-ai', 'branch': 'OpenAI',
     'field': 'defaultModel', 'since': ('8.0.0',), 'value': 'gpt-4',
     'what': 'Kibana fills .gen-ai OpenAI defaultModel with gpt-4 (8.x)',
     'source': 'x-pack/test/alerting_api_integration/.../connector_types/openai.ts @8f98960e expects gpt-4'},
    {'id': 'gen-ai-default-model-9', 'kind': 'default', 'type_id': '.gen-ai', 'branch': 'OpenAI',
     'field': 'defaultModel', 'since': ('9.0.0',), 'value': 'gpt-4.1', 'verified': False,
     'what': 'Kibana fills .gen-ai OpenAI defaultModel with gpt-4.1 (9.x)',
     'source': 'platform tests .../connector_types/openai.ts @168c6a5a, @bbaa7aaa; '
               'kbn-connector-schemas/openai/constants.ts @64590b2f, @538d041d (DEFAULT_MODEL = gpt-4.1); '
               'whether 9.0 already had it is not read'},
    {'id': 'gen-ai-verification-mode-no-default', 'kind': 'default', 'type_id': '.gen-ai', 'branch': 'Other',
     'field': 'verificationMode', 'since': ('8.0.0',), 'value': None, 'absent': True,
     'what': '.gen-ai Other verificationMode: no stored default (config-schema maybe(), zod v3 .default().optional() '
             'leaves a missing key missing)',
     'source': 'reference §4.1 (the defaultValue inside maybe has no effect; zod v3 optional wins)'},
    {'id': 'gen-ai-verification-mode-default', 'kind': 'default', 'type_id': '.gen-ai', 'branch': 'Other',
     'field': 'verificationMode', 'since': ('9.4.0',), 'value': 'full', 'verified': False,
     'what': 'Kibana stores .gen-ai Other verificationMode "full" when the spec has none (zod v4 applies '
             '.default("full").optional() to a missing key)',
     'source': 'kbn-connector-schemas/openai/schemas/v1.ts (z.enum([...]).default("full").optional()) with zod v4 '
               'semantics (PR #252702, v9.4.0); derived, not asserted by a Kibana test'},
    {'id': 'bedrock-default-model', 'kind': 'default', 'type_id': '.bedrock', 'field': 'defaultModel',
     'since': ('9.3.0',), 'value': 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
     'what': 'Kibana fills .bedrock defaultModel (older releases: another model, not recorded; the collection '
             'then accepts whatever Kibana stored when the spec omits it)',
     'source': 'x-pack/platform/test/alerting_api_integration/.../connector_types/bedrock.ts @0b2bf85e (9.3)'},
    {'id': 'gemini-default-model', 'kind': 'default', 'type_id': '.gemini', 'field': 'defaultModel',
     'since': ('9.3.0',), 'value': 'gemini-2.5-pro', 'verified': False,
     'what': 'Kibana fills .gemini defaultModel (older releases: not recorded, as for .bedrock)',
     'source': 'kbn-connector-schemas gemini constants (DEFAULT_MODEL); first release not read'},
    # ---------------------------------------------------------------- other types (reference §5)
    {'id': 'slack-api-channel-id-optional', 'kind': 'optional', 'type_id': '.slack_api', 'part': 'config',
     'field': 'allowedChannels[].id', 'since': ('9.3.0',),
     'what': '.slack_api allowedChannels entries may omit id (before: id and name both required)',
     'source': 'Terraform provider acceptance data tests/data/terraform-acceptance-connectors.json tf-011, tf-056 '
               '(name-only channels, min_kibana 9.3.0) and tf-057 (id + name, documented for 8.11-9.2); '
               'zod-era test `Field "allowedChannels.0.name": Required`'},
    {'id': 'gemini-credentials-check', 'kind': 'rule', 'type_id': '.gemini', 'since': ('9.3.0',), 'verified': False,
     'what': '.gemini refuses a credentialsJson that is not JSON, or whose type is not "service_account"',
     'source': 'x-pack/platform/test/.../connector_types/gemini.ts @0e1c3c3d (zod v4 era) asserts '
               '`Invalid credential type. Only "service_account" credentials are supported`; 9.2 stores it (the '
               'differential test); 9.3 boundary derived'},
    {'id': 'zod-strict-booleans', 'kind': 'rule', 'since': ('9.3.0',),
     'what': 'booleans written as strings ("true") are refused; config-schema (up to 9.2) coerced them. Numbers as '
             'numeric strings stay accepted: the zod number fields are z.coerce.number()',
     'source': 'kbn-connector-schemas/openai/schemas/v1.ts @5bb56f12 (enableNativeFunctionCalling: z.boolean(), '
               'contextWindowLength/temperature: z.coerce.number()); reference §5 (.email port coerced)'},
    # ---------------------------------------------------------------- response fields (reference §2.3)
    {'id': 'response-is-connector-type-deprecated', 'kind': 'response', 'field': 'is_connector_type_deprecated',
     'since': ('9.2.0',),
     'what': 'connector answers carry is_connector_type_deprecated (and connector types is_deprecated)',
     'source': 'elastic/kibana PR #236662 "Add support to deprecate connector types" (backport:skip); '
               'elastic/docs-content #3301 ("When: 9.2"); asserted in create.ts @080515da'},
    {'id': 'response-auth-mode', 'kind': 'response', 'field': 'auth_mode', 'since': ('9.4.0',), 'verified': False,
     'what': 'GET answers carry auth_mode ("shared")',
     'source': 'x-pack/platform/test/.../actions/get.ts @36e9a9fd (newest main only)'},
)

# Connector types Kibana registers that the collection has no schema for: accepted with a warning
# (config and secrets unchecked) where they exist. Types without a row here exist in every known release.
UNMODELLED_TYPES = ('.thehive', '.xsoar', '.jira-service-management')


# ------------------------------------------------------------------ versions
def parse(version):
    """'9.2.0', '9.2', 'v8.18.1-SNAPSHOT' -> (9, 2, 0); None when it does not look like a version."""
    match = re.match(r'^v?(\d+)\.(\d+)(?:\.(\d+))?', str(version or '').strip())
    if not match:
        return None
    return (int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))


def text(version_tuple):
    return '.'.join(str(p) for p in version_tuple)


def normalise(version):
    """'9.2' -> '9.2.0'; None or nonsense -> None."""
    parsed = parse(version)
    return text(parsed) if parsed else None


def has(since, version):
    """Does ``version`` have what appeared in the releases ``since`` (one first release per release line)?"""
    v = parse(version)
    floors = [parse(s) for s in since]
    same_line = [f for f in floors if f[0] == v[0]]
    if same_line:
        return v >= min(same_line)
    return v[0] > max(f[0] for f in floors)


def fact(fact_id):
    for row in FACTS:
        if row['id'] == fact_id:
            return row
    raise KeyError(fact_id)


def supports(fact_id, version):
    """Does Kibana ``version`` have the fact (a field, a branch, a rule, a type …)?"""
    return has(fact(fact_id)['since'], version)


def first_release(fact_id):
    """The fact's first releases in words: '8.19.0 / 9.1.0'."""
    return ' / '.join(fact(fact_id)['since'])


def era(version):
    """'config-schema', 'zod v3' or 'zod v4': the error texts of that release."""
    found = 'config-schema'
    for row in FACTS:
        if row['kind'] == 'era' and has(row['since'], version):
            found = row['value']
    return found


def type_exists(type_id, version):
    """False when the table says the connector type is not registered in ``version`` yet."""
    for row in FACTS:
        if row['kind'] == 'type' and row['type_id'] == type_id:
            return has(row['since'], version)
    return True


def type_fact(type_id):
    for row in FACTS:
        if row['kind'] == 'type' and row['type_id'] == type_id:
            return row
    return None


def _applies(row, type_id):
    return type_id == row.get('type_id') or type_id in row.get('type_ids', ())


def missing_fields(type_id, part, branch, version):
    """Fields of the newest schema that ``version`` does not have yet (for schemas.for_version)."""
    out = set()
    for row in FACTS:
        if row['kind'] == 'field' and row['part'] == part and _applies(row, type_id) and \
                (branch is None or 'branches' not in row or branch in row['branches']) and \
                not has(row['since'], version):
            out.update(row.get('fields') or (row['field'],))
    return out


def missing_branches(type_id, version):
    return set(row['branch'] for row in FACTS if row['kind'] == 'branch' and _applies(row, type_id)
               and not has(row['since'], version))


def server_default(type_id, branch, field, version):
    """(known, value): Kibana's default for the field in ``version`` (value None with known=True: Kibana
    stores none). known=False: the table does not say."""
    found = (False, None)
    rows = [r for r in FACTS if r['kind'] == 'default' and _applies(r, type_id) and r['field'] == field
            and r.get('branch') in (None, branch)]
    for row in sorted(rows, key=lambda r: parse(r['since'][0])):
        if has(row['since'], version):
            found = (True, row['value'])
    return found


def defaulted_fields():
    """(type_id, branch, field) of every default the table describes."""
    return set((r['type_id'], r.get('branch'), r['field']) for r in FACTS if r['kind'] == 'default')


def choose(requested):
    """(version, note): the release to validate for. No request: the newest known, with a note saying so."""
    if requested in (None, ''):
        return NEWEST, ('kibana_version not given: validated for Kibana %s, the newest release the collection '
                        'knows; set kibana_version to the release your Kibana runs' % NEWEST)
    version = normalise(requested)
    if version is None:
        raise ValueError('kibana_version %r is not a version such as 9.2.0' % (requested,))
    v = parse(version)
    if v > parse(NEWEST):
        return version, ('Kibana %s is newer than the newest release the collection knows (%s): validated with '
                         'the rules of %s' % (version, NEWEST, NEWEST))
    if v < parse(OLDEST):
        return version, ('Kibana %s is older than the oldest release the collection knows (%s): validated with '
                         'the rules of %s, which may accept what %s refuses' % (version, OLDEST, OLDEST, version))
    return version, None


def known_around(version):
    """The known releases plus ``version`` itself, oldest first (for 'first version that accepts it')."""
    out = set(KNOWN_VERSIONS)
    out.add(normalise(version))
    return sorted(out, key=parse)
