# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Unit tests for plugins/modules/pods_exec.py: how one exec's output is collected.

The kubernetes client's real ``WSClient`` buffers the frames; only its socket is scripted here:
which frames exist, and whether the socket looks readable at each poll. That is where the module
once lost output (a whole answer that arrived while stderr was being peeked).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json

import pytest
from ansible.module_utils.testing import patch_module_args
from kubernetes import client as k8s_client
from kubernetes.stream import ws_client
from websocket import ABNF

from ansible_collections.ocpv.density.plugins.modules import pods_exec

MEMINFO = 'MemTotal:         16777216 kB\nSwapTotal:         8388608 kB\n'
SUCCESS = '{"metadata":{},"status":"Success"}'
EXIT_2 = json.dumps({"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
                     "message": "command terminated with non-zero exit code: exit status 2",
                     "details": {"causes": [{"reason": "ExitCode", "message": "2"}]}})


class Frame:
    def __init__(self, data):
        self.data = data


class ScriptedSocket:
    """What WSClient reads from: `frames` in order; `readable` answers its polls one by one
    (then True while frames are left, False after)."""

    def __init__(self, frames, readable=()):
        self.frames = list(frames)
        self.readable = list(readable)
        self.connected = True
        self.sock = object()  # only registered with the (scripted) poll, never read

    def recv_data_frame(self, control):
        return self.frames.pop(0)

    def poll(self):
        if self.readable:
            return self.readable.pop(0)
        return bool(self.frames)

    def close(self, **kwargs):
        self.connected = False


class ScriptedSelect:
    """Stands in for the `select` module inside ws_client: its polls ask the scripted socket."""
    POLLIN = 1

    def __init__(self, sock):
        self.sock = sock

    def poll(self):
        sock = self.sock

        class Poll:
            def register(self, fd, mask):
                pass

            def unregister(self, fd):
                pass

            def poll(self, timeout=None):
                return [(0, 1)] if sock.poll() else []
        return Poll()


def data(channel, text):
    return ABNF.OPCODE_BINARY, Frame(bytes([channel]) + text.encode())


CLOSE = (ABNF.OPCODE_CLOSE, Frame(b'\x03\xe8'))


def run_exec(monkeypatch, sock, timeout=5):
    """exec_in_pod against a real WSClient reading `sock`."""
    client = ws_client.WSClient.__new__(ws_client.WSClient)
    client.__dict__.update(_connected=True, _channels={}, _closed_channels=set(), subprotocol='v5.channel.k8s.io',
                           binary=False, newline='\n', _all=ws_client._IgnoredIO(), sock=sock, _returncode=None)
    monkeypatch.setattr(ws_client, 'select', ScriptedSelect(sock))
    monkeypatch.setattr(pods_exec, 'stream', lambda *args, **kwargs: client, raising=False)
    return pods_exec.exec_in_pod(k8s_client.Configuration(), 'wasp', 'wasp-agent-abcde', 'wasp-agent',
                                 ['cat', '/proc/meminfo'], timeout)


def test_all_frames_at_once(monkeypatch):
    sock = ScriptedSocket([data(1, MEMINFO), data(3, SUCCESS), CLOSE])
    assert run_exec(monkeypatch, sock) == dict(pod='wasp-agent-abcde', rc=0, stdout=MEMINFO, stderr='')


def test_output_that_arrives_with_the_close_after_an_empty_frame_is_kept(monkeypatch):
    # What the API server sends (seen on the local cluster): an empty stdout frame first, then the
    # output, the status and the close together. The old loop read stdout, then peeked stderr, and
    # that peek pulled in the rest: the stream was closed, the loop ended, the output was lost.
    sock = ScriptedSocket([data(1, ''), data(1, MEMINFO), data(3, SUCCESS), CLOSE],
                          readable=[True, False, False, True, True, True])
    assert run_exec(monkeypatch, sock) == dict(pod='wasp-agent-abcde', rc=0, stdout=MEMINFO, stderr='')


def test_output_in_several_frames_and_stderr(monkeypatch):
    sock = ScriptedSocket([data(1, MEMINFO[:20]), data(2, 'warning\n'), data(1, MEMINFO[20:]),
                           data(3, SUCCESS), CLOSE], readable=[True, False, True, False, False, True, True, True])
    assert run_exec(monkeypatch, sock) == dict(pod='wasp-agent-abcde', rc=0, stdout=MEMINFO, stderr='warning\n')


def test_exit_code_from_the_status(monkeypatch):
    sock = ScriptedSocket([data(2, 'grep: /host/proc/meminfo: No such file or directory\n'), data(3, EXIT_2), CLOSE])
    result = run_exec(monkeypatch, sock)
    assert (result['rc'], result['stdout']) == (2, '')
    assert 'No such file' in result['stderr']
    assert 'msg' not in result


def test_a_status_without_exit_code_is_reported(monkeypatch):
    failure = json.dumps({"status": "Failure", "message": "container not found (\"wasp-agent\")"})
    sock = ScriptedSocket([data(3, failure), CLOSE])
    result = run_exec(monkeypatch, sock)
    assert result['rc'] == -1
    assert result['msg'] == 'exec in pod wasp/wasp-agent-abcde: container not found ("wasp-agent")'


def test_a_command_that_does_not_finish_gives_up_after_the_timeout(monkeypatch):
    sock = ScriptedSocket([data(1, 'still running\n')], readable=[True])
    result = run_exec(monkeypatch, sock, timeout=1)
    assert result == dict(pod='wasp-agent-abcde', rc=-1, stdout='', stderr='',
                          msg='exec in pod wasp/wasp-agent-abcde did not finish within 1 s')
    assert sock.connected is False  # the stream is closed, not left open


def test_a_stream_that_cannot_be_opened_is_reported(monkeypatch):
    def refuse(*args, **kwargs):
        raise k8s_client.ApiException(status=403, reason='Forbidden')
    monkeypatch.setattr(pods_exec, 'stream', refuse, raising=False)
    result = pods_exec.exec_in_pod(k8s_client.Configuration(), 'wasp', 'p', None, ['true'])
    assert result['rc'] == -1
    assert result['msg'].startswith('exec in pod wasp/p failed: (403)')


@pytest.mark.parametrize('arg, value, message', [
    ('parallel', 0, 'parallel must be between 1 and 50, got 0'),
    ('timeout', 0, 'timeout must be between 1 and 3600 (seconds), got 0'),
    ('timeout', 3601, 'timeout must be between 1 and 3600 (seconds), got 3601'),
])
def test_out_of_range_arguments_are_refused_before_any_exec(capsys, monkeypatch, arg, value, message):
    monkeypatch.setattr(pods_exec, 'exec_in_pod', lambda *a: pytest.fail('no exec expected'))
    with patch_module_args({'namespace': 'wasp', 'pods': ['p'], 'command': 'true', arg: value}):
        with pytest.raises(SystemExit) as caught:
            pods_exec.main()
    result = json.loads(capsys.readouterr().out)
    assert caught.value.code == 1
    assert result['msg'] == message
