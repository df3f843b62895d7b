"""probe_wire: one request over the probe's own socket, against a scripted loopback server.

The server thread reads the request, then sends its answer in the given parts (with pauses in
between), so that what arrives in one network read, and when, is known.
"""
import socket
import threading
import time

import pytest

# the import makes the collection importable
import harness  # pylint: disable=unused-import
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import probe_wire
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.probe_classes import StageFailed
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.probe_sse import judge_stream


class Scripted(object):
    """Accepts one connection, records the request, sends ``parts`` (bytes, or a float: pause that long)."""

    def __init__(self, parts, close=True):
        self.parts = parts
        self.close = close
        self.request = b''
        self.listener = socket.socket()
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve)
        self.thread.daemon = True
        self.thread.start()

    def _serve(self):
        conn, _addr = self.listener.accept()
        with conn:
            while b'\r\n\r\n' not in self.request:
                data = conn.recv(65536)
                if not data:
                    return
                self.request += data
            head, body = self.request.split(b'\r\n\r\n', 1)
            length = [int(line.split(b':')[1]) for line in head.split(b'\r\n') if line.lower().startswith(b'content-length')]
            while length and len(body) < length[0]:
                body += conn.recv(65536)
            self.request = head + b'\r\n\r\n' + body
            for part in self.parts:
                if isinstance(part, float):
                    time.sleep(part)
                else:
                    conn.sendall(part)
            if not self.close:
                time.sleep(3)
        self.listener.close()

    def exchange(self, timeout=5, headers=None):
        sock = socket.create_connection(('127.0.0.1', self.port))
        try:
            return probe_wire.exchange(sock, 'POST', '/v1/chat/completions?x=1', 'llm.example:8080',
                                       headers or {'Authorization': 'Bearer k'}, b'{"a": 1}',
                                       time.monotonic() + timeout)
        finally:
            self.thread.join(5)


def chunk(data):
    return b'%x\r\n%s\r\n' % (len(data), data)


HEAD = b'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n'
EVENTS = [b'data: {"n": %d}\n\n' % i for i in range(3)] + [b'data: [DONE]\n\n']


def test_the_request_is_what_the_probe_says_and_nothing_more():
    server = Scripted([b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}'])
    resp = server.exchange(headers={'Authorization': 'Bearer k', 'X-Team': 'sre'})
    head, body = server.request.split(b'\r\n\r\n', 1)
    lines = head.decode().split('\r\n')
    assert lines[0] == 'POST /v1/chat/completions?x=1 HTTP/1.1'
    assert sorted(lines[1:]) == sorted(['Host: llm.example:8080', 'Content-Length: 8', 'Connection: close',
                                        'Authorization: Bearer k', 'X-Team: sre'])
    assert body == b'{"a": 1}'
    assert (resp.status, resp.body, resp.complete) == (200, b'{}', True)


def test_repeated_headers_are_all_kept():
    server = Scripted([b'HTTP/1.1 429 Too Many Requests\r\nX-Limit: requests\r\nx-limit: tokens\r\n'
                       b'Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n'])
    resp = server.exchange()
    assert resp.status == 429 and resp.reason == 'Too Many Requests'
    assert resp.headers.get_all('X-Limit') == ['requests', 'tokens']
    assert resp.headers.get_all('set-cookie') == ['a=1', 'b=2']


def test_chunks_arriving_over_time_are_separate_reads():
    parts = [HEAD]
    for event in EVENTS:
        parts += [0.05, chunk(event)]
    resp = Scripted(parts + [b'0\r\n\r\n']).exchange()
    assert resp.complete
    assert resp.body == b''.join(EVENTS)
    assert len(resp.pieces) >= 4
    assert resp.pieces[-1][0] - resp.pieces[0][0] >= 0.1
    verdict = judge_stream(resp)
    assert verdict['class'] is None and verdict['events'] == 4 and verdict['reads'] == 4


def test_chunks_of_one_network_read_are_one_piece_so_a_buffered_stream_is_seen():
    resp = Scripted([HEAD, 0.2, b''.join(chunk(e) for e in EVENTS) + b'0\r\n\r\n']).exchange()
    assert resp.complete
    assert len(resp.pieces) == 1
    assert judge_stream(resp)['class'] == 'stream_buffered'


def test_a_chunked_body_cut_short_is_incomplete():
    resp = Scripted([HEAD, chunk(EVENTS[0]), b'40\r\nonly a part']).exchange()
    assert resp.complete is False
    assert resp.body.startswith(EVENTS[0])
    assert judge_stream(resp)['class'] == 'stream_incomplete'


def test_content_length_and_read_until_close():
    short = Scripted([b'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345']).exchange()
    assert (short.body, short.complete) == (b'12345', False)
    until_close = Scripted([b'HTTP/1.0 200 OK\r\n\r\nall', 0.05, b' of it']).exchange()
    assert (until_close.body, until_close.complete) == (b'all of it', True)


@pytest.mark.parametrize('parts,klass,words', [
    ([], 'connect', 'connection closed without an answer'),
    ([b'SSH-2.0-OpenSSH_9.6\r\n\r\n'], 'bad_response', 'did not answer HTTP'),
    ([b'HTTP/1.1 200 OK\r\nX-Big: ' + b'a' * 70000 + b'\r\n\r\n'], 'bad_response', 'too large'),
    ([b'HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n'], 'bad_response', 'unexpected HTTP 101'),
])
def test_what_is_not_an_answer_is_classified(parts, klass, words):
    with pytest.raises(StageFailed) as caught:
        Scripted(parts).exchange()
    assert caught.value.klass == klass
    assert words in caught.value.detail
    assert caught.value.started is not None


def test_no_answer_in_time_is_timeout():
    with pytest.raises(StageFailed) as caught:
        Scripted([b'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab'], close=False).exchange(timeout=0.5)
    assert caught.value.klass == 'timeout'
    assert 'complete answer' in caught.value.detail


def test_a_control_character_in_a_header_is_a_config_failure():
    with pytest.raises(StageFailed) as caught:
        Scripted([]).exchange(headers={'X-Bad': 'line\r\nInjected: yes'})
    assert caught.value.klass == 'config'
