"""A local C2PA signing certificate chain: a root CA and an ES256 signing certificate it issued.

C2PA validators accept a signing certificate only with the profile the specification asks of one
(X.509 v3, a critical keyUsage with digitalSignature, an extendedKeyUsage such as emailProtection
or the C2PA claim-signing purpose, not a CA, issued by a CA rather than self-signed). A key folder
holds the signer's private key (`signer.key`, mode 0600), the chain the manifest embeds
(`chain.pem`: signer then root) and the root alone (`root.pem`: the trust anchor verifiers add).
The root's private key is used once, to issue the signer, and never written: rotating keys
(`force=True`) makes a new root, so videos signed before verify as signed-but-untrusted against it.
"""

from __future__ import annotations

import datetime
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KEYS_SUBDIR = "keys"
HOME_ENV = "KINEMA_HOME"
SIGNER_KEY_FILE, CHAIN_FILE, ROOT_FILE = "signer.key", "chain.pem", "root.pem"
KEY_FILES = (SIGNER_KEY_FILE, CHAIN_FILE, ROOT_FILE)
ROOT_DAYS, SIGNER_DAYS = 3650, 730
# id-kp-emailProtection is what most C2PA signers (S/MIME certificates) carry; the C2PA
# claim-signing purpose (1.3.6.1.4.1.62558.2.1) is listed beside it for validators that look for it.
C2PA_CLAIM_SIGNING_OID = "1.3.6.1.4.1.62558.2.1"


@dataclass(frozen=True)
class SigningKeys:
    """A key folder's contents as PEM text: what a C2PA signer needs, and the anchor to trust it."""

    folder: Path
    private_key_pem: str
    chain_pem: str
    root_pem: str


def default_key_dir() -> Path:
    """$KINEMA_HOME/keys, else ~/.kinema/keys. Only computed, never created here."""
    home = os.environ.get(HOME_ENV)
    base = Path(home).expanduser() if home else Path.home() / ".kinema"
    return base / KEYS_SUBDIR


def keys_exist(key_dir: str | os.PathLike[str]) -> bool:
    """Whether `key_dir` holds a complete key folder (all three files)."""
    return all((Path(key_dir) / name).is_file() for name in KEY_FILES)


def init_keys(key_dir: str | os.PathLike[str] | None = None, *, force: bool = False,
              organization: str = "Kinema local signer") -> SigningKeys:
    """Create a root CA and an ES256 signing certificate in `key_dir` (default: `default_key_dir()`).

    Refuses to replace existing keys unless `force`: replacing them makes every video signed with
    the old keys untrusted against the new root.
    """
    folder = Path(key_dir) if key_dir is not None else default_key_dir()
    existing = [name for name in KEY_FILES if (folder / name).exists()]
    if existing and not force:
        raise FileExistsError(
            f"signing keys already exist in {str(folder)!r} ({', '.join(existing)}); pass force=True "
            "(`kinema keys init --force`) to replace them; videos signed with the old keys will then "
            "verify as signed by an untrusted signer"
        )
    private_key_pem, chain_pem, root_pem = _issue_chain(organization)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    # The chain and root are written before the key, so a folder with a key is always complete.
    _write_atomic(folder / ROOT_FILE, root_pem, mode=0o644)
    _write_atomic(folder / CHAIN_FILE, chain_pem, mode=0o644)
    _write_atomic(folder / SIGNER_KEY_FILE, private_key_pem, mode=0o600)
    return SigningKeys(folder, private_key_pem, chain_pem, root_pem)


def load_keys(key_dir: str | os.PathLike[str] | None = None) -> SigningKeys:
    """Read a key folder made by `init_keys`, with an error that says how to make one."""
    folder = Path(key_dir) if key_dir is not None else default_key_dir()
    missing = [name for name in KEY_FILES if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"no signing keys in {str(folder)!r} (missing {', '.join(missing)}); "
            f"create them with `kinema keys init --dir {folder}`"
        )
    return SigningKeys(folder, *((folder / name).read_text() for name in KEY_FILES))


def load_root(key_dir: str | os.PathLike[str]) -> str:
    """The root certificate (PEM) of a key folder: the trust anchor for videos it signed."""
    path = Path(key_dir) / ROOT_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"no root certificate {str(path)!r}; pass a key folder made by `kinema keys init`"
        )
    return path.read_text()


def _issue_chain(organization: str) -> tuple[str, str, str]:
    """(signer private key PEM, chain PEM signer-then-root, root PEM), freshly generated."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    now = datetime.datetime.now(datetime.timezone.utc)
    start = now - datetime.timedelta(minutes=5)  # tolerate small clock differences between machines
    root_key, signer_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root_name = _name("Kinema Root CA", organization)
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name).issuer_name(root_name).public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(now + datetime.timedelta(days=ROOT_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    signer = (
        x509.CertificateBuilder()
        .subject_name(_name(f"Kinema Signer {uuid.uuid4().hex[:8]}", organization)).issuer_name(root_name)
        .public_key(signer_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(now + datetime.timedelta(days=SIGNER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.EMAIL_PROTECTION,
                                              x509.ObjectIdentifier(C2PA_CLAIM_SIGNING_OID)]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    private_key_pem = signer_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    root_pem = root.public_bytes(pem).decode()
    return private_key_pem.decode(), signer.public_bytes(pem).decode() + root_pem, root_pem


def _name(common_name: str, organization: str) -> Any:  # an x509.Name; cryptography is imported lazily
    """An X.509 subject: common name and organisation."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)])


def _key_usage(*, digital_signature: bool = False, key_cert_sign: bool = False, crl_sign: bool = False) -> Any:
    """A keyUsage extension with only the named bits set."""
    from cryptography import x509

    return x509.KeyUsage(digital_signature=digital_signature, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=key_cert_sign,
                         crl_sign=crl_sign, encipher_only=False, decipher_only=False)


def _write_atomic(path: Path, text: str, *, mode: int) -> None:
    """Write `text` to a temporary file created with `mode`, then rename it over `path`.

    The file is created with its final mode, so a private key is never readable by others,
    not even for the moment between writing and a later chmod.
    """
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
        os.chmod(temporary, mode)  # the umask may have removed bits from `mode`; set it exactly
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
