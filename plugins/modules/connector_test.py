#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: connector_test
short_description: Test that Kibana connectors can really reach their LLM, and say what is wrong
version_added: 0.1.0
description:
  - Tests one or many C(.gen-ai) (OpenAI, Azure OpenAI, OpenAI-compatible) connectors and reports, per connector,
    C(ok) or C(failed) with a failure class, a one-line hint of what to fix, the stages that passed, latency and
    token usage.
  - O(via=kibana) runs Kibana's own connector test (C(_execute) with sub-action C(test)). Kibana answers HTTP 200
    with C(status=error) when the LLM cannot be reached, so the body is judged, never the HTTP status, and Kibana's
    C(service_message) is turned into a failure class.
  - O(via=direct) probes the LLM endpoint from the host running this module, with the spec's config and secrets,
    stage by stage - C(dns), C(connect), C(tls) (server verification per C(verificationMode), the client
    certificate when Kibana would send one), C(auth), one small chat C(completion) with the default model, the
    C(response) shape Kibana requires (C(choices) and C(usage)), then a C(stream) request whose SSE events must
    arrive over time and end with the C([DONE]) event. A proxy that buffers the stream, or rewrites its content type,
    is reported as such.
  - O(via=both) does both; the direct probe usually names the cause more precisely, Kibana's test proves that
    Kibana itself (its network, C(xpack.actions.allowedHosts), its view of the PKI settings) gets through.
  - Connectors are tested concurrently, with at most O(max_concurrency) requests in flight against the Kibana
    and at most O(upstream_max_concurrency) against any one upstream. With O(via=both) Kibana's test runs at
    the same time as the direct probe when the spec names the connector's id and type.
  - Only C(.gen-ai) connectors are tested; others are reported with status C(skipped).
  - Writes an optional JUnit XML file and a Markdown summary for CI job pages.
  - Secret values never appear in the results, the reports, warnings or errors.
author:
  - kibana_gitops maintainers (@kibana-gitops)
extends_documentation_fragment:
  - kibana_gitops.connectors.kibana
attributes:
  check_mode:
    support: full
    description:
      - The module never changes a connector, so it runs the tests in check mode too (a test costs one or two
        small completions per connector) and writes the report files, which are its output, not managed state.
        It always reports C(changed=false).
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to diff.
requirements:
  - cryptography (only for specs with C(pki))
options:
  connector_ids:
    description:
      - Ids of connectors in Kibana (in O(space_id)) to test. Only O(via=kibana) works with ids alone, because
        Kibana never returns secrets; a direct probe needs O(specs) or O(paths).
    type: list
    elements: str
    default: []
  specs:
    description:
      - Connectors in the spec shape of M(kibana_gitops.connectors.connector) (C(connector_id), C(name),
        C(connector_type_id), C(space_id), C(state), C(config), C(secrets), C(pki)). Specs with C(state=absent)
        are not tested.
      - For O(via=kibana) the connector is found by C(connector_id), else by C(name) and type.
      - C(pki) material is read and encoded as for M(kibana_gitops.connectors.connector); file paths are looked up
        on the controller like C(copy)'s C(src).
    type: list
    elements: dict
    default: []
  paths:
    description:
      - Spec files (YAML or JSON, one or many documents) or folders of them, as for
        M(kibana_gitops.connectors.connector_spec).
    type: list
    elements: path
    default: []
  via:
    description:
      - How to test, see the description.
    type: str
    choices: [kibana, direct, both]
    default: kibana
  probe_timeout:
    description:
      - Seconds each test may take - for O(via=kibana) Kibana's upstream request (sent as the test's C(timeout)),
        for O(via=direct) each of the two requests including connect and TLS.
    type: int
    default: 30
  model:
    description:
      - Model to ask for instead of the connector's C(defaultModel).
    type: str
  kibana_version:
    description:
      - The Kibana release the connectors run on (for example V(8.18.0)). A spec without C(defaultModel) is probed
        with the model that release fills in (C(gpt-4) on 8.x, C(gpt-4.1) on 9.x for OpenAI). Default - the newest
        release the collection knows. The connectors role passes the release it read during the apply.
    type: str
  stream:
    description:
      - Run the streaming stage of the direct probe. Kibana's AI assistants only work with a stream that arrives
        intact, so turn this off only for servers that cannot stream.
    type: bool
    default: true
  upstream_ca_path:
    description:
      - PEM CA bundle for the direct probe to verify an upstream whose spec carries no CA of its own, as Kibana's
        C(xpack.actions.ssl.certificateAuthoritiesFiles) would. By default the system trust store is used.
    type: path
  max_concurrency:
    description:
      - The most requests in flight at the same time against the Kibana (Kibana's tests, and the look-ups of
        connectors given without an id), and by default against any one upstream (see
        O(upstream_max_concurrency)).
      - Connectors are tested in parallel within these bounds; the results keep the input order.
    type: int
    default: 32
  upstream_max_concurrency:
    description:
      - The most requests in flight at the same time against any one upstream (the scheme, host and port of
        C(apiUrl)) - the direct probe's requests (two per connector, the completion and the stream, sent at the
        same time) and the upstream request each Kibana test makes.
      - Lower it for an LLM with a tight rate limit. Defaults to O(max_concurrency).
    type: int
  fail_on_error:
    description:
      - Fail the task when any connector fails. The results are returned either way.
    type: bool
    default: true
  junit_path:
    description:
      - Write a JUnit XML report here (one test case per connector; a failure carries the class and hint).
    type: path
  markdown_path:
    description:
      - Write a Markdown summary here, for example into C($GITHUB_STEP_SUMMARY) or a GitLab job artifact.
    type: path
notes:
  - The direct probe runs where the module runs; delegate the task to the host whose network matters
    (usually the controller or a runner in the same network as Kibana).
  - The direct probe applies the client certificate and C(verificationMode) exactly when Kibana does - provider
    C(Other) with C(verificationMode) set - so a spec whose PKI material Kibana would ignore fails here as well,
    with a hint saying so.
  - A stream counts as buffered when at least three events arrived in at most two network reads and within 5% of
    the request's time; the stage detail gives the figures.
seealso:
  - module: kibana_gitops.connectors.connector
  - module: kibana_gitops.connectors.connectors
"""

EXAMPLES = r"""
- name: Ask Kibana to test two connectors (judging the body, not the HTTP 200)
  kibana_gitops.connectors.connector_test:
    kibana_url: https://kibana.example.com:5601
    api_key: "{{ vault_kibana_api_key }}"
    connector_ids: [local-llm, azure-gpt]

- name: Test every connector of the GitOps repo both ways, write reports for the pipeline
  kibana_gitops.connectors.connector_test:
    paths: [connectors/]
    via: both
    junit_path: "{{ playbook_dir }}/reports/connector-test.xml"
    markdown_path: "{{ lookup('ansible.builtin.env', 'GITHUB_STEP_SUMMARY') }}"
  delegate_to: localhost

- name: Probe a local LLM behind an mTLS proxy directly, without failing the play
  kibana_gitops.connectors.connector_test:
    via: direct
    fail_on_error: false
    specs:
      - connector_id: local-llm
        name: Local LLM
        connector_type_id: .gen-ai
        config:
          apiProvider: Other
          apiUrl: https://llm-gw.example.com/v1/chat/completions
          defaultModel: llama3.1
          verificationMode: full
        secrets:
          apiKey: "{{ vault_llm_token }}"
        pki:
          certificate: files/client.crt
          private_key: files/client.key
          ca: files/ca.crt
  register: llm

- name: Show what to fix
  ansible.builtin.debug:
    msg: "{{ item.connector_id }}: {{ item.class }} - {{ item.hint }}"
  loop: "{{ llm.results | selectattr('status', 'equalto', 'failed') }}"
"""

RETURN = r"""
results:
  description: One entry per tested connector, in the order of O(specs), O(paths), then O(connector_ids).
  returned: always
  type: list
  elements: dict
  contains:
    connector_id:
      description: The connector's id.
      type: str
    name:
      description: The connector's name, when known.
      type: str
    space_id:
      description: The Kibana space.
      type: str
    via:
      description: How it was tested.
      type: str
    status:
      description: V(ok), V(failed), or V(skipped) for a connector type that is not tested.
      type: str
    class:
      description:
        - Failure class - V(dns), V(connect), V(timeout), V(tls_server), V(tls_client_cert), V(auth),
          V(model_not_found), V(endpoint_not_found), V(rate_limited), V(upstream_error), V(bad_request),
          V(bad_response), V(stream_buffered), V(stream_not_sse), V(stream_incomplete), V(kibana_config),
          V(kibana_error), V(kibana_unreachable), V(not_found), V(config). Null when ok.
      type: str
    hint:
      description: One line saying what to fix. Null when ok.
      type: str
    message:
      description: What happened, in the server's or Kibana's own words (secrets masked).
      type: str
    latency_ms:
      description: Wall time of this connector's whole test.
      type: int
    usage:
      description: Token usage reported by the LLM (C(prompt_tokens), C(completion_tokens), C(total_tokens)).
      type: dict
    model:
      description: The model that answered (or was asked for).
      type: str
    stages:
      description:
        - Each stage with C(name), C(via), C(status) (V(ok), V(failed), V(skipped)), C(latency_ms), C(detail),
          and where it applies C(ttfb_ms) (time to the first byte, or to the first stream event), C(class),
          C(http_status), C(usage), C(events) and C(reads) (stream events and the network reads they came in).
      type: list
      elements: dict
  sample:
    - connector_id: local-llm
      status: failed
      class: stream_buffered
      hint: >-
        the stream arrived all at once: a proxy buffers it; Kibana needs the events as they come
        (nginx: proxy_buffering off; or send X-Accel-Buffering: no)
      latency_ms: 412
      usage: {prompt_tokens: 2, completion_tokens: 8, total_tokens: 10}
summary:
  description: Counts of connectors by status.
  returned: always
  type: dict
  sample: {total: 3, ok: 2, failed: 1, skipped: 0}
junit_path:
  description: Where the JUnit report was written.
  returned: when O(junit_path) is set
  type: str
markdown_path:
  description: Where the Markdown summary was written.
  returned: when O(markdown_path) is set
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kibana_gitops.connectors.plugins.module_utils import kibana, probe, reconcile, redact
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import probe_reports, probe_targets
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import spec as spec_rules
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.deps import missing_lib

# Kibana must wait for the upstream at least as long as the test allows, and answer after that
KIBANA_GRACE_SECONDS = 15


def _pki_encoder(block):
    from ansible_collections.kibana_gitops.connectors.plugins.module_utils import pki
    if not pki.HAS_CRYPTOGRAPHY:
        raise ValueError(missing_lib('cryptography'))
    return pki.secrets_from_pki(block)[0]


def main():
    argument_spec = kibana.connection_argument_spec()
    argument_spec.update(
        connector_ids=dict(type='list', elements='str', default=[]),
        # no_log keeps the specs out of the invocation log; only their secret values stay masked (below)
        specs=dict(type='list', elements='dict', default=[], no_log=True),
        paths=dict(type='list', elements='path', default=[]),
        via=dict(type='str', default='kibana', choices=list(probe_targets.VIA)),
        probe_timeout=dict(type='int', default=30),
        model=dict(type='str'),
        kibana_version=dict(type='str'),
        stream=dict(type='bool', default=True),
        upstream_ca_path=dict(type='path'),
        max_concurrency=dict(type='int', default=probe_targets.DEFAULT_MAX_CONCURRENCY),
        upstream_max_concurrency=dict(type='int'),
        fail_on_error=dict(type='bool', default=True),
        junit_path=dict(type='path'),
        markdown_path=dict(type='path'),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_one_of=[('connector_ids', 'specs', 'paths')])
    params = module.params
    inline = params['specs']
    module.no_log_values.difference_update(spec_rules.leaf_values(inline))
    file_specs, load_errors = [], []
    if params['paths']:  # imported only when needed: every import is paid on each run of the module
        from ansible_collections.kibana_gitops.connectors.plugins.module_utils import spec_files
        file_specs, _sources, load_errors = spec_files.load_spec_paths(params['paths'])
    # every credential this run knows, in every form it travels in (base64, URL-encoded, basic auth): masked in the
    # results by Ansible and, through the same masker, in the JUnit and Markdown files written below
    masker = redact.Masker(spec_rules.secret_values(list(inline) + file_specs))
    masker.add(redact.connection_credentials(params))
    module.no_log_values.update(masker.values)
    if load_errors:
        module.fail_json(msg='cannot read the spec files: %s' % '; '.join(
            spec_rules.format_problem(p) for p in load_errors), errors=load_errors)
    if params['connector_ids'] and params['via'] != 'kibana':
        module.fail_json(msg='via=%s needs the specs (config and secrets) of the connectors, which Kibana never '
                             'returns: pass specs or paths instead of connector_ids, or use via=kibana' % params['via'])

    for option in ('max_concurrency', 'upstream_max_concurrency'):
        if params[option] is not None and params[option] < 1:
            module.fail_json(msg='%s must be at least 1, got %d' % (option, params[option]))
    release = params['kibana_version']

    def server_defaults(type_id, config):
        return reconcile.with_server_defaults(type_id, config, release)
    targets = probe_targets.targets_from_specs(list(inline) + file_specs, params['space_id'], pki_encoder=_pki_encoder,
                                               defaults=server_defaults)
    targets += probe_targets.targets_from_ids(params['connector_ids'], params['space_id'])
    # secrets made from pki: blocks (base64 of the PEM files) are known only now
    masker.add(spec_rules.secret_values([{'secrets': t.secrets} for t in targets]))
    module.no_log_values.update(masker.values)

    client = find_live = None
    if params['via'] in ('kibana', 'both'):
        if not kibana.HAS_REQUESTS:
            module.fail_json(msg=missing_lib('requests'), exception=str(kibana.REQUESTS_IMPORT_ERROR))
        if not params['kibana_url']:
            module.fail_json(msg='kibana_url is required for via=%s: set the option, or the environment variable '
                                 'KIBANA_URL' % params['via'])
        timeout = max(params['timeout'] or 0, params['probe_timeout'] + KIBANA_GRACE_SECONDS)
        try:
            client = kibana.client_from_params(dict(params, timeout=timeout, pool_size=params['max_concurrency']))
        except kibana.KibanaError as exc:
            module.fail_json(msg=str(exc))
        for warning in client.warnings:
            module.warn(warning)
        from ansible_collections.kibana_gitops.connectors.plugins.module_utils.engine import Engine
        find_live = Engine(client).find_live

    options = probe_targets.Options(via=params['via'], timeout=params['probe_timeout'], model=params['model'],
                                    stream=params['stream'], upstream_ca_path=params['upstream_ca_path'],
                                    max_concurrency=params['max_concurrency'],
                                    upstream_max_concurrency=params['upstream_max_concurrency'],
                                    where='the host running connector_test')
    results, summary = probe.run_tests(targets, options, client=client, find_live=find_live)

    output = dict(changed=False, results=results, summary=summary)
    for option, render in (('junit_path', probe_reports.junit_xml), ('markdown_path', probe_reports.markdown_summary)):
        if params[option]:
            try:
                probe_reports.write_report(params[option], masker(render(results)))
            except (IOError, OSError) as exc:
                module.fail_json(msg='cannot write %s %s: %s' % (option, params[option], exc), **output)
            output[option] = params[option]

    if summary['failed'] and params['fail_on_error']:
        module.fail_json(msg='%d of %d connectors failed the test: %s' % (
            summary['failed'], summary['total'], '; '.join(
                '%s: %s (%s)' % (r['connector_id'] or r['name'], r['class'], r['hint'])
                for r in results if r['status'] == 'failed')), **output)
    module.exit_json(**output)


if __name__ == '__main__':
    main()
