# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Judging a streamed answer: is it server-sent events that arrived over time and ended with ``[DONE]``?

Works on the (arrival time, bytes) network reads the wire recorded (probe_wire.Response.pieces).
"""
from __future__ import annotations

import json

from ansible_collections.kibana_gitops.connectors.plugins.module_utils.probe_classes import ms

# A stream whose events all came in this few network reads, within this share of the whole
# request time, was held back and released at once: a buffering proxy.
BUFFERED_MAX_READS = 2
BUFFERED_MAX_SPREAD = 0.05


def judge_stream(resp):
    """Is this a real SSE stream? Content type, events, ``[DONE]``, and whether the events came over time.

    Returns {'class': None or a failure class, 'detail', 'events', 'reads', 'first_event_ms', 'usage'}."""
    content_type = resp.headers.get('content-type', '')
    events = parse_sse(resp.pieces)
    data_events = [e for e in events if e['data'] is not None]
    verdict = {'class': None, 'events': len(data_events), 'reads': len(set(e['read'] for e in data_events)),
               'first_event_ms': None, 'usage': None}
    if data_events:
        verdict['first_event_ms'] = ms(data_events[0]['at'] - resp.sent_at)
    if not content_type.lower().startswith('text/event-stream'):
        verdict.update({'class': 'stream_not_sse', 'detail': 'the streaming request was answered with Content-Type %r, '
                        'not text/event-stream (%s)' % (content_type or 'none', resp.summary())})
        return verdict
    if not data_events:
        verdict.update({'class': 'stream_not_sse', 'detail': 'text/event-stream without any data: events (%s)'
                        % resp.summary()})
        return verdict
    for e in data_events:
        try:
            parsed = json.loads(e['data']) if e['data'] != '[DONE]' else None
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and isinstance(parsed.get('usage'), dict):
            verdict['usage'] = parsed['usage']
    total = data_events[-1]['at'] - resp.sent_at
    spread = data_events[-1]['at'] - data_events[0]['at']
    facts = '%d events in %d network reads, first after %s ms, last after %d ms' % (
        len(data_events), verdict['reads'], verdict['first_event_ms'], ms(total))
    if data_events[-1]['data'] != '[DONE]':
        verdict.update({'class': 'stream_incomplete', 'detail': 'the stream ended without data: [DONE] (%s%s)' % (
            facts, '' if resp.complete else ', connection closed early')})
        return verdict
    if (len(data_events) >= 3 and verdict['reads'] <= BUFFERED_MAX_READS
            and spread <= BUFFERED_MAX_SPREAD * max(total, 0.001)):
        verdict.update({'class': 'stream_buffered', 'detail': 'all %d events arrived at once after %d ms (%s): the '
                        'stream was buffered on the way' % (len(data_events), ms(total), facts)})
        return verdict
    verdict['detail'] = 'SSE arrived as it was produced: %s, ended with [DONE]' % facts
    return verdict


def parse_sse(pieces):
    """[(arrival, bytes)] -> [{'data': str or None, 'at': arrival of its last byte, 'read': index}]."""
    events = []
    buf = ''
    for index, (at, data) in enumerate(pieces):
        buf += data.decode('utf-8', 'replace').replace('\r\n', '\n')
        while '\n\n' in buf:
            block, buf = buf.split('\n\n', 1)
            lines = [line[5:].lstrip(' ') for line in block.split('\n') if line.startswith('data:')]
            if lines or block.strip():
                events.append({'data': '\n'.join(lines) if lines else None, 'at': at, 'read': index})
    return events
