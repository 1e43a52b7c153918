"""C2PA provenance end to end: a real certificate chain, real MP4s rendered from the world, signed
and verified with c2pa-python; tampering with one byte of the media must be detected.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kinema import __version__
from kinema.cli import main
from kinema.media import read_video, write_video
from kinema.provenance import init_keys, sign_if_keys_exist, sign_video, verify_video
from kinema.provenance.keys import (
    CHAIN_FILE,
    ROOT_FILE,
    SIGNER_KEY_FILE,
    default_key_dir,
)
from kinema.provenance.manifest import TRAINED_ALGORITHMIC_MEDIA
from kinema.provenance.verify import report_from_store
from kinema.world.render import render
from kinema.world.sampling import sample_scene

PROMPT = "a big red ball bouncing on the grass"
MODEL = "kinema-tiny"


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_keys(tmp_path_factory.mktemp("provenance") / "keys").folder


@pytest.fixture(scope="module")
def world_frames() -> np.ndarray:
    return render(sample_scene(seed=7, duration=1.0), num_frames=9, height=32, width=48)


@pytest.fixture
def clip(tmp_path: Path, world_frames: np.ndarray) -> Path:
    """A fresh unsigned MP4 of a world scene."""
    return write_video(world_frames, tmp_path / "clip.mp4", fps=8)


@pytest.fixture
def signed(clip: Path, key_dir: Path) -> Path:
    sign_video(clip, model=MODEL, prompt=PROMPT, key_dir=key_dir, seed=1234)
    return clip


def top_level_boxes(data: bytes) -> dict[str, tuple[int, int]]:
    """{box type: (offset, size)} of an MP4's top-level boxes (the last one of each type)."""
    boxes, offset = {}, 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8:offset + 16])[0]
        size = size or len(data) - offset
        boxes[kind.decode("latin-1")] = (offset, size)
        offset += size
    return boxes


def flip_byte_in_media_data(path: Path) -> None:
    """Flip one bit in the middle of the `mdat` box (the encoded frames), leaving the structure intact."""
    data = bytearray(path.read_bytes())
    offset, size = top_level_boxes(bytes(data))["mdat"]
    data[offset + size // 2] ^= 0x01
    path.write_bytes(bytes(data))


def load_chain(folder: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates((folder / CHAIN_FILE).read_bytes())


# ----------------------------------------------------------------------------- keys


def test_init_keys_creates_a_chain_c2pa_accepts(key_dir: Path) -> None:
    assert (key_dir / SIGNER_KEY_FILE).stat().st_mode & 0o777 == 0o600
    signer, root = load_chain(key_dir)
    assert root == x509.load_pem_x509_certificate((key_dir / ROOT_FILE).read_bytes())
    # The signer is issued by the root (its signature verifies with the root's key), and is no CA.
    assert signer.issuer == root.subject and signer.subject != root.subject
    root.public_key().verify(signer.signature, signer.tbs_certificate_bytes, ec.ECDSA(signer.signature_hash_algorithm))
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert signer.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usage = signer.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and not usage.value.key_cert_sign
    assert x509.oid.ExtendedKeyUsageOID.EMAIL_PROTECTION in signer.extensions.get_extension_for_class(
        x509.ExtendedKeyUsage).value
    private_key = serialization.load_pem_private_key((key_dir / SIGNER_KEY_FILE).read_bytes(), password=None)
    assert isinstance(private_key.curve, ec.SECP256R1)  # ES256
    assert private_key.public_key().public_numbers() == signer.public_key().public_numbers()


def test_init_keys_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    folder = init_keys(tmp_path / "keys").folder
    before = {name: (folder / name).read_bytes() for name in (SIGNER_KEY_FILE, CHAIN_FILE, ROOT_FILE)}
    with pytest.raises(FileExistsError, match="already exist.*force"):
        init_keys(folder)
    assert {name: (folder / name).read_bytes() for name in before} == before
    init_keys(folder, force=True)
    assert (folder / ROOT_FILE).read_bytes() != before[ROOT_FILE]
    assert sorted(os.listdir(folder)) == sorted(before)  # no temporary files left behind


def test_default_key_dir_follows_kinema_home_and_import_creates_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KINEMA_HOME", str(tmp_path / "home"))
    assert default_key_dir() == tmp_path / "home" / "keys"
    monkeypatch.delenv("KINEMA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_key_dir() == tmp_path / ".kinema" / "keys"
    code = "import kinema.provenance as p; p.default_key_dir(); import kinema.provenance.sign, kinema.provenance.verify"
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "HOME": str(tmp_path)})
    assert not (tmp_path / ".kinema").exists()


# ----------------------------------------------------------------------------- sign and verify


def test_signed_video_verifies_with_model_prompt_hash_and_generator(
        signed: Path, key_dir: Path, world_frames: np.ndarray) -> None:
    report = verify_video(signed, key_dir=key_dir)
    assert (report.has_manifest, report.valid, report.trusted, report.status) == (True, True, True, "trusted")
    assert report.issues == []
    assert report.model == MODEL and report.seed == 1234
    assert report.prompt_sha256 == hashlib.sha256(PROMPT.encode()).hexdigest()
    assert report.matches_prompt(PROMPT) and not report.matches_prompt(PROMPT + ".")
    assert report.generator == f"Kinema {__version__}"
    assert report.digital_source_type == TRAINED_ALGORITHMIC_MEDIA
    created = datetime.datetime.fromisoformat(report.created)
    assert abs((datetime.datetime.now(datetime.timezone.utc) - created).total_seconds()) < 120
    assert PROMPT not in report.manifest_json  # only the hash is stored
    actions = [action["action"] for manifest in json.loads(report.manifest_json)["manifests"].values()
               for item in manifest["assertions"] if item["label"].startswith("c2pa.actions")
               for action in item["data"]["actions"]]
    assert actions == ["c2pa.created"]
    frames, _ = read_video(signed)  # signing leaves the video itself playable and unchanged
    decoded_before, _ = read_video(write_video(world_frames, signed.with_name("again.mp4"), fps=8))
    np.testing.assert_array_equal(frames, decoded_before)


def test_local_root_is_not_trusted_without_its_anchor(signed: Path, tmp_path: Path) -> None:
    report = verify_video(signed)
    assert (report.valid, report.trusted, report.status) == (True, False, "untrusted")
    assert report.status_text == "signature valid, signer not in trust list"
    assert any(issue.startswith("signingCredential.untrusted") for issue in report.issues)
    other = init_keys(tmp_path / "other-keys").folder
    assert verify_video(signed, key_dir=other).status == "untrusted"


def test_flipping_one_byte_of_media_data_is_detected(signed: Path, key_dir: Path) -> None:
    assert verify_video(signed, key_dir=key_dir).valid
    flip_byte_in_media_data(signed)
    report = verify_video(signed, key_dir=key_dir)
    assert report.has_manifest and not report.valid and not report.trusted and report.status == "invalid"
    assert any("bmffHash.mismatch" in issue for issue in report.issues), report.issues


def test_unsigned_video_reports_no_manifest(clip: Path) -> None:
    report = verify_video(clip)
    assert (report.has_manifest, report.valid, report.status, report.model) == (False, False, "unsigned", None)


def test_corrupt_or_missing_files_give_errors_naming_the_file(tmp_path: Path, key_dir: Path) -> None:
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"this is not an mp4 file " * 20)
    with pytest.raises(ValueError, match="corrupt.mp4"):
        verify_video(corrupt)
    with pytest.raises(ValueError, match="corrupt.mp4"):
        sign_video(corrupt, model=MODEL, prompt=PROMPT, key_dir=key_dir)
    assert corrupt.read_bytes() == b"this is not an mp4 file " * 20  # a failed signing changes nothing
    assert sorted(os.listdir(tmp_path)) == ["corrupt.mp4"]
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty.mp4.*empty"):
        verify_video(empty)
    with pytest.raises(FileNotFoundError, match="missing.mp4"):
        verify_video(tmp_path / "missing.mp4")


def test_signing_needs_keys_and_an_mp4(clip: Path, tmp_path: Path, key_dir: Path) -> None:
    with pytest.raises(FileNotFoundError, match="kinema keys init"):
        sign_video(clip, model=MODEL, prompt=PROMPT, key_dir=tmp_path / "no-keys")
    gif = write_video(np.zeros((5, 16, 16, 3), np.uint8), tmp_path / "clip.gif")
    with pytest.raises(ValueError, match=r"\.mp4.*'\.gif'"):
        sign_video(gif, model=MODEL, prompt=PROMPT, key_dir=key_dir)
    with pytest.raises(ValueError, match="model"):
        sign_video(clip, model=" ", prompt=PROMPT, key_dir=key_dir)


def test_generate_hook_signs_mp4s_only_when_keys_exist(clip: Path, key_dir: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KINEMA_HOME", str(tmp_path / "home"))  # an empty default: no keys there
    unsigned = clip.read_bytes()
    assert sign_if_keys_exist(clip, model=MODEL, prompt=PROMPT, seed=3) is False
    assert clip.read_bytes() == unsigned
    gif = write_video(np.zeros((5, 16, 16, 3), np.uint8), tmp_path / "clip.gif")
    assert sign_if_keys_exist(gif, model=MODEL, prompt=PROMPT, key_dir=key_dir) is False
    shutil.copytree(key_dir, tmp_path / "home" / "keys")
    assert sign_if_keys_exist(clip, model=MODEL, prompt=PROMPT, seed=3) is True
    report = verify_video(clip, key_dir=key_dir)
    assert report.trusted and report.seed == 3 and report.matches_prompt(PROMPT)


def test_resigning_replaces_the_manifest(signed: Path, key_dir: Path) -> None:
    sign_video(signed, model="kinema-other", prompt="a blue star", key_dir=key_dir)
    report = verify_video(signed, key_dir=key_dir)
    assert report.trusted and report.model == "kinema-other" and report.matches_prompt("a blue star")


def test_verdict_keeps_untrusted_apart_from_invalid() -> None:
    """The judgement of c2pa's validation results, on stores shaped like c2pa's output."""
    def store(state: str, *codes: str) -> str:
        manifest = {"claim_generator_info": [{"name": "Kinema", "version": "9"}], "assertions": []}
        failures = [{"code": code, "explanation": "x"} for code in codes]
        return json.dumps({"active_manifest": "m", "manifests": {"m": manifest}, "validation_state": state,
                           "validation_results": {"activeManifest": {"success": [], "failure": failures}}})

    assert report_from_store("f", store("Trusted")).status == "trusted"
    assert report_from_store("f", store("Valid", "signingCredential.untrusted")).status == "untrusted"
    assert report_from_store("f", store("Invalid", "signingCredential.untrusted")).status == "untrusted"
    tampered = report_from_store("f", store("Invalid", "signingCredential.untrusted", "assertion.bmffHash.mismatch"))
    assert tampered.status == "invalid" and not tampered.valid
    assert report_from_store("f", store("Valid", "claimSignature.mismatch")).status == "invalid"
    assert report_from_store("f", store("Trusted")).generator == "Kinema 9"


# ----------------------------------------------------------------------------- CLI


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_keys_init_and_verify_exit_codes(capsys, tmp_path: Path, clip: Path, monkeypatch) -> None:
    monkeypatch.setenv("KINEMA_HOME", str(tmp_path / "home"))  # no default key folder to fall back on
    folder = tmp_path / "cli-keys"
    code, out, _ = run(capsys, "keys", "init", "--dir", str(folder))
    assert code == 0 and str(folder / ROOT_FILE) in out
    code, _, err = run(capsys, "keys", "init", "--dir", str(folder))
    assert code == 2 and "already exist" in err and "--force" in err
    assert run(capsys, "keys", "init", "--dir", str(folder), "--force")[0] == 0

    assert run(capsys, "verify", str(clip))[:2] == (1, f"{clip}: no C2PA manifest\n")
    sign_video(clip, model=MODEL, prompt=PROMPT, key_dir=folder)
    code, out, _ = run(capsys, "verify", str(clip), "--keys", str(folder))
    assert code == 0 and "signature valid, signer trusted" in out and MODEL in out
    code, out, _ = run(capsys, "verify", str(clip))
    assert code == 0 and "signer not in trust list" in out
    assert run(capsys, "verify", str(clip), "--require-trust")[0] == 1
    code, out, _ = run(capsys, "verify", str(clip), "--keys", str(folder), "--json")
    data = json.loads(out)
    assert code == 0 and data["status"] == "trusted" and data["model"] == MODEL and data["manifest"]["manifests"]

    shutil.copytree(folder, tmp_path / "home" / "keys")  # the default key folder is trusted when present
    assert run(capsys, "verify", str(clip), "--require-trust")[0] == 0

    flip_byte_in_media_data(clip)
    code, out, _ = run(capsys, "verify", str(clip), "--keys", str(folder))
    assert code == 1 and "INVALID" in out and "bmffHash.mismatch" in out
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00" * 64)
    code, _, err = run(capsys, "verify", str(corrupt))
    assert code == 2 and "corrupt.mp4" in err and "Traceback" not in err
    code, _, err = run(capsys, "verify", str(tmp_path / "nope.mp4"))
    assert code == 2 and "nope.mp4" in err
