"""A local stand-in for Google's OIDC certs endpoint, and tokens signed like Pub/Sub push's.

with CertServer() as certs:
    auth = PushAuth(audience="https://fn", certs_url=certs.url)
    auth.verify("Bearer " + certs.token("https://fn"))
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt

PUSH_EMAIL = "push@example.iam.gserviceaccount.com"
GOOGLE_ISSUER = "https://accounts.google.com"


@dataclass(frozen=True)
class SigningKey:
    """An RSA key with its key id and a self-signed certificate (what the certs endpoint lists)."""

    kid: str
    private_pem: bytes
    cert_pem: str

    @classmethod
    def generate(cls, kid: str = "kid1") -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"test-{kid}")])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256())
        )
        private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return cls(kid, private_pem, cert.public_bytes(serialization.Encoding.PEM).decode())

    def sign(self, payload: dict[str, Any]) -> str:
        signer = crypt.RSASigner.from_string(self.private_pem, key_id=self.kid)  # type: ignore[no-untyped-call]
        token: bytes = jwt.encode(signer, payload)  # type: ignore[no-untyped-call]
        return token.decode()


class CertServer:
    """Serves `{kid: PEM cert}` as JSON on 127.0.0.1 (free port, daemon thread).

    `status` set to e.g. 503 simulates an outage, `body` replaces the JSON (e.g. an HTML error
    page served with 200); `max_age` adds a Cache-Control header;
    `fetches` counts GETs so callers can check caching.
    """

    def __init__(self, *, kid: str = "kid1", max_age: int | None = None) -> None:
        self.key = SigningKey.generate(kid)
        self.max_age = max_age
        self.status = 200
        self.body: bytes | None = None
        self.fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.fetches += 1
                body = server.body or json.dumps({server.key.kid: server.key.cert_pem}).encode()
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if server.max_age is not None:
                    self.send_header("Cache-Control", f"public, max-age={server.max_age}")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{port}/oauth2/v1/certs"
        # A short poll interval: shutdown() waits for it, once per test.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def rotate(self, kid: str) -> None:
        """Replace the served key with a fresh one under `kid` (the old one stops verifying)."""
        self.key = SigningKey.generate(kid)

    def claims(
        self,
        audience: str,
        email: str = PUSH_EMAIL,
        email_verified: bool = True,
        issuer: str = GOOGLE_ISSUER,
        expires_in: int = 3600,
    ) -> dict[str, Any]:
        """The claims of a Pub/Sub push token, for callers that want to tweak one."""
        now = int(time.time())
        exp = now + expires_in
        return {
            "iss": issuer,
            "aud": audience,
            "azp": "1234567890",
            "sub": "1234567890",
            "email": email,
            "email_verified": email_verified,
            "iat": min(now, exp - 3600),
            "exp": exp,
        }

    def token(
        self,
        audience: str,
        email: str = PUSH_EMAIL,
        email_verified: bool = True,
        issuer: str = GOOGLE_ISSUER,
        expires_in: int = 3600,
    ) -> str:
        """A token signed by the served key (pass `expires_in` < 0 for an expired one)."""
        return self.key.sign(self.claims(audience, email, email_verified, issuer, expires_in))

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> CertServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
