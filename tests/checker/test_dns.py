"""The checker's DNS client (Network.resolve_many) against scripted resolvers on loopback: the resolver's rules."""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest

from mtasts.checker.net import NXDOMAIN, Deadline, Network, ResolverError

#: A scripted resolver: the query it got and whether it came over TCP -> the messages to send back (UDP: each one).
Script = Callable[[dns.message.QueryMessage, bool], list[dns.message.Message]]


def _udp_and_tcp_on_one_port() -> tuple[socket.socket, socket.socket]:
    """A UDP and a listening TCP socket on one free loopback port (another test may hold the TCP side: try again)."""
    for _ in range(50):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))
        tcp = socket.socket()
        try:
            tcp.bind(("127.0.0.1", udp.getsockname()[1]))
        except OSError:
            udp.close()
            tcp.close()
            continue
        tcp.listen(4)
        return udp, tcp
    raise RuntimeError("no loopback port was free for both UDP and TCP")


class Scripted:
    """A resolver on 127.0.0.1 (UDP and TCP on one port) that answers as its script says."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.udp, self.tcp = _udp_and_tcp_on_one_port()
        self.port = int(self.udp.getsockname()[1])
        self.queries: list[tuple[str, bool]] = []
        self.last_source: tuple[str, int] = ("", 0)
        """Where the last UDP query came from."""
        self.sources: list[tuple[str, int]] = []
        """Where each UDP query came from, in order."""
        self.answered = threading.Semaphore(0)
        """Released once per UDP query answered (after its answers were sent)."""
        self.stopped = threading.Event()
        self.udp.settimeout(0.1)  # so that the threads see `stopped` soon after the test
        self.tcp.settimeout(0.1)
        self.threads = [threading.Thread(target=serve, daemon=True) for serve in (self._udp, self._tcp)]
        for thread in self.threads:
            thread.start()

    def _udp(self) -> None:
        try:
            while not self.stopped.is_set():
                try:
                    wire, source = self.udp.recvfrom(4096)
                except TimeoutError:
                    continue
                query = dns.message.from_wire(wire)
                assert isinstance(query, dns.message.QueryMessage)
                self.last_source = source
                self.sources.append(source)
                self.queries.append((query.question[0].name.to_text(), False))
                for answer in self.script(query, False):
                    self.udp.sendto(answer.to_wire(), source)
                self.answered.release()
        except OSError:  # closed at the end of the test
            return

    def _tcp(self) -> None:
        try:
            while not self.stopped.is_set():
                try:
                    conn, _ = self.tcp.accept()
                except TimeoutError:
                    continue
                with conn:
                    conn.settimeout(5.0)
                    (length,) = struct.unpack("!H", conn.recv(2))
                    query = dns.message.from_wire(conn.recv(length))
                    assert isinstance(query, dns.message.QueryMessage)
                    self.queries.append((query.question[0].name.to_text(), True))
                    for answer in self.script(query, True):
                        wire = answer.to_wire()
                        conn.sendall(struct.pack("!H", len(wire)) + wire)
        except OSError:  # closed at the end of the test
            return

    def close(self) -> None:
        self.stopped.set()
        for thread in self.threads:
            thread.join()
        self.udp.close()
        self.tcp.close()


@pytest.fixture
def resolvers() -> Iterator[Callable[[Script], Scripted]]:
    started: list[Scripted] = []

    def start(script: Script) -> Scripted:
        started.append(Scripted(script))
        return started[-1]

    yield start
    for server in started:
        server.close()


def txt(query: dns.message.QueryMessage, value: str = "v=STSv1; id=1") -> dns.message.Message:
    response = dns.message.make_response(query)
    name = query.question[0].name
    response.answer.append(dns.rrset.from_text(name, 300, "IN", "TXT", f'"{value}"'))
    return response


def rcode(query: dns.message.QueryMessage, code: dns.rcode.Rcode) -> dns.message.Message:
    response = dns.message.make_response(query)
    response.set_rcode(code)
    return response


def network(*servers: Scripted, timeout: float = 5.0) -> Network:
    return Network(nameservers=[("127.0.0.1", s.port) for s in servers], timeout=timeout)


def test_servfail_and_refused_move_to_the_next_server(resolvers: Callable[[Script], Scripted]) -> None:
    """A server answering SERVFAIL or REFUSED is left for the next one, as dnspython's resolver does."""
    failing = resolvers(lambda q, tcp: [rcode(q, dns.rcode.SERVFAIL)])
    refusing = resolvers(lambda q, tcp: [rcode(q, dns.rcode.REFUSED)])
    good = resolvers(lambda q, tcp: [txt(q)])
    assert network(failing, refusing, good).txt("_mta-sts.a.example") == (["v=STSv1; id=1"], "_mta-sts.a.example")
    assert [q for q, _ in failing.queries + refusing.queries + good.queries] == ["_mta-sts.a.example."] * 3


def test_no_server_left_is_one_resolver_error(resolvers: Callable[[Script], Scripted]) -> None:
    """When every server fails a question, it fails with the resolver's one line, at once, not at the deadline."""
    failing = resolvers(lambda q, tcp: [rcode(q, dns.rcode.SERVFAIL)])
    start = time.monotonic()
    with pytest.raises(ResolverError, match=r"^127\.0\.0\.1:\d+ failed to answer \(SERVFAIL or refused\)$"):
        network(failing, timeout=5).txt("_mta-sts.a.example")
    assert time.monotonic() - start < 2


def test_truncated_answer_is_asked_again_over_tcp(resolvers: Callable[[Script], Scripted]) -> None:
    """A UDP answer with TC set is asked again over TCP of the same server (RFC 7766 §5), whose answer counts."""

    def script(query: dns.message.QueryMessage, tcp: bool) -> list[dns.message.Message]:
        if tcp:
            return [txt(query, "v=STSv1; id=overtcp")]
        truncated = dns.message.make_response(query)
        truncated.flags |= dns.flags.TC
        return [truncated]

    server = resolvers(script)
    assert network(server).txt("_mta-sts.a.example")[0] == ["v=STSv1; id=overtcp"]
    assert server.queries == [("_mta-sts.a.example.", False), ("_mta-sts.a.example.", True)]


def test_answers_that_do_not_match_the_question_are_dropped(resolvers: Callable[[Script], Scripted]) -> None:
    """A reply with another id, or the right id for another question, is ignored; the matching one is used."""

    def script(query: dns.message.QueryMessage, tcp: bool) -> list[dns.message.Message]:
        wrong_id = txt(query, "v=STSv1; id=wrongid")
        wrong_id.id = (query.id + 1) % 65536
        other = dns.message.make_query("_mta-sts.other.example", "TXT", id=query.id)
        wrong_question = txt(other, "v=STSv1; id=wrongquestion")
        return [wrong_id, wrong_question, txt(query)]

    assert network(resolvers(script)).txt("_mta-sts.a.example")[0] == ["v=STSv1; id=1"]


def test_questions_asked_together_share_one_deadline(resolvers: Callable[[Script], Scripted]) -> None:
    """Questions sent at once each get their own answer; one never answered times out at the one deadline."""

    def script(query: dns.message.QueryMessage, tcp: bool) -> list[dns.message.Message]:
        name = query.question[0].name.to_text()
        if name.startswith("silent."):
            return []
        if name.startswith("missing."):
            return [rcode(query, dns.rcode.NXDOMAIN)]
        return [txt(query, name)]

    net = network(resolvers(script), timeout=1.0)
    start = time.monotonic()
    answers = net.resolve_many(
        [("a.example", "TXT"), ("silent.example", "TXT"), ("missing.example", "MX"), ("b.example", "TXT")],
        Deadline(1.0),
    )
    elapsed = time.monotonic() - start
    assert 0.9 < elapsed < 1.5
    assert net.txt_values("a.example", answers[0])[0] == ["a.example."]
    assert isinstance(answers[1], ResolverError)
    assert str(answers[1]).endswith("within the 1 s deadline")
    assert answers[2] is NXDOMAIN
    assert net.txt_values("b.example", answers[3])[0] == ["b.example."]


def test_questions_asked_together_share_one_socket(resolvers: Callable[[Script], Scripted]) -> None:
    """A domain's questions go out from one UDP socket, not one each, and every one gets its own answer."""
    server = resolvers(lambda q, tcp: [txt(q, q.question[0].name.to_text())])
    net = network(server)
    names = [f"q{i}.a.example" for i in range(5)]
    answers = net.resolve_many([(name, "TXT") for name in names], Deadline(5.0))
    assert [net.txt_values(name, answer)[0] for name, answer in zip(names, answers, strict=True)] == [
        [f"{name}."] for name in names
    ]
    assert len(server.sources) == 5
    assert len(set(server.sources)) == 1


def test_answers_in_before_the_deadline_count_after_it(resolvers: Callable[[Script], Scripted]) -> None:
    """An answer that arrived in time is used even when it is read after the deadline (the fetch took it all)."""
    server = resolvers(lambda q, tcp: [txt(q)])
    net = network(server, timeout=5.0)
    deadline = Deadline(5.0)
    pending = net.send_questions([("_mta-sts.a.example", "TXT"), ("_smtp._tls.a.example", "TXT")], deadline)
    assert server.answered.acquire(timeout=5.0)  # both answers were sent, so they wait in the socket
    assert server.answered.acquire(timeout=5.0)
    deadline.end = time.monotonic() - 1  # as if the fetch had used up the whole deadline
    answers = pending.answers()
    assert net.txt_values("_mta-sts.a.example", answers[0])[0] == ["v=STSv1; id=1"]
    assert net.txt_values("_smtp._tls.a.example", answers[1])[0] == ["v=STSv1; id=1"]


def test_answers_from_another_address_or_port_are_dropped(resolvers: Callable[[Script], Scripted]) -> None:
    """An answer with the right id and question from a socket other than the resolver asked is ignored."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rogue:
        rogue.bind(("127.0.0.1", 0))
        servers: list[Scripted] = []

        def script(query: dns.message.QueryMessage, tcp: bool) -> list[dns.message.Message]:
            rogue.sendto(txt(query, "v=STSv1; id=spoofed").to_wire(), servers[0].last_source)
            return [txt(query)]

        servers.append(resolvers(script))
        assert network(servers[0]).txt("_mta-sts.a.example")[0] == ["v=STSv1; id=1"]


def test_lookups_from_inside_a_running_event_loop(resolvers: Callable[[Script], Scripted]) -> None:
    """A caller inside a running event loop (the Pulumi program's preflight) is answered all the same."""
    net = network(resolvers(lambda q, tcp: [txt(q)]))

    async def inside() -> tuple[list[str], str]:
        return net.txt("_mta-sts.a.example")

    loop = asyncio.new_event_loop()  # not asyncio.run, which leaves the main thread without a current loop
    try:
        assert loop.run_until_complete(inside()) == (["v=STSv1; id=1"], "_mta-sts.a.example")
    finally:
        loop.close()
