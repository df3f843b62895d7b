"""rollout_summary filter: Markdown per Kibana instance and space, for PR comments and job summaries."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kibana_gitops.connectors.plugins.filter import rollout_summary as plugin


def space(space_id, results=(), failed=False, msg='', specs=None, summary=None):
    results = list(results)
    if summary is None and not (failed and not results):
        summary = dict((k, 0) for k in plugin.COUNTS)
        for r in results:
            summary[r['action']] += 1
    return {'space_id': space_id, 'specs': len(results) if specs is None else specs, 'failed': failed, 'msg': msg,
            'summary': summary or {}, 'results': results}


def record(host, *spaces, **kw):
    return dict({'host': host, 'kibana_url': 'https://%s:5601' % host, 'check_mode': False, 'spaces': list(spaces)},
                **kw)


def rows(text):
    return [line for line in text.splitlines() if line.startswith('| ') and not line.startswith('| Kibana')]


def test_counts_per_instance_and_space_and_total():
    text = plugin.rollout_summary([
        record('kb-b', space('default', [{'connector_id': 'a', 'name': 'A', 'action': 'unchanged'}])),
        record('kb-a', space('default', [
            {'connector_id': 'llm', 'name': 'Local LLM', 'action': 'updated', 'changes': ['config.defaultModel']},
            {'connector_id': 'new', 'name': 'new', 'action': 'created'},
            {'connector_id': 'old', 'name': 'Old', 'action': 'deleted', 'pruned': True}]),
            space('security', [{'connector_id': 'x', 'name': 'X', 'action': 'refused', 'msg': 'still referenced'}])),
    ])
    assert text.startswith('## Kibana connectors rollout\n')
    assert rows(text) == [
        '| kb-a | default | 1 | 1 | 1 | 0 | 0 | 0 |',
        '| kb-a | security | 0 | 0 | 0 | 0 | 0 | 1 |',
        '| kb-b | default | 0 | 0 | 0 | 1 | 0 | 0 |',
        '| **Total** | | **1** | **1** | **1** | **1** | **0** | **1** |',
    ]
    assert '- `kb-a` / `default`: updated `llm` (Local LLM): config.defaultModel' in text
    assert '- `kb-a` / `default`: created `new`\n' in text  # name equal to the id is not repeated
    assert '- `kb-a` / `default`: deleted `old` (Old) (pruned)' in text
    assert '### Refused\n\n- `kb-a` / `security`: `x` (X): still referenced' in text
    assert '### Failed' not in text


def test_a_space_that_failed_as_a_whole_counts_its_specs_as_failed():
    text = plugin.rollout_summary([
        record('kb-1', space('default', [{'connector_id': 'a', 'action': 'unchanged'}])),
        record('kb-2', space('default', failed=True, specs=3,
                             msg='GET /api/actions/connectors failed: cannot connect to Kibana')),
    ])
    assert '| kb-2 | default | - | - | - | - | 3 | - |' in rows(text)
    assert '| **Total** | | **0** | **0** | **0** | **1** | **3** | **0** |' in rows(text)
    assert '### Failed\n\n- `kb-2` / `default`: GET /api/actions/connectors failed: cannot connect to Kibana' in text


def test_failed_connectors_are_listed_with_their_reason():
    text = plugin.rollout_summary([record('kb', space('default', [
        {'connector_id': 'a', 'action': 'created'},
        {'connector_id': 'b', 'name': 'B', 'action': 'failed', 'msg': 'connector b: POST returned 400: bad | url'}],
        failed=True, msg='1 of 2 connectors failed'))])
    assert '| kb | default | 1 | 0 | 0 | 0 | 1 | 0 |' in rows(text)
    # the connector's own reason, not the task's message; a pipe cannot break the table or list
    assert '- `kb` / `default`: `b` (B): connector b: POST returned 400: bad \\| url' in text
    assert '1 of 2 connectors failed' not in text


def test_check_mode_says_nothing_was_written():
    text = plugin.rollout_summary([record('kb', space('default', [
        {'connector_id': 'a', 'action': 'updated', 'changes': ['name']}]), check_mode=True)])
    assert text.startswith('## Kibana connectors drift\n\nCheck mode: nothing was written.')
    assert '### Would change\n\n- `kb` / `default`: updated `a`: name' in text


def test_no_changes_and_custom_title():
    text = plugin.rollout_summary([record('kb', space('default', [{'connector_id': 'a', 'action': 'unchanged'}]))],
                                  'Connectors (prod)')
    assert text.startswith('## Connectors (prod)\n') and 'No changes.' in text


def test_long_lists_are_capped():
    results = [{'connector_id': 'c%03d' % i, 'action': 'created'} for i in range(120)]
    text = plugin.rollout_summary([record('kb', space('default', results))], max_items=10)
    assert text.count('created `c') == 10 and '- ... and 110 more' in text


def test_connectivity_tests_section():
    rec = record('kb', space('default', [{'connector_id': 'llm', 'action': 'unchanged'}]))
    rec['tests'] = [{'space_id': 'default', 'failed': False, 'summary': {'ok': 1, 'failed': 1, 'skipped': 2},
                     'results': [{'connector_id': 'llm2', 'status': 'failed', 'class': 'auth',
                                  'hint': 'the API key was refused'},
                                 {'connector_id': 'llm', 'status': 'ok'}]}]
    text = plugin.rollout_summary([rec])
    assert '### Connectivity tests' in text and '| kb | default | 1 | 1 | 2 |' in text
    assert '- `kb` / `default`: `llm2`: auth - the API key was refused' in text


def test_no_records_and_bad_input():
    assert 'No Kibana instance was reached.' in plugin.rollout_summary([])
    with pytest.raises(AnsibleFilterError):
        plugin.rollout_summary('not a list')
    assert plugin.FilterModule().filters()['rollout_summary'] is plugin.rollout_summary


def test_versions_and_version_refusals():
    refused = {'connector_id': 'llm-mtls', 'name': 'LLM', 'action': 'refused', 'changed': False,
               'version_refused': True, 'accepted_from': '8.19.0', 'kibana_version': '8.18.0',
               'msg': 'Kibana 8.18.0 cannot take this spec, nothing was sent: connector llm-mtls, pki: …'}
    text = plugin.rollout_summary([
        record('kb-old', space('default', [{'connector_id': 'log', 'name': 'log', 'action': 'created'}, refused],
                               failed=True, msg='0 of 2 connectors failed, 1 refused by Kibana 8.18.0: …'),
               kibana_version='8.18.0'),
        record('kb-new', space('default', [{'connector_id': 'llm-mtls', 'name': 'LLM', 'action': 'created'}]),
               kibana_version='9.4.0'),
    ])
    assert '2 Kibana instance(s): `kb-new` (Kibana 9.4.0), `kb-old` (Kibana 8.18.0).' in text
    section = text.split('### Refused by the Kibana release (nothing was sent)')[1].split('###')[0]
    assert '`kb-old` / `default`: `llm-mtls` (LLM) (first release that accepts it: 8.19.0): Kibana 8.18.0 cannot' in section
    assert '### Failed' not in text  # the refusal is listed once, not again as a failed space
    assert '| kb-old | default | 1 | 0 | 0 | 0 | 0 | 1 |' in rows(text)


def test_token_usage_dashboards_are_listed_with_links_or_reasons():
    s = space('team-a', results=[{'connector_id': 'llm', 'action': 'unchanged'}])
    s['dashboards'] = [
        {'id': 'llm', 'name': 'Local LLM', 'usage_dashboard': {
            'available': True, 'url': 'https://kb/s/team-a/app/dashboards#/view/x?_a=(query:(q))'}},
        {'id': 'claude', 'name': 'Claude', 'usage_dashboard': {'available': False, 'url': None,
                                                               'reason': 'lacks read | on .kibana-event-log-*'}}]
    text = plugin.rollout_summary([record('kb-1', s)])
    assert '### Token usage dashboards' in text
    assert '- `kb-1` / `team-a`: `llm` (Local LLM): [token usage dashboard](https://kb/s/team-a/app/dashboards#/view/x?_a=(query:(q%29%29)' in text
    assert '`claude` (Claude): not available: lacks read \\| on .kibana-event-log-*' in text
    assert 'Token usage dashboards' not in plugin.rollout_summary([record('kb-1', space('default'))])
