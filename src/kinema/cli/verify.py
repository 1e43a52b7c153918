"""`kinema verify FILE`: report a video's C2PA manifest and whether it validates."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from kinema.cli import EXIT_OK, EXIT_WRONG, HelpFormatter


def add_verify_parser(commands: argparse._SubParsersAction) -> None:
    """`kinema verify FILE [--keys DIR] [--json] [--require-trust]`."""
    verify = commands.add_parser(
        "verify",
        help="check a video's C2PA provenance manifest",
        description="Read the C2PA manifest of FILE, offline, and say whether it is intact (the video\n"
        "and manifest are unchanged since signing) and whether its signer is trusted, with the\n"
        "generator, model, prompt hash and creation time it records. A local `kinema keys init`\n"
        "root is not on the C2PA trust list: pass its folder with --keys to trust it (the default\n"
        "key folder is used when it exists).\n\n"
        "exit codes: 0 the manifest is intact and correctly signed (trusted or not, as printed),\n"
        "            1 no manifest, or tampered/invalid (or untrusted, with --require-trust),\n"
        "            2 the file is missing or not a readable media file",
        epilog="examples:\n"
        "  kinema verify ball.mp4\n"
        "  kinema verify ball.mp4 --keys out/keys --json",
        formatter_class=HelpFormatter,
    )
    verify.add_argument("file", metavar="FILE", help="video to verify (.mp4)")
    verify.add_argument("--keys", metavar="DIR", default=None,
                        help="key folder whose root.pem to trust (default: the default key folder, if it exists)")
    verify.add_argument("--json", action="store_true", help="print the full report, manifest included, as JSON")
    verify.add_argument("--require-trust", action="store_true", help="exit 1 unless the signer is trusted")
    verify.set_defaults(command=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    """`kinema verify`: exit 0 for an intact manifest (and a trusted signer with --require-trust)."""
    from kinema.provenance.keys import ROOT_FILE, default_key_dir
    from kinema.provenance.verify import verify_video

    key_dir = Path(args.keys) if args.keys is not None else default_key_dir()
    if args.keys is None and not (key_dir / ROOT_FILE).is_file():
        key_dir = None
    report = verify_video(args.file, key_dir=key_dir)
    print(json.dumps(report.to_dict(), indent=2) if args.json else format_report(report, key_dir))
    passed = report.trusted if args.require_trust else report.valid
    return EXIT_OK if passed else EXIT_WRONG


def format_report(report: Any, key_dir: Path | None) -> str:
    """The verdict and Kinema's fields, one per line."""
    lines = [f"{report.path}: {report.status_text}"]
    if report.status == "untrusted":
        hint = f"{key_dir}/root.pem is not its root" if key_dir else "pass --keys DIR with the signer's root.pem"
        lines[0] += f" ({hint})"
    fields = [("generator", report.generator), ("model", report.model), ("prompt sha256", report.prompt_sha256),
              ("seed", report.seed), ("created", report.created), ("source type", report.digital_source_type),
              ("signer", report.signer)]
    lines += [f"  {name + ':':<15}{value}" for name, value in fields if value is not None]
    if report.issues:
        lines.append("  issues:")
        lines += [f"    - {issue}" for issue in report.issues]
    return "\n".join(lines)
