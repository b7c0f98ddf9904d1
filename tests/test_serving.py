"""How the app is served: the workers' listening sockets."""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor

from zhili.serving import listening_socket


def test_connections_accepted_on_a_worker_socket_send_without_delay() -> None:
    """Nagle's algorithm off on every accepted connection: otherwise an answer written in two parts
    (head, then body) waits up to 40 ms for the client's delayed ACK."""

    async def accepted_nodelay() -> int:
        loop = asyncio.get_running_loop()
        made: asyncio.Future[int] = loop.create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                sock = transport.get_extra_info("socket")
                made.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

        server = await loop.create_server(Probe, sock=listening_socket("127.0.0.1", 0, reuse_port=True))
        host, port = server.sockets[0].getsockname()[:2]
        _reader, writer = await asyncio.open_connection(host, port)
        try:
            return await asyncio.wait_for(made, 10)
        finally:
            writer.close()
            server.close()

    # In a thread of its own: a browser test in this process may have left its loop running here.
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, accepted_nodelay()).result(timeout=30) != 0
