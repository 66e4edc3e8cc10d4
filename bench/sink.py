"""sink: the SMTP receiver both MTAs relay to in the remote part (bench/remote.py).

python3 -B bench/sink.py PORT  listens on 127.0.0.1:PORT, accepts every
message and throws it away, and counts what arrived: connections, messages
(DATA answered 250), recipients of those messages, and the time of the last
message. It runs outside the MTAs' cgroups, so its CPU is nobody's.

Counting at the receiver is what the remote part is about: how many
connections each MTA opens for the same mail. The bench asks for the
counters with the extra command XSTAT on a connection of its own (which is
then not counted): "250 CONNS MSGS RCPTS LAST". It prints "ready" on stdout
once it listens. Postfix's smtp-sink would do, but it reports no per-run
connection count that can be read back reliably."""
import asyncio, sys, time

stats = {"conns": 0, "msgs": 0, "rcpts": 0, "last": 0.0}


async def session(reader, writer):
    stats["conns"] += 1
    rcpts = 0
    w = writer.write
    try:
        w(b"220 sink.test ESMTP bench sink\r\n")
        while True:
            line = await reader.readline()
            if not line:
                break
            verb = line[:4].upper()
            if verb == b"EHLO":
                w(b"250-sink.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 100000000\r\n")
            elif verb in (b"HELO", b"NOOP"):
                w(b"250 ok\r\n")
            elif verb == b"MAIL":
                rcpts = 0
                w(b"250 ok\r\n")
            elif verb == b"RCPT":
                rcpts += 1
                w(b"250 ok\r\n")
            elif verb == b"RSET":
                rcpts = 0
                w(b"250 ok\r\n")
            elif verb == b"DATA":
                if not rcpts:
                    w(b"503 no recipients\r\n")
                    continue
                w(b"354 go ahead\r\n")
                await writer.drain()
                while True:
                    l = await reader.readline()
                    if not l:
                        return
                    if l in (b".\r\n", b".\n"):
                        break
                stats["msgs"] += 1
                stats["rcpts"] += rcpts
                stats["last"] = time.time()
                rcpts = 0
                w(b"250 ok accepted\r\n")
            elif verb == b"QUIT":
                w(b"221 bye\r\n")
                await writer.drain()
                break
            elif verb == b"XSTA":
                # the bench's own question: not a connection of an MTA
                stats["conns"] -= 1
                w(b"250 %d %d %d %.6f\r\n" % (stats["conns"], stats["msgs"], stats["rcpts"],
                                              stats["last"]))
                await writer.drain()
                break
            else:
                w(b"502 unimplemented\r\n")
            # answer pipelined commands together: drain only when no more is buffered
            if not reader._buffer:  # noqa: the StreamReader's pending input
                await writer.drain()
    except (ConnectionError, asyncio.LimitOverrunError, ValueError):
        pass
    finally:
        writer.close()


async def main(port):
    server = await asyncio.start_server(session, "127.0.0.1", port, limit=1 << 20, backlog=256)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main(int(sys.argv[1])))
    except KeyboardInterrupt:
        pass
