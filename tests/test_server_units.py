"""The server's parts without HTTP: job store, catalog, prompt policy, files, auth, and the worker on a fake pipeline."""

from __future__ import annotations

import threading
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("fastapi")

from kinema.server.auth import bearer_token, is_protected, key_is_valid
from kinema.server.catalog import ModelCatalog
from kinema.server.errors import APIError
from kinema.server import files
from kinema.server.files import JobFiles, decode_clip, decode_image, fit_clip, new_video_id
from kinema.server.jobs import COMPLETED, FAILED, IN_PROGRESS, QUEUED, Job, QueueFull
from kinema.server.policy import AllPolicies, BlocklistPolicy, ClassifierPolicy
from kinema.server.settings import ServerSettings
from kinema.server.sqlite_store import SQLiteJobStore
from kinema.server.worker import Worker, stitch_extension

CATALOG = ModelCatalog("tiny", 8.0, ((16, 16), (16, 32)), (1, 17, 33), max_frames=49)


def make_job(**fields) -> Job:
    base = {"id": new_video_id(), "model": "tiny", "prompt": "a red ball", "task": "generate", "width": 16, "height": 16,
                "seconds": "2", "num_frames": 17, "seed": 1, "created_at": 100}
    return Job(**{**base, **fields})


@pytest.fixture
def store(tmp_path):
    store = SQLiteJobStore(tmp_path / "jobs.sqlite3")
    yield store
    store.close()


# ---------------------------------------------------------------------------- the store


def test_store_is_a_bounded_fifo_queue(store) -> None:
    first, second = make_job(), make_job()
    store.enqueue(first, max_queued=2)
    store.enqueue(second, max_queued=2)
    with pytest.raises(QueueFull, match="2 jobs are queued"):
        store.enqueue(make_job(), max_queued=2)
    claimed = store.claim_next(now=200)
    assert claimed.id == first.id and claimed.status == IN_PROGRESS and claimed.attempts == 1
    assert claimed.started_at == 200 and store.count_queued() == 1
    store.enqueue(make_job(), max_queued=2)  # claiming made room


def test_store_progress_completion_and_failure(store) -> None:
    job = store.enqueue(make_job(), max_queued=5)
    store.claim_next(now=1)
    assert store.set_progress(job.id, 40) and store.get(job.id).progress == 40
    assert store.complete(job.id, now=5, expires_at=65)
    done = store.get(job.id)
    assert (done.status, done.progress, done.completed_at, done.expires_at) == (COMPLETED, 100, 5, 65)
    assert not store.set_progress(job.id, 50)  # no longer in progress
    other = store.enqueue(make_job(), max_queued=5)
    store.fail(other.id, now=6, code="generation_failed", message="boom")
    assert (store.get(other.id).status, store.get(other.id).error_code) == (FAILED, "generation_failed")


def test_store_lists_with_cursors_that_survive_deletion(store) -> None:
    jobs = [store.enqueue(make_job(created_at=100 + i), max_queued=10) for i in range(5)]
    ids = [job.id for job in jobs]
    page = store.list(after=None, limit=2, order="asc")
    assert [job.id for job in page.jobs] == ids[:2] and page.has_more
    assert [job.id for job in store.list(after=ids[1], limit=10, order="asc").jobs] == ids[2:]
    assert [job.id for job in store.list(after=None, limit=10, order="desc").jobs] == ids[::-1]
    store.delete(ids[1])
    after_deleted = store.list(after=ids[1], limit=10, order="asc")
    assert [job.id for job in after_deleted.jobs] == ids[2:] and not after_deleted.has_more
    assert ids[1] not in [job.id for job in store.list(after=None, limit=10, order="asc").jobs]
    with pytest.raises(KeyError):
        store.list(after=new_video_id(), limit=10, order="asc")


def test_deleting_a_queued_job_means_it_is_never_claimed(store) -> None:
    job = store.enqueue(make_job(), max_queued=5)
    assert store.delete(job.id).status == QUEUED
    assert store.get(job.id) is None and store.delete(job.id) is None
    assert store.claim_next(now=1) is None
    assert store.purgeable(now=1) == [job.id]
    store.mark_purged(job.id)
    assert store.purgeable(now=1) == [] and store.is_purged(job.id)


def test_deleting_a_rendering_job_stops_its_progress_and_completion(store) -> None:
    job = store.enqueue(make_job(), max_queued=5)
    store.claim_next(now=1)
    store.delete(job.id)
    assert store.purgeable(now=1) == []  # the worker is still rendering it
    assert not store.set_progress(job.id, 10) and not store.complete(job.id, now=2, expires_at=None)


def test_recovery_requeues_once_then_fails(tmp_path) -> None:
    path = tmp_path / "jobs.sqlite3"
    store = SQLiteJobStore(path)
    job = store.enqueue(make_job(), max_queued=5)
    store.claim_next(now=1)
    store.close()  # the process "dies" with the job in progress
    store = SQLiteJobStore(path)
    [recovered] = store.recover_interrupted(now=2, max_attempts=2)
    assert recovered.status == QUEUED and recovered.progress == 0
    assert store.claim_next(now=3).attempts == 2
    [failed] = store.recover_interrupted(now=4, max_attempts=2)  # died again
    assert failed.status == FAILED and failed.error_code == "interrupted" and "2 times" in failed.error_message
    assert store.get(job.id).status == FAILED
    store.close()


def test_release_returns_a_job_without_counting_the_attempt(store) -> None:
    job = store.enqueue(make_job(), max_queued=5)
    store.claim_next(now=1)
    store.release(job.id)
    assert store.get(job.id).status == QUEUED and store.get(job.id).attempts == 0


def test_expired_jobs_are_purgeable(store) -> None:
    job = store.enqueue(make_job(), max_queued=5)
    store.claim_next(now=1)
    store.complete(job.id, now=10, expires_at=20)
    assert store.purgeable(now=19) == [] and store.purgeable(now=20) == [job.id]


# ---------------------------------------------------------------------------- uploaded clips


def test_an_uploaded_clip_is_decoded_only_as_far_as_needed_and_refused_when_too_big(tmp_path, monkeypatch) -> None:
    from kinema.media import write_video

    clip = write_video(np.zeros((49, 32, 48, 3), np.uint8), tmp_path / "clip.mp4", fps=24).read_bytes()
    frames, fps = decode_clip(clip, param="video", max_seconds=1.0)
    assert (frames.shape, fps) == ((25, 32, 48, 3), 24.0)
    fitted = fit_clip(frames, fps, width=16, height=16, target_fps=8.0, num_frames=9)
    assert fitted.shape == (9, 16, 16, 3)
    monkeypatch.setattr(files, "MAX_DECODED_BYTES", 10 * 32 * 48 * 3)
    with pytest.raises(ValueError, match=r"video is 48x32 at 24 fps: 1 s of it would take .* GiB decoded"):
        decode_clip(clip, param="video", max_seconds=1.0)
    with pytest.raises(ValueError, match="video is not a video this server can read"):
        decode_clip(b"junk", param="video", max_seconds=1.0)


# ---------------------------------------------------------------------------- the catalog


def test_catalog_maps_seconds_to_frames_and_lists_what_is_allowed() -> None:
    # With chaining up to 49 frames OpenAI's "8" (65 frames) is out of reach; its "4" is a trained length.
    assert CATALOG.durations() == {"2": 17, "4": 33} == CATALOG.trained_durations()
    longer = ModelCatalog("tiny", 8.0, ((16, 16), (16, 32)), (1, 17, 33), max_frames=97)
    assert longer.durations() == {"2": 17, "4": 33, "8": 65, "12": 97}  # OpenAI's lengths, by chained extension
    assert longer.trained_durations() == {"2": 17, "4": 33}
    assert CATALOG.parse_seconds("4") == ("4", 33) and CATALOG.parse_seconds(2) == ("2", 17)
    assert CATALOG.parse_seconds(None) == ("4", 33)  # OpenAI's default length
    assert CATALOG.parse_size("32x16") == (16, 32) and CATALOG.parse_size(None) == (16, 16)
    with pytest.raises(APIError, match=r'"2" \(17 frames\), "4" \(33 frames\) at 8 fps') as bad_seconds:
        CATALOG.parse_seconds("3")
    assert bad_seconds.value.status == 400 and bad_seconds.value.param == "seconds"
    # OpenAI's sizes mean the nearest aspect ratio; any other unsupported size is refused.
    assert CATALOG.parse_size("1280x720") == CATALOG.parse_size("1792x1024") == (16, 32)
    assert CATALOG.parse_size("720x1280") == (16, 16)  # no portrait size here: square is nearest
    # No size: OpenAI's default, portrait 720x1280, means the model's size nearest it.
    shipped_sizes = ModelCatalog("world", 8.0, ((48, 80), (64, 64), (80, 48)), (1, 17, 33))
    assert shipped_sizes.parse_size(None) == (80, 48) and CATALOG.parse_size(None) == (16, 16)
    with pytest.raises(APIError, match="choose one of 16x16, 32x16"):
        CATALOG.parse_size("640x480")
    with pytest.raises(APIError, match="WIDTHxHEIGHT"):
        CATALOG.parse_size("big")
    assert CATALOG.check_model("sora-2") == "tiny"
    with pytest.raises(APIError, match="serves model 'tiny'"):
        CATALOG.check_model("other")


def test_extensions_add_lengths_up_to_the_longest_clip() -> None:
    assert CATALOG.extended_seconds("2", "2") == "4" and CATALOG.frames_for("4") == 33
    assert CATALOG.extended_seconds("4", "2") == "6"
    with pytest.raises(APIError, match="up to 6 s"):
        CATALOG.extended_seconds("4", "4")


# ---------------------------------------------------------------------------- policies, files, auth


def test_blocklist_matches_whole_words_phrases_and_regexes(tmp_path) -> None:
    path = tmp_path / "blocklist.txt"
    path.write_text("# comments and blank lines are skipped\n\ngore\nblue   whale\nre:\\bexplo(de|sion)s?\\b\n")
    policy = BlocklistPolicy.from_file(path)
    assert policy.refusal("GORE on the floor") == "it matches the blocklist entry 'gore'"
    assert policy.refusal("a Blue whale swimming") is not None
    assert policy.refusal("an explosion at night") is not None
    assert policy.refusal("a gorey mess") is None and policy.refusal("gorest") is None  # whole words only
    assert policy.refusal("a red ball bouncing") is None
    with pytest.raises(ValueError, match="line 1"):
        BlocklistPolicy(["re:("])


def test_classifier_policy_and_combination() -> None:
    classifier = ClassifierPolicy(lambda prompt: "too violent" if "fight" in prompt else False)
    flagging = ClassifierPolicy(lambda prompt: "night" in prompt, name="night filter")
    combined = AllPolicies([classifier, flagging])
    assert combined.refusal("a fight") == "too violent"
    assert combined.refusal("a ball at night") == "the night filter flagged it"
    assert combined.refusal("a ball") is None
    assert ClassifierPolicy.from_spec("os.path:isabs").refusal("/x") == "the os.path:isabs flagged it"
    with pytest.raises(ValueError, match="MODULE:CALLABLE"):
        ClassifierPolicy.from_spec("nocolon")


@pytest.mark.parametrize("bad_id", ["../jobs.sqlite3", "video_../../x", "video_" + "0" * 31, "VIDEO_" + "0" * 32,
                                    "video_" + "0" * 32 + "/..", "/etc/passwd", ""])
def test_job_files_refuse_anything_but_a_well_formed_id(tmp_path, bad_id) -> None:
    files = JobFiles(tmp_path)
    with pytest.raises(ValueError, match="not a video id"):
        files.folder(bad_id)


def test_job_files_stay_inside_the_data_folder(tmp_path) -> None:
    files = JobFiles(tmp_path)
    job_id = new_video_id()
    assert files.output(job_id, "video") == (tmp_path / "videos" / job_id / "video.mp4").resolve()
    with pytest.raises(ValueError, match="variant must be one of"):
        files.output(job_id, "../../jobs.sqlite3")


def test_uploaded_images_are_fitted_to_the_video_size() -> None:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 10, 30)).save(buffer, format="PNG")
    image = decode_image(buffer.getvalue(), width=16, height=16)
    assert image.shape == (16, 16, 3) and image.dtype == np.uint8
    assert np.abs(image.astype(int) - (200, 10, 30)).max() <= 2
    with pytest.raises(ValueError, match="not an image"):
        decode_image(b"not an image", width=16, height=16)
    with pytest.raises(ValueError, match="empty"):
        decode_image(b"", width=16, height=16)


def test_bearer_keys_and_protected_paths() -> None:
    assert bearer_token([(b"authorization", b"Bearer abc")]) == "abc"
    assert bearer_token([(b"authorization", b"Basic abc")]) is None and bearer_token([]) is None
    keys = frozenset({"abc", "def"})
    assert key_is_valid("def", keys) and not key_is_valid("ab", keys) and not key_is_valid(None, keys)
    assert is_protected("/v1/videos") and is_protected("/openapi.json") and is_protected("/v1")
    assert not is_protected("/health") and not is_protected("/") and not is_protected("/app.js")


def test_settings_name_the_bad_option(tmp_path) -> None:
    with pytest.raises(ValueError, match="--max-queue must be at least 1; got 0"):
        ServerSettings(tmp_path, max_queue=0)
    with pytest.raises(ValueError, match="--expire-hours"):
        ServerSettings(tmp_path, expire_hours=-1)
    assert ServerSettings(tmp_path, expire_hours=0).expire_seconds is None


# ---------------------------------------------------------------------------- the worker, on a fake pipeline


class FakePipeline:
    """Calls back `steps` times; `during_step(step)` may act (delete the job, stop the worker)."""

    def __init__(self, steps: int = 4, during_step=None) -> None:
        self.steps, self.during_step, self.calls = steps, during_step, []

    def __call__(self, prompt, *, num_frames, height, width, callback, **kwargs):
        self.calls.append(dict(prompt=prompt, num_frames=num_frames, height=height, width=width, **kwargs))
        for step in range(1, self.steps + 1):
            if self.during_step:
                self.during_step(step)
            callback(step, self.steps)
        frames = np.full((1, num_frames, height, width, 3), 128, np.uint8)
        return SimpleNamespace(frames=frames)


def make_worker(tmp_path, store, pipeline, **settings) -> Worker:
    return Worker(pipeline, store, JobFiles(tmp_path), CATALOG, ServerSettings(tmp_path, **settings))


def test_worker_renders_writes_and_completes(tmp_path, store) -> None:
    pipeline = FakePipeline()
    worker = make_worker(tmp_path, store, pipeline, expire_hours=1)
    job = store.enqueue(make_job(seed=9, steps=3), max_queued=5)
    worker.process(store.claim_next(now=1))
    done = store.get(job.id)
    assert done.status == COMPLETED and done.expires_at - done.completed_at == 3600
    assert (tmp_path / "videos" / job.id / "video.mp4").is_file()
    assert pipeline.calls[0]["seed"] == 9 and pipeline.calls[0]["num_inference_steps"] == 3


def test_worker_stops_a_deleted_job_and_removes_its_files(tmp_path, store) -> None:
    job = store.enqueue(make_job(), max_queued=5)
    pipeline = FakePipeline(during_step=lambda step: step == 2 and store.delete(job.id))
    worker = make_worker(tmp_path, store, pipeline)
    worker.process(store.claim_next(now=1))
    assert store.get(job.id) is None and store.is_purged(job.id)
    assert not (tmp_path / "videos" / job.id).exists()
    assert store.purgeable(now=10) == []


def test_worker_releases_its_job_when_stopping(tmp_path, store) -> None:
    job = store.enqueue(make_job(), max_queued=5)
    worker = make_worker(tmp_path, store, None)
    worker.pipeline = FakePipeline(during_step=lambda step: worker._stop.set())
    worker.process(store.claim_next(now=1))
    assert store.get(job.id).status == QUEUED and store.get(job.id).attempts == 0


def test_a_failing_pipeline_fails_the_job_not_the_worker(tmp_path, store) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    job = store.enqueue(make_job(), max_queued=5)
    worker = make_worker(tmp_path, store, broken)
    worker.start()
    try:
        for _ in range(200):
            if store.get(job.id).status == FAILED:
                break
            threading.Event().wait(0.02)
        failed = store.get(job.id)
        assert failed.status == FAILED and failed.error_code == "generation_failed"
        assert "RuntimeError: out of memory" in failed.error_message
        assert worker.alive
    finally:
        worker.stop()


def test_extensions_are_stitched_after_the_source() -> None:
    source = np.zeros((17, 4, 4, 3), np.uint8)
    segment = np.full((17, 4, 4, 3), 9, np.uint8)
    stitched = stitch_extension(source, segment, expected=33)
    assert stitched.shape[0] == 33 and (stitched[:17] == 0).all() and (stitched[17:] == 9).all()
    whole = np.concatenate([source, segment[1:]])
    assert stitch_extension(source, whole, expected=33) is whole
    with pytest.raises(Exception, match="expected 33 frames"):
        stitch_extension(source, segment[:5], expected=33)


def test_remix_and_image_jobs_pass_their_inputs(tmp_path, store) -> None:
    pipeline = FakePipeline(steps=1)
    worker = make_worker(tmp_path, store, pipeline)
    source = store.enqueue(make_job(), max_queued=5)
    worker.process(store.claim_next(now=1))
    remix = store.enqueue(make_job(task="remix", source_id=source.id, strength=0.5), max_queued=5)
    worker.process(store.claim_next(now=2))
    assert store.get(remix.id).status == COMPLETED
    assert pipeline.calls[1]["video"].shape == (17, 16, 16, 3) and pipeline.calls[1]["strength"] == 0.5
    image_job = replace(make_job(task="image"))
    JobFiles(tmp_path).save_reference_image(image_job.id, np.full((16, 16, 3), 77, np.uint8))
    store.enqueue(image_job, max_queued=5)
    worker.process(store.claim_next(now=3))
    assert pipeline.calls[2]["image"].shape == (16, 16, 3) and (pipeline.calls[2]["image"] == 77).all()


def test_serve_creates_signing_keys_on_first_start_unless_told_not_to_sign(tmp_path) -> None:
    pytest.importorskip("c2pa")
    from kinema.cli.serve import signing_keys
    from kinema.provenance import keys_exist

    data = tmp_path / "data"
    assert signing_keys(None, data, sign=False) is None and not (data / "keys").exists()
    folder = signing_keys(None, data)
    assert folder == data / "keys" and keys_exist(folder)
    root = (folder / "root.pem").read_bytes()
    assert signing_keys(None, data) == folder and (folder / "root.pem").read_bytes() == root  # reused, not replaced
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="kinema keys init"):
        signing_keys(str(tmp_path / "empty"), data)
