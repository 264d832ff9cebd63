#!/usr/bin/env python3
"""A syslog-over-TLS receiver (RFC 5425) that tells connections apart.

    tls_receiver.py PORT CA CERT KEY OUT

Listens on 127.0.0.1:PORT, TLS 1.3, and requires a client certificate
from CA. One connection at a time; for every message it writes to OUT

    CONNECTION SERIAL CN SEQUENCEID

CONNECTION counts the connections from 1, SERIAL (upper-case hex) and CN
are those of the client certificate the connection was made with, and
SEQUENCEID is the message's [meta sequenceId]. Prints "ready" once it
listens. rsyslog cannot log which certificate a connection used: this can.
"""
import re
import socket
import ssl
import sys

SEQ = re.compile(rb'\[meta sequenceId="(\d+)"\]')


def frames(tls):
    """The messages of an octet-counted stream (RFC 6587 3.4.1), until EOF."""
    buf = b""
    while True:
        while b" " in buf:
            head, rest = buf.split(b" ", 1)
            n = int(head)
            if len(rest) < n:
                break
            yield rest[:n]
            buf = rest[n:]
        try:
            data = tls.recv(65536)
        except (ssl.SSLError, OSError):
            return
        if not data:
            return
        buf += data


def main():
    port, ca, cert, key, out = sys.argv[1:6]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    srv = socket.create_server(("127.0.0.1", int(port)))
    print("ready", flush=True)
    n = 0
    with open(out, "w") as f:
        while True:
            sock, _ = srv.accept()
            try:
                tls = ctx.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError) as e:
                print("handshake: %s" % e, flush=True)
                sock.close()
                continue
            n += 1
            peer = tls.getpeercert()
            cn = dict(x[0] for x in peer["subject"]).get("commonName", "?")
            for msg in frames(tls):
                m = SEQ.search(msg)
                f.write("%d %s %s %s\n" % (n, peer["serialNumber"], cn, m.group(1).decode() if m else "?"))
                f.flush()
            tls.close()


if __name__ == "__main__":
    main()
