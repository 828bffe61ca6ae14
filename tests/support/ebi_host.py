"""EBI's host name answered by a BlastDeck server, for EBI's unchanged client script.

EBI's `ncbiblast.py` asks `https://www.ebi.ac.uk/Tools/services/rest/ncbiblast/parameters` for
the parameter list while it builds its option parser, before it reads `--baseUrl`; this machine
has no route to EBI. So the client runs with `HTTPS_PROXY` pointing here and `SSL_CERT_FILE` at
a CA made for the test: this proxy accepts the CONNECT for www.ebi.ac.uk, speaks real TLS with a
certificate that CA signed, and passes each request on to BlastDeck with EBI's base path
replaced by BlastDeck's (which may hold a token). Everything else the client does goes to
`--baseUrl` directly. Certificates are made with the `openssl` command (argv only).
"""

from __future__ import annotations

import http.client
import socket
import socketserver
import ssl
import subprocess
import threading
from pathlib import Path

EBI_HOST = "www.ebi.ac.uk"
EBI_BASE = "/Tools/services/rest/ncbiblast"


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA certificate, and a key and certificate for EBI's host name signed by it."""
    ca_key, ca_pem = directory / "ca.key", directory / "ca.pem"
    key, csr, pem = directory / "host.key", directory / "host.csr", directory / "host.pem"
    ext = directory / "host.ext"
    ext.write_text(
        f"subjectAltName=DNS:{EBI_HOST}\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
        "authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n"
    )
    _run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=BlastDeck test CA", "-keyout", str(ca_key), "-out", str(ca_pem),
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign"])  # fmt: skip
    _run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={EBI_HOST}",
                    "-keyout", str(key), "-out", str(csr)])  # fmt: skip
    _run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca_pem), "-CAkey", str(ca_key),
          "-CAcreateserial", "-days", "2", "-out", str(pem), "-extfile", str(ext)])  # fmt: skip
    return ca_pem, key, pem


def _run(argv: list[str]) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=60)


class EbiHost:
    """An HTTPS proxy that answers for EBI's host with `target_url` + `target_base`."""

    def __init__(self, directory: Path, target_port: int, target_base: str) -> None:
        self.ca, key, pem = make_certificates(directory)
        self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._tls.load_cert_chain(pem, key)
        self._target_port = target_port
        self._target_base = target_base
        self.requests: list[str] = []
        host = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                host._handle(self.connection)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> EbiHost:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def env(self) -> dict[str, str]:
        proxy = f"http://127.0.0.1:{self.port}"
        return {"HTTPS_PROXY": proxy, "https_proxy": proxy, "SSL_CERT_FILE": str(self.ca)}

    def _handle(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        line = reader.readline().decode("latin-1")
        while reader.readline() not in (b"\r\n", b"\n", b""):
            pass  # the CONNECT's headers
        if not line.startswith(f"CONNECT {EBI_HOST}:443 "):
            conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        with self._tls.wrap_socket(conn, server_side=True) as tls:
            self._forward(tls)

    def _forward(self, tls: ssl.SSLSocket) -> None:
        reader = tls.makefile("rb")
        method, target, _ = reader.readline().decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while (raw := reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = reader.read(int(headers.get("content-length", "0") or 0))
        self.requests.append(f"{method} {target}")
        path = self._target_base + target.removeprefix(EBI_BASE)
        upstream = http.client.HTTPConnection("127.0.0.1", self._target_port, timeout=60)
        try:
            upstream.request(method, path, body=body or None, headers={
                k: v for k, v in headers.items() if k in ("content-type", "user-agent")
            })  # fmt: skip
            answer = upstream.getresponse()
            data = answer.read()
            content_type = answer.getheader("content-type", "text/plain")
            head = (
                f"HTTP/1.1 {answer.status} {answer.reason}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
            )
            tls.sendall(head.encode("latin-1") + data)
        finally:
            upstream.close()
