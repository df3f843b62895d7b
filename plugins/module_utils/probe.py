# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connectivity tests for connectors: the runner. ``run_tests`` tests many connectors at once and
settles each one's result; the parts live in their own files:

* probe_targets.py   what is tested (Target, its Redactor), how (Options), the concurrency Gates
* probe_kibana.py    ``via: kibana``: Kibana's ``_execute`` sub-action ``test``, its answers judged
* probe_stages.py    ``via: direct``: the stages dns, connect, tls, auth, completion, response, stream
* probe_wire.py      one HTTP/1.1 request (``http.client``) over the probe's own socket, reads timed
* probe_sse.py       is a streamed answer real SSE that arrived over time and ended with ``[DONE]``?
* probe_classes.py   failure classes and their one-line hints
* probe_reports.py   JUnit XML and Markdown reports

Every failure gets a class and a hint saying what to fix. Secret values never appear in results:
every text that leaves a test goes through the target's redactor (``_settle``).

Concurrency: at most ``Options.max_concurrency`` requests in flight against the Kibana, and at most
``Options.upstream_max_concurrency`` against any one upstream (scheme, host, port; Kibana's test of
a connector counts against its upstream too). Within one connector, with ``via: both`` Kibana's
test runs next to the direct stages when the connector is fully known from its spec, and the
direct stream request next to the completion. Results come back in input order.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.kibana_gitops.connectors.plugins.module_utils import probe_kibana, probe_stages
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.probe_classes import (
    FAILED, KIBANA_SIDE, OK, SKIPPED, hint, ms)
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.probe_reports import summarise
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.probe_targets import Gates, no_gates

# threads testing connectors at once, whatever the bounds allow (each one mostly waits on the network)
MAX_WORKERS = 128


def run_tests(targets, options, client=None, find_live=None):
    """Test every target within the run's concurrency bounds. Returns (results in input order, summary).

    ``client``: a KibanaClient (needed for via kibana/both). ``find_live(spec_like) -> connector``
    finds a connector that has no id by name and type (the engine's rule)."""
    gates = Gates(options)

    def one(target):
        return test_target(target, options, client, find_live, gates)

    workers = min(len(targets), MAX_WORKERS, options.max_concurrency + options.upstream_max_concurrency)
    if workers <= 1:
        results = [one(t) for t in targets]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(one, targets))
    return results, summarise(results)


def new_result(target, options):
    return {'connector_id': target.connector_id, 'name': target.name, 'connector_type_id': target.connector_type_id,
            'space_id': target.space_id, 'via': options.via, 'status': OK, 'class': None, 'hint': None,
            'message': None, 'latency_ms': None, 'usage': None, 'model': None, 'stages': []}


def test_target(target, options, client=None, find_live=None, gates=None):
    """Test one connector: its result, with stages, class, hint and message, secrets masked."""
    gates = gates or no_gates()
    started = time.monotonic()
    result = new_result(target, options)
    try:
        if target.error:
            _fail(result, 'config', target.error)
        elif options.via == 'both' and _known(target):
            _both_at_once(result, target, options, client, find_live, gates)
        else:
            if options.via in ('kibana', 'both'):
                probe_kibana.kibana_part(result, target, options, client, find_live, gates)
            if options.via in ('direct', 'both') and result['status'] != SKIPPED:
                probe_stages.direct_part(result, target, options, gates)
    except Exception as exc:  # pylint: disable=broad-except  # one connector's surprise must not end the run
        _fail(result, 'kibana_error' if options.via == 'kibana' else 'config', 'unexpected error: %s' % exc)
    result['latency_ms'] = ms(time.monotonic() - started)
    _settle(result, target, options)
    return result


def _known(target):
    """Everything both parts need is in the spec: they can run at the same time."""
    return target.has_spec and target.connector_type_id == '.gen-ai' and not probe_kibana.needs_lookup(target)


def _both_at_once(result, target, options, client, find_live, gates):
    """Kibana's test in a thread of its own while the direct stages run here; kibana stages first."""
    kibana_result = new_result(target, options)
    kibana = probe_stages.Background(probe_kibana.kibana_part, kibana_result, target, options, client, find_live, gates)
    try:
        probe_stages.direct_part(result, target, options, gates)
    finally:
        kibana.join()
    kibana.value()
    result['stages'][:0] = kibana_result['stages']
    # as if one after the other: what the direct probe saw wins, Kibana's fills the gaps
    result['usage'] = result['usage'] or kibana_result['usage']
    result['model'] = result['model'] or kibana_result['model']


def _fail(result, klass, message):
    result['status'] = FAILED
    result['stages'].append({'name': 'prepare', 'via': result['via'], 'status': FAILED, 'class': klass,
                             'latency_ms': 0, 'detail': message})


def _settle(result, target, options):
    """Overall status, class, hint and message from the stages (secrets redacted everywhere)."""
    redact = target.redactor
    for stage in result['stages']:
        stage['detail'] = redact(stage.get('detail'))
    failed = [s for s in result['stages'] if s['status'] == FAILED]
    if result['status'] == SKIPPED:
        return
    if not failed:
        result['status'] = OK
        result['message'] = 'all %d stages passed' % len(result['stages'])
        return
    # via both: the direct probe names an upstream problem more precisely than Kibana's texts,
    # but what only Kibana can see (connector missing, Kibana down, its allow-list) comes first
    kibana_failed = [s for s in failed if s['via'] == 'kibana']
    direct_failed = [s for s in failed if s['via'] == 'direct']
    if kibana_failed and (not direct_failed or kibana_failed[0].get('class') in KIBANA_SIDE):
        first, others = kibana_failed[0], direct_failed
    else:
        first, others = direct_failed[0], kibana_failed
    result['status'] = FAILED
    result['class'] = first.get('class') or 'kibana_error'
    result['message'] = '%s (%s stage %s)' % (first.get('detail'), first['via'], first['name'])
    if others:
        result['message'] += '; also %s stage %s: %s' % (others[0]['via'], others[0]['name'], others[0].get('class'))
    result['hint'] = redact(hint(result['class'], target, options, first))
