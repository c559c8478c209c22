#!/usr/bin/env python3
"""A loopback TCP proxy that tests use to take a dependency away and bring it back.

    fault-proxy.py TARGET_HOST:TARGET_PORT

Listens on an ephemeral 127.0.0.1 port and prints "port N" once ready. The line "down" on stdin (or SIGUSR1)
takes the service away: the listener closes and every open connection is cut (like a restarted database or an
unreachable S3). "refuse" cuts every open connection too but keeps listening, and resets each new connection
at once, counting it, so a test can prove its client was turned away. "up" (or SIGUSR2) brings it back on the
same port. "stats" prints "stats accepted=N cut=N refused=N" (connections proxied, open connections cut by
down/refuse, connections reset while refusing). "quit", end of input or SIGTERM exits.
Commands are acknowledged with "ok down" / "ok refuse" / "ok up" / "ok stats" on stdout.
"""
import asyncio
import os
import signal
import socket
import struct
import sys


async def main() -> None:
    host, port = sys.argv[1].rsplit(":", 1)
    target = (host, int(port))
    connections: set[asyncio.StreamWriter] = set()
    state = {"server": None, "port": 0, "refusing": False}
    counts = {"accepted": 0, "cut": 0, "refused": 0}

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if state["refusing"]:
            counts["refused"] += 1
            transport = client_writer.transport
            # SO_LINGER 0: close with a reset, the nearest a listening socket comes to refusing.
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
            return
        counts["accepted"] += 1
        try:
            server_reader, server_writer = await asyncio.open_connection(*target)
        except OSError:
            client_writer.close()
            return
        if state["refusing"] or state["server"] is None:
            # "refuse"/"down" came while the upstream connection was being opened: this connection was not yet
            # in `connections`, so the cut missed it; without this it would carry the client's requests through
            # the whole outage.
            counts["cut"] += 1
            for writer in (client_writer, server_writer):
                writer.transport.abort()
            return
        connections.update((client_writer, server_writer))
        try:
            await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))
        finally:
            connections.discard(client_writer)
            connections.discard(server_writer)

    async def up() -> None:
        state["refusing"] = False
        if state["server"] is not None:
            return
        state["server"] = await asyncio.start_server(handle, "127.0.0.1", state["port"], reuse_address=True)
        state["port"] = state["server"].sockets[0].getsockname()[1]

    def cut() -> None:
        counts["cut"] += len(connections) // 2
        for writer in list(connections):
            transport = writer.transport
            if transport is not None:
                transport.abort()
        connections.clear()

    async def down() -> None:
        server = state["server"]
        state["server"] = None
        state["refusing"] = False
        if server is not None:
            server.close()
        cut()

    async def refuse() -> None:
        if state["server"] is None:
            await up()
        state["refusing"] = True
        cut()

    await up()
    print(f"port {state['port']}", flush=True)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    pending: set[asyncio.Task] = set()

    def spawn(coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        pending.add(task)
        task.add_done_callback(pending.discard)

    loop.add_signal_handler(signal.SIGUSR1, lambda: spawn(down()))
    loop.add_signal_handler(signal.SIGUSR2, lambda: spawn(up()))
    loop.add_signal_handler(signal.SIGTERM, stop.set)

    async def commands() -> None:
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := await reader.readline():
            command = line.decode().strip()
            if command == "down":
                await down()
            elif command == "refuse":
                await refuse()
            elif command == "up":
                await up()
            elif command == "stats":
                print(f"stats accepted={counts['accepted']} cut={counts['cut']} refused={counts['refused']}", flush=True)
            elif command == "quit":
                break
            print(f"ok {command}", flush=True)
        stop.set()

    # Keep a reference to every task: the event loop holds only weak ones, and a collected reader task would
    # silently drop the "down"/"up" commands a test sends.
    reader = asyncio.ensure_future(commands())
    await stop.wait()
    reader.cancel()
    await down()
    sys.stdout.flush()
    os._exit(0)  # no lingering connection task may keep a test waiting


if __name__ == "__main__":
    asyncio.run(main())
