"""`witness serve --tls-cert/--tls-key --token-file` from a client's side: HTTPS with a
certificate made here (python3-cryptography), checked by Python's ssl module, and a bearer token
on every route, the tiled log's included.

Run by CTest with WITNESS_BIN naming the witness binary.
"""
import datetime
import json
import os
import signal
import ssl
import subprocess
import tempfile
import urllib.error
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
import ipaddress

WITNESS = os.environ.get("WITNESS_BIN", "witness")


def make_cert(d):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_path, key_path


def test_https_with_a_bearer_token():
    with tempfile.TemporaryDirectory() as d:
        ledger = os.path.join(d, "ledger")
        subprocess.run([WITNESS, "init", "--ledger", ledger], check=True, capture_output=True)
        cert, key = make_cert(d)
        token_file = os.path.join(d, "token")
        with open(token_file, "w") as f:
            f.write("  correct-horse-battery-staple\n")
        proc = subprocess.Popen(
            [WITNESS, "serve", "--ledger", ledger, "--listen", "127.0.0.1:0", "--tls-cert", cert,
             "--tls-key", key, "--token-file", token_file, "--access-log", "off"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline()
            assert line.startswith("listening on https://127.0.0.1:"), line + proc.stderr.read()
            base = line.split(" ")[2].strip().rstrip("/")
            ctx = ssl.create_default_context(cafile=cert)

            def get(path, token=None):
                req = urllib.request.Request(base + path)
                if token:
                    req.add_header("Authorization", "Bearer " + token)
                try:
                    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
                        return r.status, r.read()
                except urllib.error.HTTPError as e:
                    return e.code, e.read()

            status, body = get("/v1/stats", "correct-horse-battery-staple")
            assert status == 200 and json.loads(body)["size"] == 0
            assert get("/checkpoint", "correct-horse-battery-staple")[0] == 200
            for path in ("/v1/stats", "/checkpoint", "/tile/0/000.p/1"):
                status, body = get(path)
                assert status == 401, path
                assert "bearer token" in json.loads(body)["error"]["message"]
                assert get(path, "correct-horse-battery-stapl")[0] == 401
            # Plain HTTP to the TLS port is not answered as HTTP.
            try:
                urllib.request.urlopen(base.replace("https", "http") + "/v1/stats", timeout=5)
                assert False, "plain HTTP answered"
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            # A client that does not trust the certificate refuses it.
            try:
                urllib.request.urlopen(base + "/v1/stats", context=ssl.create_default_context(),
                                       timeout=5)
                assert False, "an untrusted certificate was accepted"
            except urllib.error.URLError as e:
                assert isinstance(e.reason, ssl.SSLError)
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
