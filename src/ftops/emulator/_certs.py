"""A local CA and a server certificate for loopback, made once and kept in the data dir.

The Azure management client refuses bearer tokens over plain HTTP, so the emulator speaks HTTPS;
clients trust `ca.pem` (connection.json names it), exactly as they would trust a corporate CA.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import tempfile
from pathlib import Path


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def ensure_certificates(data_dir: Path) -> tuple[Path, Path, Path]:
    """(ca.pem, server.pem, server-key.pem) under data_dir/tls, created on first use."""
    tls = data_dir / "tls"
    ca_path, cert_path, key_path = tls / "ca.pem", tls / "server.pem", tls / "server-key.pem"
    if ca_path.is_file() and cert_path.is_file() and key_path.is_file():
        return ca_path, cert_path, key_path
    # Made once per data dir: every later start finds them above without loading cryptography.
    # Two local Foundries may start on a new data dir at once (two applies): each writes a complete set
    # into a directory of its own and renames it into place; the second rename fails and that one uses
    # the first's, so a server never serves a certificate its clients' ca.pem did not sign.
    data_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".tls-", dir=data_dir))
    try:
        _create(work)
        os.rename(work, tls)
    except OSError:
        if not (ca_path.is_file() and cert_path.is_file() and key_path.is_file()):
            if tls.is_dir():  # an incomplete set left by an older version: complete it in place
                _create(tls)
            else:
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return ca_path, cert_path, key_path


def _create(tls: Path) -> None:
    """Write a new CA and a server certificate for loopback signed by it into `tls`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_path, cert_path, key_path = tls / "ca.pem", tls / "server.pem", tls / "server-key.pem"
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ftops local Foundry CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
        ]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    _write_private(key_path, key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(pem))
    ca_path.write_bytes(ca_cert.public_bytes(pem))
