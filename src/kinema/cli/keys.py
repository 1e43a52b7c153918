"""`kinema keys init`: create the local C2PA signing certificate chain that signs generated videos."""

from __future__ import annotations

import argparse
from pathlib import Path

from kinema.cli import EXIT_OK, HelpFormatter


def add_keys_parser(commands: argparse._SubParsersAction) -> None:
    """`kinema keys` and its action `init`."""
    keys = commands.add_parser(
        "keys",
        help="manage the local C2PA signing keys (keys init)",
        description="Manage the certificate chain Kinema signs its videos' C2PA manifests with.",
        epilog="examples:\n"
        "  kinema keys init\n"
        "  kinema keys init --dir out/keys --force",
        formatter_class=HelpFormatter,
    )
    keys.set_defaults(parser=keys)
    actions = keys.add_subparsers(title="keys commands", metavar="ACTION")
    init = actions.add_parser(
        "init",
        help="create a root CA and an ES256 signing certificate",
        description="Create a local root CA and a C2PA signing certificate (ES256) issued by it, in DIR:\n"
        "signer.key (private, mode 0600), chain.pem (signer then root, embedded in every manifest)\n"
        "and root.pem (give it to whoever should trust your videos: `kinema verify --keys`).\n"
        "Once the folder exists, `kinema generate` and `kinema serve` sign their MP4 outputs.\n"
        "The root's private key is not kept; rotating (--force) makes a new root, so videos signed\n"
        "before then verify as intact but untrusted against the new one.",
        epilog="examples:\n"
        "  kinema keys init\n"
        "  kinema keys init --dir out/keys --force",
        formatter_class=HelpFormatter,
    )
    init.add_argument("--dir", metavar="DIR", default=None,
                      help="key folder (default: $KINEMA_HOME/keys, else ~/.kinema/keys)")
    init.add_argument("--force", action="store_true", help="replace keys that already exist in DIR")
    init.set_defaults(command=run_keys_init)


def run_keys_init(args: argparse.Namespace) -> int:
    """`kinema keys init`: write the chain and print where it is."""
    from kinema.provenance.keys import CHAIN_FILE, ROOT_FILE, SIGNER_KEY_FILE, init_keys

    keys = init_keys(Path(args.dir) if args.dir is not None else None, force=args.force)
    print(f"created C2PA signing keys in {keys.folder}")
    print(f"  {keys.folder / SIGNER_KEY_FILE}  private key (mode 0600; keep it secret)")
    print(f"  {keys.folder / CHAIN_FILE}  certificate chain embedded in signed videos")
    print(f"  {keys.folder / ROOT_FILE}  root certificate: the trust anchor for `kinema verify --keys`")
    return EXIT_OK
