# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The wire: one HTTP/1.1 request over a socket the direct probe connected (and TLS-wrapped) itself.

The HTTP work (request line and headers out; status line, headers, Content-Length and chunked
bodies in) is the standard library's ``http.client``, given the probe's own socket, so that DNS,
TCP connect and TLS handshake stay separate, timed stages. Under ``http.client`` sits a raw reader
that notes the arrival time of every network read: a stream's events are then known to have come
one by one or all at once. Repeated response headers are all kept (``headers.get_all(name)``).

Failures come out as ``StageFailed`` with a class: ``timeout``, ``connect`` (closed without an
answer), ``tls_client_cert`` (a TLS 1.3 server refusing the client certificate after the
handshake), ``tls_server``, ``bad_response`` (not HTTP, headers too large, body too large).
"""
from __future__ import annotations

import http.client
import io
import json
import re
import socket
import ssl
import time

from ansible_collections.kibana_gitops.connectors.plugins.module_utils.probe_classes import (
    StageFailed, ms, tls_alert_class)

MAX_BODY = 4 * 1024 * 1024
CLOSED_AFTER_HANDSHAKE = ('the server closed the TLS connection right after the handshake, before answering, as TLS 1.3 '
                          'servers do when they refuse the client certificate')


class Response(object):
    """An answer: status, headers (case-insensitive ``get``; ``get_all`` for repeated ones), and the
    body as ``pieces``: (arrival time, bytes) per network read that brought body bytes."""

    def __init__(self):
        self.status = None
        self.reason = ''
        self.headers = {}
        self.pieces = []      # (arrival time, decoded body bytes) per network read
        self.sent_at = None
        self.ttfb_ms = None
        self.complete = False

    @property
    def body(self):
        return b''.join(p[1] for p in self.pieces)

    @property
    def text(self):
        return self.body.decode('utf-8', 'replace')

    def json(self):
        try:
            return json.loads(self.text)
        except ValueError:
            return None

    def error_text(self):
        """The server's own words: OpenAI's error.message, an HTML title (nginx), or the start of the body."""
        payload = self.json()
        if isinstance(payload, dict) and payload.get('error') is not None:
            err = payload['error']
            return str(err.get('message') if isinstance(err, dict) and err.get('message') else err)[:300]
        title = re.search(r'<title>(.*?)</title>', self.text, re.I | re.S)
        if title:
            return title.group(1).strip()[:300]
        return self.text.strip()[:300] or self.reason

    def summary(self):
        return 'HTTP %s, Content-Type %s, %d bytes' % (self.status, self.headers.get('content-type', 'none'),
                                                       len(self.body))


class _TimedReader(io.RawIOBase):
    """The socket as a raw stream for http.client, noting when each network read arrived. Every
    read may wait only until the request's deadline."""

    def __init__(self, sock, deadline):
        super(_TimedReader, self).__init__()
        self.sock = sock
        self.deadline = deadline
        self.reads = 0          # network reads that returned data
        self.last_at = None     # when the latest of them arrived
        self.first_at = None

    def readable(self):
        return True

    def readinto(self, b):
        self.sock.settimeout(left(self.deadline))
        n = self.sock.recv_into(b)
        if n:
            self.last_at = time.monotonic()
            self.first_at = self.first_at or self.last_at
            self.reads += 1
        return n


class _TimedResponse(http.client.HTTPResponse):
    """http.client's response parser reading through a _TimedReader."""

    def __init__(self, sock, *args, **kwargs):
        super(_TimedResponse, self).__init__(sock, *args, **kwargs)
        self.fp.close()  # the plain makefile() http.client opened: replaced by the timed reader
        self.timed = _TimedReader(sock, sock.probe_deadline)
        self.fp = io.BufferedReader(self.timed, 65536)


class _ProbeSocket(object):
    """The connected socket, carrying the deadline for _TimedResponse (http.client passes only the socket)."""

    def __init__(self, sock, deadline):
        self.sock = sock
        self.probe_deadline = deadline

    def __getattr__(self, name):
        return getattr(self.sock, name)

    def close(self):
        """http.client closes its socket once the headers say ``Connection: close``; the body is still
        to be read, so the probe closes the real socket itself (exchange's finally)."""


class _Connection(http.client.HTTPConnection):
    """An HTTPConnection that never connects: it is handed the probe's connected socket."""

    response_class = _TimedResponse

    def __init__(self, sock, deadline):
        super(_Connection, self).__init__('probe.invalid', timeout=None)
        self.sock = _ProbeSocket(sock, deadline)

    def connect(self):
        raise StageFailed('connect', 'the connection was closed before the request could be sent')


def exchange(sock, method, path, host_header, headers, body, deadline, stage_started=None):
    """Send one request (``Connection: close``) on ``sock`` and read the whole answer, recording when
    each network read arrived. Always closes ``sock``. Returns a Response; raises StageFailed."""
    stage_started = stage_started or time.monotonic()
    resp = Response()
    conn = _Connection(sock, deadline)
    try:
        sock.settimeout(left(deadline))
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader('Host', host_header)
        conn.putheader('Content-Length', str(len(body)))
        conn.putheader('Connection', 'close')
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        resp.sent_at = time.monotonic()
        answer = conn.getresponse()
        _read(answer, resp, stage_started)
    except StageFailed as exc:
        raise exc.since(stage_started)
    except socket.timeout:
        raise StageFailed('timeout', 'no %s within the probe timeout' % (
            'answer' if resp.status is None else 'complete answer'), started=stage_started)
    except http.client.RemoteDisconnected:
        raise StageFailed('connect', 'connection closed without an answer', started=stage_started)
    except ssl.SSLError as exc:
        # TLS 1.3: a server that rejects the client certificate says so after the handshake, with an
        # alert, or by just closing the connection (the alert may be lost with it)
        if resp.status is None and isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
            raise StageFailed('tls_client_cert', CLOSED_AFTER_HANDSHAKE + ' (%s)' % ssl_text(exc), started=stage_started)
        raise StageFailed(tls_alert_class(exc), 'TLS error: %s' % ssl_text(exc), started=stage_started)
    except OSError as exc:
        if resp.status is None and isinstance(sock, ssl.SSLSocket):
            raise StageFailed('tls_client_cert', CLOSED_AFTER_HANDSHAKE + ' (%s)' % (exc.strerror or exc),
                              started=stage_started)
        if resp.status is None:
            raise StageFailed('connect', 'connection closed without an answer: %s' % (exc.strerror or exc),
                              started=stage_started)
        # the answer had begun: keep what arrived (complete stays False)
    except ValueError as exc:  # http.client refuses a header or path with control characters
        raise StageFailed('config', 'the request cannot be sent: %s' % exc, started=stage_started)
    except http.client.LineTooLong:
        raise StageFailed('bad_response', 'HTTP headers too large or not HTTP at all', started=stage_started)
    except http.client.HTTPException as exc:  # BadStatusLine, too many headers, …
        raise StageFailed('bad_response', 'the server did not answer HTTP: %s' % (str(exc)[:80] or type(exc).__name__),
                          started=stage_started)
    finally:
        conn.sock = None
        try:
            sock.close()
        except OSError:
            pass
    if resp.status is None:
        raise StageFailed('connect', 'connection closed without an answer', started=stage_started)
    return resp


def _read(answer, resp, stage_started):
    """Status and headers from http.client, then the body read by read by read."""
    timed = answer.timed
    resp.status, resp.reason, resp.headers = answer.status, answer.reason, answer.headers
    resp.ttfb_ms = ms((timed.first_at or time.monotonic()) - stage_started)
    if resp.status in (100, 101):
        raise StageFailed('bad_response', 'unexpected HTTP %s' % resp.status)
    size = 0
    while True:
        try:
            data = answer.read1(65536)
        except http.client.IncompleteRead:
            return  # the connection closed inside the body (a chunked one, or short of Content-Length)
        if not data:
            resp.complete = _complete(answer)
            return
        size += len(data)
        if size > MAX_BODY:
            raise StageFailed('bad_response', 'the answer is larger than %d bytes' % MAX_BODY)
        # several chunks of one network read are one piece: the pieces are the network reads
        if resp.pieces and resp.pieces[-1][0] == timed.last_at:
            resp.pieces[-1] = (timed.last_at, resp.pieces[-1][1] + data)
        else:
            resp.pieces.append((timed.last_at, data))


def _complete(answer):
    """After the last read: did the body end as announced (final chunk, Content-Length, or close)?"""
    if answer.chunked:
        return answer.chunk_left is None and answer.fp is None  # http.client closes after the final chunk
    return answer.length in (None, 0)


def left(deadline):
    """Seconds left until the deadline; StageFailed('timeout') when none are."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise StageFailed('timeout', 'no answer within the probe timeout')
    return remaining


def ssl_text(exc):
    reason = getattr(exc, 'reason', None)
    return reason.lower().replace('_', ' ') if reason else str(exc)
