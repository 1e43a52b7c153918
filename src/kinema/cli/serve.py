"""`kinema serve`: the OpenAI Videos API-compatible server (FastAPI + uvicorn) over a model folder.

The command checks its options, reads what the model accepts from its config.json, opens the job
store in the data folder, starts a worker process that loads the pipeline and renders (none with
`--workers 0`: an API-only process that queues jobs for a worker elsewhere on the same store), and
runs uvicorn until Ctrl-C or SIGTERM. On shutdown the video being rendered goes back to the queue;
on start, queued videos run and one a crash interrupted is retried once, then failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
from pathlib import Path
from typing import Any

from kinema.cli import EXIT_OK, HelpFormatter
from kinema.server.settings import (
    DEFAULT_EXPIRE_HOURS,
    DEFAULT_MAX_QUEUE,
    DEFAULT_MAX_STEPS,
)

API_KEY_ENV = "KINEMA_API_KEY"

DESCRIPTION = """\
Serve a Kinema model over HTTP with the request and response shapes of OpenAI's Videos API, so
an existing OpenAI client changes only its base URL (http://HOST:PORT/v1). Jobs are queued in a
SQLite database in --data-dir and rendered one at a time by a worker that owns the model; they
survive restarts. Outputs (MP4, thumbnail, spritesheet) live in --data-dir/videos and are deleted
--expire-hours after completion; characters (videos.create_character) live in --data-dir/characters.

Sizes and durations are the model's own (a request for another gets a 400 listing them); a clip of
N frames lasts (N - 1) / fps seconds. OpenAI's sizes (1280x720, ...) mean the model's size nearest
their aspect ratio (a request without a size gets portrait, as from OpenAI), and its lengths "8"
and "12" are made by chained extension. With --api-key
(or --api-keys-file, or $KINEMA_API_KEY) every route but GET /health and the web page needs
`Authorization: Bearer KEY`. Every MP4 carries a C2PA manifest signed with the keys in --keys
(default DATA_DIR/keys, created on first start)."""

EPILOG = """\
examples:
  kinema serve --model out/model --data-dir out/server
  kinema serve --model out/model --host 0.0.0.0 --port 8000 --api-keys-file keys.txt --policy blocklist.txt

  from openai import OpenAI
  client = OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="KEY")
  video = client.videos.create_and_poll(prompt="a red ball bouncing on grass", size="64x64", seconds="2")
  client.videos.download_content(video.id).write_to_file("ball.mp4")"""


def add_serve_parser(commands: argparse._SubParsersAction) -> None:
    """`kinema serve`: options are plain and cheap, so `--help` imports neither torch nor FastAPI."""
    parser = commands.add_parser("serve", help="serve a model over HTTP with OpenAI's Videos API",
                                 description=DESCRIPTION, epilog=EPILOG, formatter_class=HelpFormatter)
    parser.add_argument("--model", metavar="DIR",
                        help="a model folder written by KinemaPipeline.save_pretrained (default: the shipped model)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument("--data-dir", default="kinema-data", metavar="DIR",
                        help="folder for the job database and every output")
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument("--api-key", metavar="KEY", help=f"require this bearer token (or set ${API_KEY_ENV})")
    keys.add_argument("--api-keys-file", metavar="FILE", help="require one of the tokens in FILE (one a line)")
    parser.add_argument("--max-queue", type=int, default=DEFAULT_MAX_QUEUE, metavar="N",
                        help="queued videos beyond N are refused with 429")
    parser.add_argument("--expire-hours", type=float, default=DEFAULT_EXPIRE_HOURS, metavar="H",
                        help="delete outputs H hours after completion; 0 keeps them")
    parser.add_argument("--max-steps", type=int, default=DEFAULT_MAX_STEPS, metavar="N",
                        help="the most sampling steps a request may ask for")
    parser.add_argument("--device", default="cpu", metavar="DEV",
                        help="where the worker samples: cpu (default), cuda, cuda:N or mps")
    parser.add_argument("--no-expand", dest="expand", action="store_false",
                        help="condition on prompts as sent (default: the world's prompt expansion, as kinema generate)")
    parser.add_argument("--policy", metavar="FILE",
                        help="prompt blocklist: one word, phrase or re:REGEX a line; matching prompts get 400")
    parser.add_argument("--policy-classifier", metavar="MODULE:FUNCTION",
                        help="a Python callable prompt -> bool | reason; True or a reason refuses the prompt")
    signing = parser.add_mutually_exclusive_group()
    signing.add_argument("--keys", metavar="DIR", help="C2PA signing keys (default: DATA_DIR/keys, created on first start)")
    signing.add_argument("--no-sign", dest="sign", action="store_false", help="serve videos without a C2PA manifest")
    parser.add_argument("--workers", type=int, choices=(0, 1), default=1,
                        help="1: render in a worker process; 0: API only (another server renders from the same store)")
    parser.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="info",
                        help="uvicorn's and the worker's log level")
    parser.set_defaults(command=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """`kinema serve`: build the app from the options and run it until interrupted."""
    import logging

    import uvicorn

    from kinema.pipeline import resolve_device
    from kinema.server.settings import ServerSettings

    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be from 1 to 65535; got {args.port}")
    resolve_device(args.device)  # a bad --device fails here, not in the worker after the server is up
    settings = ServerSettings(data_dir=Path(args.data_dir), api_keys=api_keys(args), max_queue=args.max_queue,
                              expire_hours=args.expire_hours, max_steps=args.max_steps, expand_prompts=args.expand,
                              device=args.device)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app, summary = build_app(args, settings)
    print(f"kinema serve: {summary}; API at http://{args.host}:{args.port}/v1", flush=True)
    # Pollers reuse one connection; a keep-alive longer than uvicorn's 5 s default keeps a client that
    # waits a few seconds between polls from racing the server's close (a dropped request).
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, timeout_keep_alive=30)
    return EXIT_OK


def api_keys(args: argparse.Namespace) -> frozenset[str]:
    """--api-key, the keys file, or $KINEMA_API_KEY; empty means no authentication."""
    from kinema.server.settings import read_api_keys

    if args.api_key is not None:
        if not args.api_key.strip():
            raise ValueError("--api-key is empty; pass the token clients must send, or leave it out")
        return frozenset({args.api_key.strip()})
    if args.api_keys_file is not None:
        return read_api_keys(args.api_keys_file)
    from_environment = os.environ.get(API_KEY_ENV, "").strip()
    return frozenset({from_environment}) if from_environment else frozenset()


def build_app(args: argparse.Namespace, settings: Any) -> tuple[Any, str]:
    """The FastAPI app for these options, and a one-line summary of what it serves."""
    from kinema.cli.generate import model_folder
    from kinema.server.app import STATIC_DIR, create_app
    from kinema.server.files import JobFiles
    from kinema.server.service import VideoService
    from kinema.server.sqlite_store import SQLiteJobStore
    from kinema.server.worker_process import WorkerProcess

    folder = model_folder(args.model)
    catalog = load_catalog(folder)
    policy = prompt_policy(args.policy, args.policy_classifier)
    keys_folder = signing_keys(args.keys, settings.data_dir, args.sign)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = SQLiteJobStore(settings.database_path)
    service = VideoService(store, JobFiles(settings.data_dir), catalog, settings, policy)
    worker = WorkerProcess(folder, settings, keys_dir=keys_folder, log_level=args.log_level) if args.workers else None
    app = create_app(service, worker=worker, api_keys=settings.api_keys, static_dir=STATIC_DIR)
    sizes = ", ".join(catalog.size_names())
    summary = (f"model {catalog.model!r} from {folder} (sizes {sizes}; seconds {catalog.describe_durations()}); "
               f"data in {settings.data_dir}; auth {'on' if settings.api_keys else 'off'}; "
               f"worker {'on (loading the model)' if worker else 'off (API only)'}; "
               f"provenance {'signed with ' + str(keys_folder) if keys_folder else 'off'}")
    return app, summary


def load_catalog(folder: Path) -> Any:
    """What the model folder accepts, from its config.json: the API process loads no weights."""
    from kinema.config import read_config
    from kinema.pipeline import PipelineConfig
    from kinema.server.catalog import ModelCatalog

    config = read_config(PipelineConfig, folder / "config.json")
    return ModelCatalog.from_config(config)


def prompt_policy(blocklist: str | None, classifier: str | None) -> Any:
    """The prompt policy the options describe (allow everything when neither is given)."""
    from kinema.server.policy import (
        AllowAll,
        AllPolicies,
        BlocklistPolicy,
        ClassifierPolicy,
    )

    policies = []
    if blocklist is not None:
        policies.append(BlocklistPolicy.from_file(blocklist))
    if classifier is not None:
        policies.append(ClassifierPolicy.from_spec(classifier))
    return AllPolicies(policies) if policies else AllowAll()


def signing_keys(keys: str | None, data_dir: Path, sign: bool = True) -> Path | None:
    """The C2PA key folder outputs are signed with, or None with --no-sign.

    --keys must name a complete key folder. Without it DATA_DIR/keys is used, and created on the
    first start, so every video the server makes carries a manifest; a folder that exists but holds
    no keys is an error rather than videos silently left unsigned.
    """
    if not sign:
        return None
    folder = Path(keys) if keys is not None else data_dir / "keys"
    if importlib.util.find_spec("c2pa") is None:
        raise ValueError("signing outputs needs c2pa-python: install it with `pip install 'kinema[serve]'`, "
                         "or pass --no-sign to serve unsigned videos")
    from kinema.provenance import init_keys, keys_exist

    if keys is None and not folder.exists():
        init_keys(folder)
        print(f"kinema serve: created C2PA signing keys in {folder} (its root.pem is what verifiers trust)", flush=True)
    if not keys_exist(folder):
        raise FileNotFoundError(f"{'--keys ' + keys if keys is not None else str(folder)}: not a complete key "
                                f"folder; create one with `kinema keys init --dir {folder}`")
    return folder
