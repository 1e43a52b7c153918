"""How far the world's own motion is from a loop: the loop eval's scenes, rendered, taken as loops.

The loop eval (`kinema eval --task loop`) asks that the step from a 33-frame loop's last frame
back to its first be at most 1.2x the loop's typical step. A model that only continued the world's
motion would pass where the motion happens to come round in 32 steps, and nowhere else: a circle
takes 2.5 s (20 frames) a turn and a bounce 0.9 s, so 32 steps are 1.6 turns or about 4.4
bounces. This script renders each eval case's scene for 33 frames, applies the loop rule to the
clip as it is, and reports the pass rate by motion: what a loop gets without bending the motion.

    python benchmarks/loop_physics.py [--cases 50] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from kinema.evaluation.task_eval import loop_continuity, make_cases, summarize
from kinema.world.render import render

RESULTS = Path(__file__).parent / "results"
FRAMES, FPS, SIZE = 33, 8.0, 64  # the loop eval's length, fps and size


def rendered_loops(cases: int) -> dict:
    """The loop eval's summary (`summarize`) of the rendered clips, over all cases and by motion."""
    by_motion: dict[str, list[dict]] = defaultdict(list)
    for case in make_cases("loop", cases, SIZE, SIZE, FPS, seed=0):
        by_motion[case.spec.objects[0].motion].append(loop_continuity(render(case.spec, FRAMES, SIZE, SIZE, FPS)))
    every = [record for records in by_motion.values() for record in records]
    return {"frames": FRAMES, "fps": FPS, **summarize("loop", every),
            "by_motion": {motion: summarize("loop", records) for motion, records in sorted(by_motion.items())}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=50)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    result = rendered_loops(args.cases)
    print(json.dumps(result, indent=1))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "loop_physics.json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
