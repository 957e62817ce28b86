#!/usr/bin/env python3
"""slow_clients.py URL CAFILE LIMIT HEADER_TIMEOUT_SEC: what one hostile
address (127.0.0.2) can do to otad's HTTPS listener at URL, and whether
another address (127.0.0.1) is still served.  Prints key=value lines:

  idle_open     idle connections from 127.0.0.2 still open (of 40 tried)
  healthz       status and milliseconds of GET /healthz from 127.0.0.1
                while they are open
  slow_opened   TLS connections from 127.0.0.2 that trickle header bytes
  slow_closed   how many of them otad closed, despite the trickle
  slow_last_sec seconds from connect to the last of those closes

Bounded: gives up on each step after a few seconds."""
import http.client
import socket
import ssl
import sys
import time
from urllib.parse import urlparse

url, cafile, limit, header_timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
u = urlparse(url)
host, port = u.hostname, u.port
ATTACKER = "127.0.0.2"


def is_open(s):
    """True while the peer has not closed s (nothing to read yet)."""
    s.setblocking(False)
    try:
        return s.recv(1) != b""
    except (BlockingIOError, ssl.SSLWantReadError):
        return True
    except OSError:
        return False


# 1. Idle connections: no byte sent, not even a TLS hello.
idle = []
for _ in range(40):
    s = socket.socket()
    s.bind((ATTACKER, 0))
    try:
        s.connect((host, port))
    except OSError:
        s.close()
        continue
    idle.append(s)
time.sleep(0.5)
print("idle_open=%d" % sum(1 for s in idle if is_open(s)))

# 2. Another address, meanwhile.
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False
t0 = time.monotonic()
try:
    c = http.client.HTTPSConnection(host, port, context=ctx, timeout=5,
                                    source_address=("127.0.0.1", 0))
    c.request("GET", "/healthz")
    status = c.getresponse().status
    c.close()
except Exception as e:  # noqa: BLE001 - any failure is the answer
    status = "error:" + type(e).__name__
print("healthz=%s %d" % (status, (time.monotonic() - t0) * 1000))
for s in idle:
    s.close()
time.sleep(0.5)

# 3. Slow headers over TLS: one byte every 0.3 s.
slow = []
for _ in range(limit):
    s = socket.socket()
    s.bind((ATTACKER, 0))
    s.settimeout(5)
    try:
        s.connect((host, port))
        t = ctx.wrap_socket(s, server_hostname=host)
        t.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    except OSError:
        s.close()
        continue
    slow.append([t, time.monotonic(), None])
print("slow_opened=%d" % len(slow))
end = time.monotonic() + header_timeout + 5
while time.monotonic() < end and any(x[2] is None for x in slow):
    for x in slow:
        if x[2] is not None:
            continue
        if not is_open(x[0]):
            x[2] = time.monotonic() - x[1]
            continue
        try:
            x[0].setblocking(True)
            x[0].settimeout(1)
            x[0].sendall(b"X")
        except OSError:
            x[2] = time.monotonic() - x[1]
    time.sleep(0.3)
closed = [x[2] for x in slow if x[2] is not None]
print("slow_closed=%d" % len(closed))
print("slow_last_sec=%.1f" % (max(closed) if closed else -1))
