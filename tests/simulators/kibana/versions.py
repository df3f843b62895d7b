"""The simulator's own table of Kibana version facts (8.15 to 9.4) for the connectors API.

An independent implementation (it never imports plugins/; the collection keeps its own table). One
row per fact: the first 8.x release that has it, the first 9.x release that has it (None: never on
that line), and where the boundary comes from. "Reference §n" is
/work/shared/reference/kibana-connectors-api.md. Boundaries marked UNVERIFIED are the best reading
of the sources named. Fields whose first release is unknown and older than 8.15 (e.g. ``.gen-ai``
``headers``) are accepted at every version.

Versions older than 8.15 are modelled as 8.15 (the oldest release described here); versions newer
than 9.x are modelled as the newest 9.x.
"""
import re

# The releases the simulator is tested at (tests/integration/test_kibana_simulator_versions.py).
KNOWN_VERSIONS = ('8.15.0', '8.16.0', '8.17.0', '8.18.0', '8.19.0', '9.0.0', '9.1.0', '9.2.0', '9.3.0', '9.4.0')
OLDEST = (8, 15, 0)

CS, Z3, Z4 = 'CS', 'Z3', 'Z4'


def parse(text):
    """'9.2.0' / '9.2' / '9.2.0-SNAPSHOT' -> (9, 2, 0)."""
    nums = [int(n) for n in re.findall(r'\d+', str(text))[:3]]
    if not nums:
        raise ValueError('not a Kibana version: %r' % (text,))
    return tuple(nums + [0] * (3 - len(nums)))


class Fact(object):
    def __init__(self, first_8x, first_9x, source):
        self.first_8x = parse(first_8x) if first_8x else None
        self.first_9x = parse(first_9x) if first_9x else None
        self.source = source

    def holds(self, version):
        first = self.first_8x if version[0] <= 8 else self.first_9x
        return first is not None and version >= first


FACTS = {
    # --- error-text eras (reference §0) ---
    'zod_v3': Fact(None, '9.3.0', 'Reference §0: connector schemas moved to @kbn/connector-schemas (zod v3), PRs '
                                  '#240909/#240177/#240186/#240315 labelled v9.3.0; prefix "connector type" and '
                                  'formatZodError (actions/server/lib/validate_with_schema.ts, format_zod_error.ts); '
                                  'Z3 texts asserted in connector_types/gemini.ts, cases_webhook.ts, slack_api.ts'),
    'zod_v4': Fact(None, '9.4.0', 'Reference §0: PR #252702 "Upgrade to Zod v4" (v9.4.0); z4.prettifyError in '
                                  'validate_with_schema.ts; Z4 texts in tests/actions/connector_types/email.ts @01ad79c3'),
    # --- connector types offered (reference §5 "Also registered") ---
    '.thehive': Fact('8.16.0', '9.0.0', 'Kibana docs kibana/8.16/thehive-action-type.html: "Added in 8.16.0"'),
    '.inference': Fact('8.18.0', '9.0.0', 'elastic/kibana PR #189027 added it in 8.16 behind an experimental flag '
                                          '(disabled again for 8.17, PR #202538); PR #209197 "Enable inference '
                                          'connector for ESS by default" with backports to 8.18 (#209895), 8.x '
                                          '(#209865) and 9.0 (#209864)'),
    '.xsoar': Fact('8.19.0', '9.1.0', 'elastic/kibana PR #212049 "XSOAR Connector" (main, 2025-06: 9.1) and its 8.19 '
                                      'backport PR #224698; the UI flag hideInUI was removed by PR #224845'),
    '.jira-service-management': Fact(None, '9.2.0', 'elastic/docs-content issue #2880: new connector for Jira Service '
                                                    'Management, elastic/kibana PR #231155, "When: 9.2"'),
    # --- .gen-ai (reference §4) ---
    'genai_other_provider': Fact('8.16.0', '9.0.0', 'elastic/kibana PR #194831 "Add Other option to the existing '
                                                    'OpenAI Connector dropdown list" (labels v8.16.0, '
                                                    'backport:version); elastic/security-docs #5965 "ESS release '
                                                    '8.16"'),
    'genai_organization_project': Fact('8.18.0', '9.0.0', 'elastic/kibana PR #213117 added organizationId/projectId '
                                                          'to the OpenAI branch of the server schema (intermediate '
                                                          'release); PR #213760 lifting the UI flag is labelled '
                                                          'v8.18.0, v8.19.0; 9.0 (released with 8.18) UNVERIFIED'),
    'genai_native_function_calling': Fact(None, '9.2.0', 'elastic/kibana PR #232097 "Introduce enableNativeFunction'
                                                         'Calling schema change to the OpenAI connector" (labels '
                                                         'v9.2.0, backport:skip)'),
    'genai_pki': Fact('8.19.0', '9.1.0', 'Reference §4.1: PKI schema PR #215624 (labels v8.19.0, v9.1.0), '
                                         'implementation PR #219984 (v8.19.0)'),
    'genai_default_model_gpt_4_1': Fact(None, '9.0.0', 'Reference §4: DEFAULT_OPENAI_MODEL gpt-4 in 8.x tests '
                                                       '(openai.ts @8f98960e), gpt-4.1 in 9.x tests (@168c6a5a, '
                                                       '@bbaa7aaa); gpt-5-chat (@cd2440ca) UNVERIFIED, not modelled'),
    'context_window_length': Fact(None, '9.2.0', 'elastic/kibana PR #228371 "[inference] add base support for '
                                                 'context window length detection" (labels v9.2.0, backport:skip): '
                                                 'contextWindowLength on .gen-ai/.bedrock/.gemini (and .inference, '
                                                 'PR #230005, v9.2.0)'),
    'temperature': Fact(None, '9.3.0', 'elastic/kibana issue #239181 (label v9.3.0) closed by PR #239806 "Adds new '
                                       'temperature parameter to AI Connector and OpenAI, Bedrock, Gemini connectors" '
                                       '(backport:skip, 2025-12-18)'),
    'genai_azure_default_model': Fact(None, '9.3.0', 'Reference §4.1: the zod schema (kbn-connector-schemas '
                                                     'openai/schemas/v1.ts @e2971c75) gives the Azure branch '
                                                     'defaultModel?; the CS schema (@0935d444) does not'),
    'optional_default_applied': Fact(None, '9.4.0', 'Derived from zod v4: .default(x).optional() applies the default '
                                                    'to a missing key (ZodDefault optin "optional"), zod v3 does not; '
                                                    '.gen-ai Other verificationMode is z.enum(...).default("full")'
                                                    '.optional() (openai/schemas/v1.ts)'),
    # --- other types ---
    'slack_api_channel_id_optional': Fact(None, '9.3.0', 'Terraform acceptance data tf-011/tf-056 (channels by name '
                                                         'only, min_kibana 9.3.0); kbn-connector-schemas slack_api: '
                                                         '{id?: string(min1), name: string(min1)} (reference §5)'),
    'gemini_credential_type_check': Fact(None, '9.3.0', 'Reference §5; connector_types/gemini.ts asserts "Invalid '
                                                        'credential type" in the same revision that asserts zod v3 '
                                                        'texts (Field "apiUrl": Required), so 9.3 has it; Terraform '
                                                        'tf-024 (credentialsJson "secret1", SDK-era test deleted '
                                                        'before 9.3) was accepted earlier. 8.19/9.2 backport '
                                                        'UNVERIFIED'),
    # --- response fields (reference §2.3, §2.4) ---
    'is_connector_type_deprecated': Fact(None, '9.2.0', 'elastic/kibana PR #236662 "Add support to deprecate '
                                                        'connector types" (closes #231015; adds isDeprecated to the '
                                                        'type registry and isConnectorTypeDeprecated to connector '
                                                        'responses; opened 2025-09-26, backport:skip) and '
                                                        'elastic/docs-content #3301 ("When: 9.2"); 9.2 rather than '
                                                        '9.3 is UNVERIFIED. Asserted in create.ts @080515da and the '
                                                        'zod-v3-era gemini.ts. (9.5 marks the LLM types deprecated, '
                                                        'PR #261591: beyond 9.4, not modelled)'),
    'list_types_is_deprecated': Fact(None, '9.2.0', 'Same PR #236662 (is_deprecated on connector types; reference '
                                                    '§2.4: newer than list_types.test.ts @01627b12)'),
    'auth_mode_on_get': Fact(None, '9.4.0', 'Reference §2.1/§2.3: auth_mode "shared" on GET in the newest get.ts '
                                            '@36e9a9fd only (not on create/update); taken as 9.4 (UNVERIFIED)'),
}


class KibanaVersion(object):
    """What one Kibana release does, as the simulator models it."""

    def __init__(self, text):
        self.text = text
        self.version = parse(text)
        modelled = max(self.version, OLDEST)
        if modelled[0] > 9:
            modelled = (9, 99, 0)
        self.modelled = modelled

    def has(self, fact):
        return FACTS[fact].holds(self.modelled)

    @property
    def era(self):
        if self.has('zod_v4'):
            return Z4
        if self.has('zod_v3'):
            return Z3
        return CS

    @property
    def zod(self):
        return self.era != CS

    def offers_type(self, type_id):
        return type_id not in FACTS or self.has(type_id)

    # Prefixes of the 400 messages (reference §0; validate_with_schema.ts). The connector-level
    # validator keeps "action type" in every era.
    @property
    def config_prefix(self):
        return 'error validating %s config: ' % ('connector type' if self.zod else 'action type')

    @property
    def secrets_prefix(self):
        return 'error validating %s secrets: ' % ('connector type' if self.zod else 'action type')

    connector_prefix = 'error validating action type connector: '

    @property
    def default_openai_model(self):
        return 'gpt-4.1' if self.has('genai_default_model_gpt_4_1') else 'gpt-4'

    def describe(self):
        """The facts that hold at this version (``GET /_sim/version``)."""
        return dict((name, self.has(name)) for name in sorted(FACTS))
