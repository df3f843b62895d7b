# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``kibana`` way of testing: Kibana's ``_execute`` with sub-action ``test`` (reference section 4.3).

Kibana answers HTTP 200 with ``status: error`` when the upstream fails, so the body is judged, not
the status, and Kibana's ``service_message`` is turned into a failure class.
"""
from __future__ import annotations

import json
import re
import time

from ansible_collections.kibana_gitops.connectors.plugins.module_utils.probe_classes import (
    CLIENT_CERT_ALERTS, FAILED, OK, SKIPPED, class_for_status, ms)


def test_body(target, options):
    """What Kibana's UI test sends: one user message, and the model for provider Other."""
    body = {'messages': [{'role': 'user', 'content': options.prompt}]}
    model = options.model or (target.config.get('defaultModel') if target.config.get('apiProvider') == 'Other'
                              else None)
    if model:
        body['model'] = model
    return body


def needs_lookup(target):
    """True when Kibana must be asked first who the connector is (no id, or no type)."""
    return not target.connector_id or not target.connector_type_id


def kibana_part(result, target, options, client, find_live, gates):
    """Kibana's test of one connector: adds the ``kibana_test`` stage (and fills what Kibana knows
    about a connector given by name or bare id). The run's ``gates`` bound the requests."""
    from ansible_collections.kibana_gitops.connectors.plugins.module_utils.kibana import KibanaError

    stage = {'name': 'kibana_test', 'via': 'kibana', 'status': FAILED}
    result['stages'].append(stage)
    started = time.monotonic()
    try:
        connector_id = target.connector_id
        if needs_lookup(target):
            waiting = time.monotonic()
            with gates.kibana():
                started += time.monotonic() - waiting
                live = (client.get_connector(target.space_id, connector_id) if connector_id
                        else find_live({'name': target.name, 'connector_type_id': target.connector_type_id,
                                        'space_id': target.space_id}))
            if not live:
                stage.update({'class': 'not_found', 'detail': 'connector %s not found in space %s'
                              % (target.label, target.space_id)})
                return
            connector_id = live.get('id')
            target.connector_id = result['connector_id'] = connector_id
            target.name = result['name'] = target.name or live.get('name')
            target.connector_type_id = result['connector_type_id'] = live.get('connector_type_id')
            if not target.config and live.get('config'):
                target.config = dict(live['config'])
        if target.connector_type_id != '.gen-ai':
            result['status'] = SKIPPED
            stage.update({'status': SKIPPED, 'detail': 'only .gen-ai connectors are tested; %s is not'
                          % target.connector_type_id})
            result['message'] = stage['detail']
            return
        params = {'subAction': 'test', 'subActionParams': {
            'body': json.dumps(test_body(target, options)), 'timeout': int(options.timeout * 1000)}}
        # Kibana's test makes one request to the upstream: it counts against that upstream's bound too
        waiting = time.monotonic()
        with gates.upstream(target.upstream), gates.kibana():
            started += time.monotonic() - waiting  # waiting for a free slot is not Kibana's time
            answer = client.execute(target.space_id, connector_id, params)
    except KibanaError as exc:
        klass = 'not_found' if exc.status == 404 else 'kibana_unreachable' if exc.status is None else 'kibana_error'
        stage.update({'class': klass, 'detail': str(exc), 'http_status': exc.status})
        return
    except Exception as exc:  # pylint: disable=broad-except  # e.g. an ambiguous name (PlanError)
        stage.update({'class': 'config', 'detail': str(exc)})
        return
    finally:
        stage['latency_ms'] = ms(time.monotonic() - started)
    judge_kibana_answer(stage, answer, result)


def judge_kibana_answer(stage, answer, result=None):
    """Kibana's execute result (reference section 2.5): ``status: ok`` with a chat completion, or a failure."""
    if not isinstance(answer, dict):
        stage.update({'status': FAILED, 'class': 'kibana_error', 'detail': 'Kibana answered without a result body'})
        return
    if answer.get('status') == 'ok':
        data = answer.get('data') if isinstance(answer.get('data'), dict) else {}
        usage = data.get('usage')
        stage.update({'status': OK, 'detail': 'Kibana ran the test: %s' % completion_summary(data)})
        if result is not None:
            result['usage'] = result['usage'] or usage
            result['model'] = result['model'] or data.get('model')
        return
    message = answer.get('message') or ''
    service = answer.get('service_message') or ''
    klass, status = classify_kibana_message(message, service)
    text = '%s: %s' % (message, service) if service else message
    stage.update({'status': FAILED, 'class': klass, 'http_status': status,
                  'detail': 'Kibana answered HTTP 200 with status error: %s' % text})


_STATUS = re.compile(r'Status code: (\d{3})\.')


def classify_kibana_message(message, service_message=''):
    """Failure class (and upstream HTTP status, if any) from Kibana's message/service_message texts."""
    text = '%s %s' % (message or '', service_message or '')
    match = _STATUS.search(text)
    status = int(match.group(1)) if match else None
    if 'xpack.actions.allowedHosts' in text:
        return 'kibana_config', status
    if 'error validating action params' in text or 'is not registered' in text or 'Request validation failed' in text:
        return 'kibana_error', status
    if 'Response validation failed' in text:
        return 'bad_response', status
    if ('Invalid or inaccessible PKI certificates' in text or re.search(r'No (certificate|private key) data provided', text)
            or 'ERR_OSSL' in text):
        return 'tls_client_cert', status
    if status is not None:
        return class_for_status(status, text), status
    if 'ENOTFOUND' in text or 'EAI_AGAIN' in text:
        return 'dns', None
    if 'ECONNABORTED' in text or 'ETIMEDOUT' in text or re.search(r'timeout of \d+ms exceeded', text):
        return 'timeout', None
    if 'EPROTO' in text and any(a.lower().replace('_', ' ') in text.lower() for a in CLIENT_CERT_ALERTS):
        return 'tls_client_cert', None
    if ('Certificate error' in text or 'TLS handshake failed' in text or 'CERT' in text or 'SELF_SIGNED' in text
            or 'EPROTO' in text):
        return 'tls_server', None
    if any(code in text for code in ('ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'socket hang up')):
        return 'connect', None
    return 'kibana_error', None


def completion_summary(data):
    """One line about a chat completion: the model, the answer's length, the tokens."""
    usage = data.get('usage') or {}
    choices = data.get('choices') or []
    content = ''
    if choices and isinstance(choices[0], dict):
        content = ((choices[0].get('message') or {}).get('content') or '').strip()
    text = 'model %s answered %d characters' % (data.get('model') or '?', len(content))
    if usage:
        text += ', %s tokens (%s prompt + %s completion)' % (
            usage.get('total_tokens'), usage.get('prompt_tokens'), usage.get('completion_tokens'))
    return text
