#!/usr/bin/env python3
"""A loopback TCP proxy that tests use to take a dependency away and bring it back.

    fault-proxy.py TARGET_HOST:TARGET_PORT

Listens on an ephemeral 127.0.0.1 port and prints "port N" once ready. The line "down" on stdin (or SIGUSR1)
takes the service away: the listener closes and every open connection is cut (like a restarted database or an
unreachable S3). "up" (or SIGUSR2) brings it back on the same port. "quit", end of input or SIGTERM exits.
Commands are acknowledged with "ok down" / "ok up" on stdout.
"""
import asyncio
import os
import signal
import sys


async def main() -> None:
    host, port = sys.argv[1].rsplit(":", 1)
    target = (host, int(port))
    connections: set[asyncio.StreamWriter] = set()
    state = {"server": None, "port": 0}

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
        try:
            server_reader, server_writer = await asyncio.open_connection(*target)
        except OSError:
            client_writer.close()
            return
        connections.update((client_writer, server_writer))
        try:
            await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))
        finally:
            connections.discard(client_writer)
            connections.discard(server_writer)

    async def up() -> None:
        state["server"] = await asyncio.start_server(handle, "127.0.0.1", state["port"], reuse_address=True)
        state["port"] = state["server"].sockets[0].getsockname()[1]

    async def down() -> None:
        server = state["server"]
        state["server"] = None
        if server is not None:
            server.close()
        for writer in list(connections):
            transport = writer.transport
            if transport is not None:
                transport.abort()
        connections.clear()

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
            elif command == "up" and state["server"] is None:
                await up()
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
