"""The policy fetch's HTTP exchange (h11 over the deadline reader) against scripted peers on a socket pair."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import h11
import pytest

from mtasts.checker.deadline import Deadline, TooLarge
from mtasts.checker.https import MAX_HEAD_BYTES, _exchange

HOST = "mta-sts.a.example"
POLICY = b"version: STSv1\r\nmode: enforce\r\nmx: mx.a.example\r\nmax_age: 86400\r\n"


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    client, server = socket.socketpair()
    yield client, server
    client.close()
    server.close()


def answer(server: socket.socket, *parts: bytes) -> None:
    """Queue the server's bytes and end its side, so that the client reads them and then the close."""
    server.sendall(b"".join(parts))
    server.shutdown(socket.SHUT_WR)


def test_request_names_the_host_and_asks_for_the_policy(pair: tuple[socket.socket, socket.socket]) -> None:
    """The GET goes to the well-known path with Host set to the policy host and the connection closed after it."""
    client, server = pair
    answer(server, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    _exchange(HOST, client, Deadline(5.0))
    request = server.recv(4096)
    assert request.startswith(b"GET /.well-known/mta-sts.txt HTTP/1.1\r\n")
    assert b"\r\nhost: mta-sts.a.example\r\n" in request.lower()
    assert b"\r\nconnection: close\r\n" in request.lower()


def test_informational_responses_are_skipped(pair: tuple[socket.socket, socket.socket]) -> None:
    """A 100 Continue before the response is not the answer; the 200 after it and its body are."""
    client, server = pair
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(POLICY)
    answer(server, b"HTTP/1.1 100 Continue\r\n\r\n", head, POLICY)
    response, body = _exchange(HOST, client, Deadline(5.0))
    assert (response.status_code, body) == (200, POLICY)


def test_chunked_and_close_delimited_bodies_are_read_whole(pair: tuple[socket.socket, socket.socket]) -> None:
    """A chunked body is decoded; a body without length (HTTP/1.0) ends where the server closes."""
    client, server = pair
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(line), line) for line in POLICY.splitlines(keepends=True))
    answer(server, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", chunks, b"0\r\n\r\n")
    assert _exchange(HOST, client, Deadline(5.0))[1] == POLICY
    client2, server2 = socket.socketpair()
    with client2, server2:
        answer(server2, b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n", POLICY)
        assert _exchange(HOST, client2, Deadline(5.0))[1] == POLICY


def test_redirect_is_the_answer_not_followed(pair: tuple[socket.socket, socket.socket]) -> None:
    """A 301 comes back as it is, with its Location, and nothing else is asked (RFC 8461 §3.3)."""
    client, server = pair
    answer(server, b"HTTP/1.1 301 Moved\r\nLocation: https://elsewhere.example/\r\nContent-Length: 0\r\n\r\n")
    response, body = _exchange(HOST, client, Deadline(5.0))
    assert (response.status_code, body) == (301, b"")
    assert (b"location", b"https://elsewhere.example/") in list(response.headers)
    assert server.recv(4096).count(b"GET ") == 1


def test_body_cut_short_is_a_protocol_error(pair: tuple[socket.socket, socket.socket]) -> None:
    """A server closing before the announced length is sent fails the fetch instead of passing half a policy."""
    client, server = pair
    answer(server, b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n", POLICY)
    with pytest.raises(h11.RemoteProtocolError):
        _exchange(HOST, client, Deadline(5.0))


def test_head_cap_counts_bytes_read_not_lines(pair: tuple[socket.socket, socket.socket]) -> None:
    """One header line longer than the cap stops the read at the cap, naming it."""
    client, server = pair
    server.sendall(b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * (MAX_HEAD_BYTES + 100))  # fits the pair's buffer
    with pytest.raises(TooLarge, match=f"status line and headers larger than {MAX_HEAD_BYTES} bytes"):
        _exchange(HOST, client, Deadline(5.0))


def test_silent_server_fails_at_the_deadline(pair: tuple[socket.socket, socket.socket]) -> None:
    """A server that never answers is given the time left of the deadline, then the read times out."""
    client, _ = pair
    with pytest.raises(TimeoutError):
        _exchange(HOST, client, Deadline(0.2))


def test_garbage_instead_of_http_is_a_protocol_error(pair: tuple[socket.socket, socket.socket]) -> None:
    """Bytes that are not an HTTP response end the fetch with h11's protocol error, which the fetch reports."""
    client, server = pair
    answer(server, b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
    with pytest.raises(h11.RemoteProtocolError):
        _exchange(HOST, client, Deadline(5.0))
