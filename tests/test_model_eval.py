"""The text-to-video eval: prompt sets, the shipped world classifier, FVD, evaluate_model and `kinema eval`."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import tiny_transformer

from kinema.evaluation import fvd as fvd_module
from kinema.evaluation.model_eval import ATTRIBUTES, evaluate_model, run_model_eval
from kinema.evaluation.prompt_sets import _build_sets, prompt_set
from kinema.pipeline import GenerationOutput, PipelineConfig
from kinema.world.heldout import HELDOUT_TRIPLES, is_heldout
from kinema.world.prompts import complete_scene, parse_prompt
from kinema.world.render import render
from kinema.world.sampling import WorldDistribution, sample_scene
from kinema.world.spec import attributes_of

TINY_SIZES = ((16, 16), (16, 32), (32, 16))  # (height, width)


# ---------------------------------------------------------------------------- prompt sets


@pytest.fixture(scope="module")
def sets():
    return prompt_set("seen"), prompt_set("heldout")


def test_prompt_sets_are_deterministic_prefix_stable_and_200_each(sets) -> None:
    seen, heldout = sets
    assert len(seen) >= 200 and len(heldout) >= 200
    rebuilt_seen, rebuilt_heldout = _build_sets.__wrapped__(30)  # from scratch, past the cache: a prefix, the same
    assert rebuilt_seen == seen[:30] and rebuilt_heldout == heldout[:30]
    assert prompt_set("heldout", 7) == heldout[:7]
    assert len({item.prompt for item in heldout}) == len(heldout)  # varied wording, no duplicates
    with pytest.raises(ValueError, match="seen, heldout"):
        prompt_set("train")


def test_heldout_probes_cover_every_heldout_triple_and_the_seen_set_has_none(sets) -> None:
    seen, heldout = sets
    assert all(is_heldout(*item.probe_triple) for item in heldout)
    assert {item.probe_triple for item in heldout} == set(HELDOUT_TRIPLES)
    for item in heldout:  # only the probe is held out
        assert not any(is_heldout(o.colour, o.shape, o.motion) for o in item.spec.objects[1:])
    for item in seen:
        assert not any(is_heldout(o.colour, o.shape, o.motion) for o in item.spec.objects)
    assert sum(item.spec.occluder is not None for item in heldout) >= 15  # object permanence is measured


def test_seen_twins_differ_from_heldout_scenes_only_in_the_probe_colour(sets) -> None:
    for twin, held in zip(*sets):
        assert twin.spec.objects[0].colour != held.spec.objects[0].colour
        assert twin.spec == replace(held.spec, objects=(replace(held.spec.objects[0], colour=twin.spec.objects[0].colour),
                                                        *held.spec.objects[1:]))


def test_every_prompt_states_its_whole_scene(sets) -> None:
    def by_colour(attrs):
        return replace(attrs, objects=tuple(sorted(attrs.objects, key=lambda a: a.colour)))

    for item in (*sets[0], *sets[1]):
        assert by_colour(complete_scene(parse_prompt(item.prompt))) == by_colour(attributes_of(item.spec)), item.prompt


# ---------------------------------------------------------------------------- FVD


@pytest.mark.parametrize("use_scipy", [True, False])
def test_frechet_distance_matches_the_closed_form_for_diagonal_gaussians(use_scipy) -> None:
    mean_a, mean_b = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var_a, var_b = np.array([1.0, 4.0, 0.25]), np.array([4.0, 1.0, 0.25])
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2)  # 5 + 2
    got = fvd_module.frechet_distance(mean_a, np.diag(var_a), mean_b, np.diag(var_b), use_scipy=use_scipy)
    assert got == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("use_scipy", [True, False])
def test_identical_sets_give_zero_and_a_shift_gives_its_squared_length(use_scipy) -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(300, 16)) @ rng.normal(size=(16, 16))  # correlated features
    assert fvd_module.feature_distance(features, features, use_scipy) == pytest.approx(0.0, abs=1e-6)
    shift = np.full(16, 0.5)
    assert fvd_module.feature_distance(features, features + shift, use_scipy) == pytest.approx(16 * 0.25, rel=1e-6)
    wider = fvd_module.feature_distance(features, features * 1.5, use_scipy)
    assert wider > 0.1


def test_scipy_and_eigen_paths_agree_on_rank_deficient_fits() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(6, 32)), rng.normal(size=(9, 32)) + 0.3  # fewer clips than feature dimensions
    sigma_a, sigma_b = fvd_module.gaussian_fit(a)[1], fvd_module.gaussian_fit(b)[1]
    scipy_trace = fvd_module.trace_sqrt_product(sigma_a, sigma_b, use_scipy=True)
    eigen_trace = fvd_module.trace_sqrt_product(sigma_a, sigma_b, use_scipy=False)
    assert np.isfinite(scipy_trace) and scipy_trace == pytest.approx(eigen_trace, rel=1e-4, abs=1e-6)
    assert fvd_module.feature_distance(a, b) > 0


# ---------------------------------------------------------------------------- the shipped world classifier


@pytest.fixture(scope="module")
def classifier():
    from kinema.evaluation.world_classifier import load_world_classifier

    return load_world_classifier()


def fresh_clips(count: int, height: int, width: int, seed: int, **dist) -> tuple[list[np.ndarray], list]:
    specs = [sample_scene(seed + i, duration=2.125, dist=WorldDistribution(heldout="allow", **dist)) for i in range(count)]
    return [render(spec, 17, height, width) for spec in specs], specs


def test_shipped_classifier_is_small_fp16_and_names_fresh_clips(classifier) -> None:
    from kinema.evaluation.world_classifier import predict
    from kinema.pretrained import PRETRAINED_DIR

    weights = PRETRAINED_DIR / "world-classifier" / "model.safetensors"
    assert weights.stat().st_size < 2_000_000
    clips, specs = [], []
    for number, (height, width) in enumerate(((64, 64), (48, 80), (80, 48))):
        more = fresh_clips(8, height, width, 90_000_000 + 1000 * number, object_counts=(1,), object_count_weights=(1.0,))
        clips += more[0]
        specs += more[1]
    predictions = predict(classifier, clips)
    # Shape is the weak head (35% on 600 fresh clips against 25% by chance; benchmarks/results/world_classifier.json).
    for head, floor in (("background", 0.85), ("colour", 0.85), ("shape", 0.3), ("motion", 0.6)):
        truth = [spec.background if head == "background" else getattr(spec.objects[0], head) for spec in specs]
        accuracy = np.mean([p[head] == t for p, t in zip(predictions, truth)])
        assert accuracy >= floor, (head, accuracy)


def test_fvd_in_classifier_features_separates_real_from_corrupted_clips(classifier) -> None:
    real_a, _ = fresh_clips(24, 64, 64, 91_000_000)
    real_b, _ = fresh_clips(24, 64, 64, 92_000_000)
    swapped = [clip[..., ::-1] for clip in real_b]  # red <-> blue, a wrong-colour generator
    frozen = [np.repeat(clip[:1], len(clip), axis=0) for clip in real_b]  # a generator that never moves
    baseline = fvd_module.fvd(classifier, real_a, real_b)
    assert fvd_module.fvd(classifier, real_a, swapped) > 1.5 * baseline
    assert fvd_module.fvd(classifier, real_a, frozen) > 1.5 * baseline


# ---------------------------------------------------------------------------- evaluate_model


class RenderingPipe:
    """A stand-in generator that renders each prompt's true scene, optionally spoiled: the eval's known answers."""

    def __init__(self, prompts, spoil=None) -> None:
        self.specs = {item.prompt: item.spec for item in prompts}
        self.spoil = spoil
        self.config = PipelineConfig(name="rendering", sizes=((64, 64),), frame_counts=(17,), steps=1)

    def __call__(self, prompt, seed=0, num_videos=1, num_frames=17, height=64, width=64, **_):
        clip = render(self.specs[prompt], num_frames, height, width)
        clip = self.spoil(clip) if self.spoil else clip
        return GenerationOutput(np.stack([clip] * num_videos), torch.zeros(1), [{"seed": seed + i} for i in range(num_videos)])


def greyscale(clip: np.ndarray) -> np.ndarray:
    """A generator that gets every colour wrong (a hue permutation would not: cyan -> yellow matches another object)."""
    return np.repeat(clip.mean(axis=-1, keepdims=True).round().astype(np.uint8), 3, axis=-1)


def test_a_perfect_generator_scores_everything_right_and_a_colourless_one_does_not(classifier) -> None:
    prompts = prompt_set("heldout")[:3]
    perfect = evaluate_model(RenderingPipe(prompts), prompts, seeds=(0, 1), classifier=classifier, progress=False)
    assert perfect.clips == 6 and perfect.all_right == 6 and perfect.combination_right == 6
    assert all(perfect.rate(name) in (1.0, None) for name in ATTRIBUTES)
    by_count = perfect.direction_by_object_count()
    assert sum(data["judged"] for data in by_count.values()) == perfect.judged["direction"]
    assert all(data["rate"] == 1.0 for data in by_count.values())
    colourless = evaluate_model(RenderingPipe(prompts, spoil=greyscale), prompts, seeds=(0, 1),
                                classifier=classifier, progress=False)
    assert colourless.rate("colour") < 0.5 and colourless.combination_right == 0
    assert colourless.fvd > perfect.fvd


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, tiny_vae_folder, text_encoder):
    """A tiny random pipeline (16x16, 32x16, 16x32; 2 steps) and its saved model folder."""
    from kinema.models.vae import load_vae
    from kinema.pipeline import KinemaPipeline

    transformer = tiny_transformer()
    config = PipelineConfig(name="tiny", sizes=TINY_SIZES, frame_counts=(1, 17), steps=2)
    pipe = KinemaPipeline(transformer, load_vae(tiny_vae_folder), text_encoder, config)
    return pipe, pipe.save_pretrained(tmp_path_factory.mktemp("model") / "tiny", dtype=torch.float32)


def test_run_model_eval_on_a_tiny_model_writes_every_attribute(tiny_model, classifier, tmp_path) -> None:
    pipe, _ = tiny_model
    report = run_model_eval(pipe, limit=3, seeds=(0, 1), classifier=classifier, out_dir=tmp_path, progress=False)
    written = json.loads((tmp_path / "model_eval.json").read_text())
    assert written["settings"]["size"] == "16x16" and written["settings"]["steps"] == 2
    for name in ("seen", "heldout"):
        data = written["sets"][name]
        assert data["clips"] == 6 and len(data["records"]) == 3
        assert set(ATTRIBUTES) <= set(data["attributes"])
        objects = sum(item.spec.count for item in prompt_set(name, 3))
        assert data["attributes"]["count"]["judged"] == 6 and data["attributes"]["colour"]["judged"] == 2 * objects
        assert data["fvd"] >= 0 and data["fvd_floor"] >= 0
        by_count = data["direction_by_object_count"]
        assert sum(entry["judged"] for entry in by_count.values()) == data["attributes"]["direction"]["judged"]
    assert "gap" in written["gap_seen_minus_heldout"]["colour"] and report["model"] == "tiny"
    table = (tmp_path / "model_eval.md").read_text()
    assert all(f"| {name} |" in table for name in ATTRIBUTES)
    from PIL import Image

    assert Image.open(tmp_path / "model_eval_contact_sheet.png").size[0] > 100


# ---------------------------------------------------------------------------- kinema eval


def test_cli_eval_on_a_model_folder(tiny_model, tmp_path, capsys) -> None:
    from kinema.cli import main

    _, folder = tiny_model
    threads = torch.get_num_threads()
    try:
        code = main(["eval", "--model", str(folder), "--limit", "2", "--seeds", "3", "--out", str(tmp_path), "--quiet",
                     "--threads", "1", "--factorised", "--still-guidance", "2"])
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    written = json.loads((tmp_path / "model_eval.json").read_text())
    assert written["settings"]["seeds"] == [3] and written["sets"]["heldout"]["clips"] == 2
    assert written["settings"]["still_guidance"] == 2.0
    assert "--factorised --still-guidance 2.0" in (tmp_path / "model_eval.md").read_text()
    assert "| colour |" in captured.out and "model_eval.json" in captured.err


def test_cli_eval_rejects_bad_options_and_explains_task(tiny_model, tmp_path, capsys) -> None:
    from kinema.cli import main
    from kinema.cli.eval import task_module

    _, folder = tiny_model
    assert main(["eval", "--model", str(folder), "--seeds", "a,b"]) == 2
    assert "--seeds must be comma-separated integers" in capsys.readouterr().err
    assert main(["eval", "--model", str(folder), "--limit", "0"]) == 2
    assert main(["eval", "--model", str(folder), "--still-guidance", "-1"]) == 2
    assert "--still-guidance must be 0 or more" in capsys.readouterr().err
    assert main(["eval", "--model", str(folder), "--threads", "0"]) == 2
    assert "--threads must be at least 1; got 0" in capsys.readouterr().err
    assert main(["eval", "--help"]) == 0
    assert "--task NAME" in capsys.readouterr().out
    if task_module() is None:
        assert main(["eval", "--task", "extend"]) == 2
        assert "kinema.cli.eval_tasks" in capsys.readouterr().err
