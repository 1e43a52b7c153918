"""`kinema data render`, `preview` and `encode`: render the procedural world, look at it, pre-encode it for training."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from kinema.cli import EXIT_OK, HelpFormatter, parse_size

CAPTIONS_FILE = "captions.jsonl"
CLIP_FORMATS = ("mp4", "gif", "webp")
HELDOUT_CHOICES = ("exclude", "only", "allow")
ENCODE_FIELDS = ("data", "seed", "buckets", "vae", "text_encoder")  # the TrainConfig fields a cache is made from
CAPTION_STREAM = 1  # caption wording draws from its own stream of the scene seed, independent of the layout


# ----------------------------------------------------------------------------- parsers


def add_data_parser(commands: argparse._SubParsersAction) -> None:
    """`kinema data` and its actions `render`, `preview` and `encode`."""
    data = commands.add_parser(
        "data",
        help="render the procedural world (data render), preview it (data preview), pre-encode it (data encode)",
        description="Render and inspect datasets of the procedural world; encode training batches once.",
        epilog="examples:\n"
        "  kinema data render --n 8 --out out/world\n"
        "  kinema data preview out/world --out out/world/sheet.png\n"
        "  kinema data encode --out out/cache --batches 2000 --vae out/vae",
        formatter_class=HelpFormatter,
    )
    data.set_defaults(parser=data)
    actions = data.add_subparsers(title="data commands", metavar="ACTION")
    _add_render_parser(actions)
    _add_preview_parser(actions)
    _add_encode_parser(actions)


def _add_render_parser(actions: argparse._SubParsersAction) -> None:
    render = actions.add_parser(
        "render",
        help="render N random scenes to DIR/clip_*.mp4 plus DIR/captions.jsonl",
        description="Render N random scenes of the procedural world, one clip per seed S..S+N-1, and\n"
        f"write DIR/{CAPTIONS_FILE}: one JSON object per clip with its file, a randomly worded\n"
        "caption, the canonical caption, seed, width, height, frames, fps and the full scene spec.\n"
        "Scenes are laid out for (frames - 1) / fps seconds, so every object stays in frame.",
        epilog="examples:\n"
        "  kinema data render --n 8 --out out/world\n"
        "  kinema data render --n 1000 --size 80x48 --frames 33 --seed 5000 --out out/train\n"
        "  kinema data render --n 64 --heldout only --format gif --out out/heldout",
        formatter_class=HelpFormatter,
    )
    _add_scene_options(render, n_default=8)
    render.add_argument("--format", choices=CLIP_FORMATS, default="mp4", help="clip file format")
    render.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    render.add_argument("--overwrite", action="store_true", help=f"replace an existing DIR/{CAPTIONS_FILE} and its clips")
    render.add_argument("--quiet", action="store_true", help="no progress bar (the summary line is still printed)")
    render.set_defaults(command=run_render)


def _add_preview_parser(actions: argparse._SubParsersAction) -> None:
    preview = actions.add_parser(
        "preview",
        help="contact sheet PNG of a rendered folder or of N fresh scenes",
        description="Write a contact sheet: one row per clip (evenly spaced frames) under its caption.\n"
        f"With DIR, shows the clips listed in DIR/{CAPTIONS_FILE}; without it, renders --n fresh\n"
        "scenes with the same options as `kinema data render`.",
        epilog="examples:\n"
        "  kinema data preview out/world --out out/world/sheet.png\n"
        "  kinema data preview --n 6 --size 80x48 --frames 33 --out sheet.png\n"
        "  kinema data preview --n 12 --heldout only --out heldout.png",
        formatter_class=HelpFormatter,
    )
    preview.add_argument("dir", nargs="?", metavar="DIR", help="a folder written by `kinema data render`")
    _add_scene_options(preview, n_default=None)
    preview.add_argument("--out", required=True, metavar="IMAGE", help="output image (.png, .jpg or .webp)")
    preview.add_argument("--max-clips", type=int, default=12, metavar="K", help="show at most K clips")
    preview.add_argument("--frames-per-clip", type=int, default=5, metavar="F", help="frames shown per clip")
    preview.add_argument("--scale", type=int, default=2, help="whole-pixel upscaling of each frame")
    preview.set_defaults(command=run_preview)


def _add_encode_parser(actions: argparse._SubParsersAction) -> None:
    """`kinema data encode`; its flags come from TrainConfig (a torch import), so they are added on first use."""
    actions.add_parser(
        "encode",
        help="pre-encode N training batches (VAE latents, text states) for kinema train --cache DIR",
        description="Run the frozen VAE and text encoder once over training batches 0..N-1 and write them to\n"
        "DIR (one batch_*.safetensors per step, the empty prompt's states, and index.json last), so\n"
        "`kinema train --cache DIR` reads them instead of rendering and encoding every step. Batch k\n"
        "is the one `kinema train` would make at step k with the same --data, --seed and --buckets\n"
        "(which it checks); a run longer than N steps cycles through the cached batches.",
        epilog="examples:\n"
        "  kinema data encode --out out/cache --batches 2000 --vae out/vae\n"
        "  kinema data encode --out out/cache-tiny --batches 50 --vae out/vae-tiny --buckets 5x16x16:2\n"
        "  kinema train --run-dir runs/cached --vae out/vae --cache out/cache --steps 20000",
        formatter_class=HelpFormatter,
        add_options=_add_encode_options,
    )


def _add_encode_options(parser: argparse.ArgumentParser) -> None:
    """--out, --batches and the TrainConfig flags that decide what is encoded, with TrainConfig's defaults."""
    import dataclasses

    from kinema.cli.flags import add_config_flag
    from kinema.cli.train import FIELD_HELP, METAVARS
    from kinema.training.trainer import TrainConfig

    parser.add_argument("--out", required=True, metavar="DIR", help="the cache folder (created if missing)")
    parser.add_argument("--batches", type=int, required=True, metavar="N", help="encode training steps 0..N-1")
    helps = {**FIELD_HELP, "seed": "the run's --seed, which decides every step's clips (train with the same one)"}
    for field in dataclasses.fields(TrainConfig):
        if field.name in ENCODE_FIELDS:
            add_config_flag(parser, TrainConfig, field, helps[field.name], metavar=METAVARS.get(field.name))
    parser.add_argument("--overwrite", action="store_true", help="replace a cache already in DIR")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (the summary line is still printed)")
    parser.set_defaults(command=run_encode)


def _add_scene_options(parser: argparse.ArgumentParser, n_default: int | None) -> None:
    """Options shared by `data render` and `data preview`: how many scenes, their size and which world."""
    n_help = "number of scenes" if n_default else "render N fresh scenes (default 8 when DIR is not given)"
    parser.add_argument("--n", type=int, default=n_default, metavar="N", help=n_help)
    parser.add_argument("--size", default="64x64", metavar="WxH", help="frame width x height, multiples of 16")
    parser.add_argument("--frames", type=int, default=17, metavar="F", help="frames per clip, 1 + 4k (e.g. 9, 17, 33)")
    parser.add_argument("--fps", type=float, default=8.0, help="frames per second")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="scenes use seeds S, S+1, ..., S+N-1")
    parser.add_argument(
        "--heldout",
        choices=HELDOUT_CHOICES,
        default="exclude",
        help="held-out (colour, shape, motion) combinations: exclude them (training), only them (eval), or allow",
    )


# ----------------------------------------------------------------------------- shared checks


def _checked_render_options(args: argparse.Namespace) -> tuple[int, int]:
    """Validate --n, --seed, --size, --frames and --fps together; return (width, height)."""
    from kinema.world.render import check_render_size

    if args.n < 1:
        raise ValueError(f"--n must be at least 1; got {args.n}")
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0; got {args.seed}")
    width, height = parse_size(args.size)
    try:
        check_render_size(args.frames, height, width, args.fps)
    except ValueError as error:
        raise ValueError(f"{error} (set with --frames, --size and --fps)") from error
    return width, height


def _world(heldout: str) -> Any:
    from kinema.world.sampling import WorldDistribution

    return WorldDistribution(heldout=heldout)


def _progress(iterable: Any, *, total: int, desc: str, quiet: bool) -> Any:
    """A tqdm bar on stderr, so stdout stays clean for the summary and for pipes."""
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="clip", file=sys.stderr, disable=quiet, leave=False)


# ----------------------------------------------------------------------------- data render


def run_render(args: argparse.Namespace) -> int:
    """`kinema data render`: write N clips and their captions.jsonl to --out."""
    width, height = _checked_render_options(args)
    out = Path(args.out)
    captions_path = out / CAPTIONS_FILE
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a file, not a folder; choose a folder path")
    if captions_path.exists() and not args.overwrite:
        raise ValueError(
            f"{str(out)!r} already holds a dataset ({CAPTIONS_FILE}); pass --overwrite to replace it, "
            "or choose another --out"
        )
    start = time.perf_counter()
    seeds = range(args.seed, args.seed + args.n)
    records = []
    for index, seed in enumerate(_progress(seeds, total=args.n, desc="rendering", quiet=args.quiet)):
        records.append(render_clip(out, index, seed, args, width, height))
    _remove_stale_clips(out, captions_path, keep={record["file"] for record in records})
    write_jsonl(captions_path, records)
    seconds = time.perf_counter() - start
    print(
        f"rendered {args.n} clips ({width}x{height}, {args.frames} frames at {args.fps:g} fps, {args.format}) "
        f"to {out}/ in {seconds:.1f} s; captions in {captions_path}"
    )
    return EXIT_OK


def render_clip(out: Path, index: int, seed: int, args: argparse.Namespace, width: int, height: int) -> dict:
    """Sample, render and write one clip; return its captions.jsonl record."""
    import dataclasses

    import numpy as np

    from kinema.media import write_video
    from kinema.world.captions import caption, canonical_caption
    from kinema.world.render import render
    from kinema.world.sampling import sample_scene

    spec = sample_scene(seed, duration=(args.frames - 1) / args.fps, dist=_world(args.heldout))
    frames = render(spec, num_frames=args.frames, height=height, width=width, fps=args.fps)
    text = caption(spec, np.random.default_rng([seed, CAPTION_STREAM]))
    name = f"clip_{index:05d}.{args.format}"
    write_video(frames, out / name, fps=args.fps, metadata={"caption": text, "seed": seed})
    return {
        "file": name,
        "caption": text,
        "canonical_caption": canonical_caption(spec),
        "seed": seed,
        "width": width,
        "height": height,
        "frames": args.frames,
        "fps": args.fps,
        "spec": dataclasses.asdict(spec),
    }


def _remove_stale_clips(out: Path, captions_path: Path, keep: set[str]) -> None:
    """On --overwrite, delete clips the old captions.jsonl listed that the new one does not."""
    if not captions_path.exists():
        return
    for record in read_jsonl(captions_path):
        name = record.get("file") if isinstance(record, dict) else None
        if isinstance(name, str) and name not in keep and Path(name).name == name:  # never outside DIR
            (out / name).unlink(missing_ok=True)


def write_jsonl(path: Path, records: list[dict]) -> None:
    """Write one JSON object per line atomically: a reader never sees a half-written file."""
    from kinema.media.frames import atomic_output

    with atomic_output(path) as temporary:
        with open(temporary, "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def read_jsonl(path: Path) -> list[Any]:
    """Read a JSON-lines file, naming the file and line of any malformed entry."""
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise ValueError(f"{str(path)!r} line {number} is not valid JSON: {error.msg}") from error
    return records


# ----------------------------------------------------------------------------- data preview


def run_preview(args: argparse.Namespace) -> int:
    """`kinema data preview`: a contact sheet of a rendered folder or of fresh scenes."""
    from kinema.media import contact_sheet, write_image

    if args.max_clips < 1:
        raise ValueError(f"--max-clips must be at least 1; got {args.max_clips}")
    if args.dir is not None and args.n is not None:
        raise ValueError("give either DIR (a rendered folder) or --n (render fresh scenes), not both")
    if args.dir is not None:
        clips, labels, source = _clips_from_folder(Path(args.dir), args.max_clips)
    else:
        args.n = 8 if args.n is None else args.n
        clips, labels, source = _fresh_clips(args)
    sheet = contact_sheet(clips, labels=labels, frames_per_clip=args.frames_per_clip, scale=args.scale)
    path = write_image(sheet, args.out)
    print(f"wrote {path} ({sheet.shape[1]}x{sheet.shape[0]}): {len(clips)} clips from {source}")
    return EXIT_OK


def _clips_from_folder(folder: Path, max_clips: int) -> tuple[list, list[str], str]:
    """Read up to `max_clips` clips and captions listed in `folder`/captions.jsonl."""
    from kinema.media import read_video

    captions_path = folder / CAPTIONS_FILE
    if not captions_path.is_file():
        raise FileNotFoundError(
            f"no {CAPTIONS_FILE} in {str(folder)!r}; render a dataset there with `kinema data render --out {folder}`"
        )
    records = read_jsonl(captions_path)[:max_clips]
    if not records:
        raise ValueError(f"{str(captions_path)!r} lists no clips")
    clips, labels = [], []
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict) or not isinstance(record.get("file"), str):
            raise ValueError(f"{str(captions_path)!r} entry {number} has no \"file\" field")
        clips.append(read_video(folder / record["file"])[0])
        labels.append(str(record.get("caption", record["file"])))
    return clips, labels, str(folder)


def _fresh_clips(args: argparse.Namespace) -> tuple[list, list[str], str]:
    """Render min(--n, --max-clips) scenes from --seed on, captioned as `data render` would."""
    import numpy as np

    from kinema.world.captions import caption
    from kinema.world.render import render
    from kinema.world.sampling import sample_scene

    width, height = _checked_render_options(args)
    count = min(args.n, args.max_clips)
    clips, labels = [], []
    for seed in range(args.seed, args.seed + count):
        spec = sample_scene(seed, duration=(args.frames - 1) / args.fps, dist=_world(args.heldout))
        clips.append(render(spec, num_frames=args.frames, height=height, width=width, fps=args.fps))
        labels.append(caption(spec, np.random.default_rng([seed, CAPTION_STREAM])))
    return clips, labels, f"seeds {args.seed}..{args.seed + count - 1}"


# ----------------------------------------------------------------------------- data encode


def run_encode(args: argparse.Namespace) -> int:
    """`kinema data encode`: write a latent cache of --batches training steps to --out."""
    from kinema.cli.flags import fields_as_flags
    from kinema.data.cache import INDEX_FILE, write_cache
    from kinema.training.trainer import TrainConfig, load_frozen, make_source, vae_folder

    if args.batches < 1:
        raise ValueError(f"--batches must be at least 1; got {args.batches}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a file, not a folder; choose a folder path")
    if (out / INDEX_FILE).exists() and not args.overwrite:
        raise ValueError(f"{str(out)!r} already holds a cache ({INDEX_FILE}); pass --overwrite to replace it, "
                         "or choose another --out")
    try:
        config = TrainConfig(**{name: getattr(args, name) for name in ENCODE_FIELDS})
    except ValueError as error:
        raise ValueError(fields_as_flags(str(error), ENCODE_FIELDS)) from None
    if not (vae_folder(config.vae) / "config.json").is_file():
        raise FileNotFoundError(f"--vae {config.vae!r} is neither a VAE model folder nor a VAE shipped with Kinema; "
                                "pass a folder written by `kinema train-vae --export DIR`")
    if config.data != "world" and not Path(config.data).is_dir():
        raise FileNotFoundError(f"--data {config.data!r} is neither 'world' nor a folder of videos with captions")
    start = time.perf_counter()
    vae, text_encoder = load_frozen(config)
    write_cache(out, make_source(config), config.buckets, vae, text_encoder, args.batches,
                progress=not args.quiet, vae_name=config.vae)
    print(f"encoded {args.batches} batches (--data {config.data}, --seed {config.seed}, --buckets {config.buckets}) "
          f"to {out}/ in {time.perf_counter() - start:.1f} s; train from it with `kinema train --cache {out}` "
          "and the same --data, --seed, --buckets, --vae and --text-encoder")
    return EXIT_OK
