"""`kinema serve` end to end: a real server on a real port, called with the official openai SDK and raw HTTP.

One server (tiny model, an API key, a prompt blocklist) serves the whole module.
"""

from __future__ import annotations

import base64
import io
import re
import sqlite3
import time

import numpy as np
import pytest

openai = pytest.importorskip("openai")
httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK marks the Videos API deprecated

KEY = "test-key-123"
BLOCKED_WORD = "forbiddenword"
SIZES = "16x16, 32x16, 16x32"
DURATIONS = '"2" (17 frames), "4" (33 frames), "8" (65 frames), "12" (97 frames) at 8 fps'


@pytest.fixture(scope="module")
def server(kinema_server_factory, tmp_path_factory):
    folder = tmp_path_factory.mktemp("server")
    blocklist = folder / "blocklist.txt"
    blocklist.write_text(f"{BLOCKED_WORD}\nre:\\bno{{3,}}\\b\n")
    return kinema_server_factory(folder / "data", "--api-key", KEY, "--policy", str(blocklist), "--max-steps", "400")


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0, timeout=60)


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as session:
        yield session


@pytest.fixture(scope="module")
def finished(client):
    """One completed 2-second 32x16 video, shared by the read-only tests."""
    video = client.videos.create_and_poll(prompt="a red ball bouncing on grass", size="32x16", seconds="2",
                                          poll_interval_ms=100, extra_body={"seed": 5, "steps": 2})
    assert video.status == "completed", video.error
    return video


def wait(client, video_id: str):
    return client.videos.poll(video_id, poll_interval_ms=100)


def job_row(server, video_id: str) -> sqlite3.Row | None:
    """The job as the server stored it (deleted ones included), read straight from its database."""
    with sqlite3.connect(server.data_dir / "jobs.sqlite3") as connection:
        connection.row_factory = sqlite3.Row
        return connection.execute("SELECT * FROM jobs WHERE id = ?", (video_id,)).fetchone()


def has_provenance() -> bool:
    import importlib.util

    return importlib.util.find_spec("kinema.provenance") is not None and importlib.util.find_spec("c2pa") is not None


def png_bytes(width: int, height: int, colour=(220, 40, 40)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def decode(data: bytes, suffix: str, tmp_path) -> np.ndarray:
    from kinema.media import read_video

    path = tmp_path / f"download{suffix}"
    path.write_bytes(data)
    return read_video(path)[0]


# ---------------------------------------------------------------------------- create, poll, download


def test_sdk_creates_polls_and_downloads_every_variant(client, finished, tmp_path) -> None:
    assert finished.object == "video" and finished.model == "kinema-tiny" and finished.id.startswith("video_")
    assert (finished.size, finished.seconds, finished.progress, finished.error) == ("32x16", "2", 100, None)
    assert finished.completed_at >= finished.created_at and finished.expires_at > finished.completed_at
    video = client.videos.download_content(finished.id)
    frames = decode(video.content, ".mp4", tmp_path)
    assert frames.shape == (17, 16, 32, 3) and video.response.headers["content-type"] == "video/mp4"
    # Rendered from the expanded prompt, as `kinema generate` renders (the caption is kept in the file).
    from kinema.media import read_video_metadata
    from kinema.world.expansion import expand_prompt

    metadata = read_video_metadata(tmp_path / "download.mp4")
    assert metadata["prompt"] == finished.prompt and metadata["caption"] == expand_prompt(finished.prompt).caption
    thumbnail = client.videos.download_content(finished.id, variant="thumbnail")
    assert thumbnail.response.headers["content-type"] == "image/webp"
    assert decode(thumbnail.content, ".webp", tmp_path).shape == (1, 16, 32, 3)
    sheet = client.videos.download_content(finished.id, variant="spritesheet")
    assert sheet.response.headers["content-type"] == "image/jpeg" and sheet.content[:2] == b"\xff\xd8"
    assert client.videos.retrieve(finished.id).model_dump() == finished.model_dump()


def test_videos_carry_a_signed_c2pa_manifest(client, server, finished, tmp_path) -> None:
    if not has_provenance():
        pytest.skip("kinema.provenance or c2pa-python is not installed")
    from kinema.provenance import verify_video

    path = tmp_path / "signed.mp4"
    path.write_bytes(client.videos.download_content(finished.id).content)
    report = verify_video(path, key_dir=server.data_dir / "keys")
    assert report.valid and report.trusted, report.issues
    assert report.model == "kinema-tiny" and report.seed == 5 and report.matches_prompt(finished.prompt)


def test_the_same_seed_renders_the_same_video(client, finished, tmp_path) -> None:
    again = client.videos.create_and_poll(prompt=finished.prompt, size="32x16", seconds="2", poll_interval_ms=100,
                                          extra_body={"seed": 5, "steps": 2})
    other = client.videos.create_and_poll(prompt=finished.prompt, size="32x16", seconds="2", poll_interval_ms=100,
                                          extra_body={"seed": 6, "steps": 2})
    first, same, different = (decode(client.videos.download_content(v.id).content, ".mp4", tmp_path)
                              for v in (finished, again, other))
    # x264 may encode the same frames a little differently from one run to the next (at equal quality)
    assert np.abs(first.astype(int) - same).mean() < 2 < np.abs(first.astype(int) - different).mean()


def test_json_requests_work_as_well_as_multipart(http) -> None:
    response = http.post("/v1/videos", json={"prompt": "a blue square", "size": "16x16", "seconds": 4, "steps": 1})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["size"], body["seconds"], body["progress"]) == ("queued", "16x16", "4", 0)
    assert body["remixed_from_video_id"] is None and body["completed_at"] is None


def test_list_paginates_with_cursors(client) -> None:
    ids = [client.videos.create(prompt=f"a green star {i}", size="16x16", seconds="2", extra_body={"steps": 1}).id
           for i in range(3)]
    newest = client.videos.list(limit=2)
    assert [video.id for video in newest.data] == ids[::-1][:2]
    assert newest.has_more and newest.last_id == ids[1] and newest.first_id == ids[2]
    following = client.videos.list(limit=2, after=ids[1])
    assert following.data[0].id == ids[0]
    everything = [video.id for video in client.videos.list(limit=2, order="asc")]  # the SDK follows last_id
    assert everything[-3:] == ids and len(everything) == len(set(everything))
    for video_id in ids:
        wait(client, video_id)


def test_a_request_written_for_sora_renders_at_the_nearest_size_by_chained_extension(client, http, tmp_path) -> None:
    """OpenAI's sizes and lengths work unchanged: 1280x720 is the landscape size, 8 s is a chain of windows."""
    video = client.videos.create_and_poll(prompt="a red ball rolling right", model="sora-2", size="1280x720",
                                          seconds="8", poll_interval_ms=100, extra_body={"seed": 1, "steps": 1})
    assert video.status == "completed", video.error
    assert (video.size, video.seconds) == ("32x16", "8")
    assert decode(client.videos.download_content(video.id).content, ".mp4", tmp_path).shape == (65, 16, 32, 3)
    remix = http.post(f"/v1/videos/{video.id}/remix", json={"prompt": "a blue ball"})
    assert remix.status_code == 400 and "a remix edits videos of 2 or 4 s" in remix.json()["error"]["message"]


# ---------------------------------------------------------------------------- tasks on a completed video


def test_remix_makes_a_new_video_from_a_completed_one(client, http, finished, tmp_path) -> None:
    remix = client.videos.remix(finished.id, prompt="a blue ball bouncing on grass")
    assert remix.remixed_from_video_id == finished.id and remix.status == "queued"
    done = wait(client, remix.id)
    assert done.status == "completed", done.error
    assert (done.size, done.seconds) == (finished.size, finished.seconds)
    assert decode(client.videos.download_content(done.id).content, ".mp4", tmp_path).shape == (17, 16, 32, 3)
    # The SDK's videos.edit route by id; openai 3.63's client types allow {"id": ...} but its multipart
    # encoder refuses anything but a file, so the reference is sent as JSON (uploads: the next test).
    edit = http.post("/v1/videos/edits", json={"prompt": "a yellow ball", "video": {"id": finished.id}})
    assert edit.status_code == 200, edit.text
    assert edit.json()["remixed_from_video_id"] == finished.id
    assert wait(client, edit.json()["id"]).status == "completed"


def test_edit_and_extend_take_an_uploaded_clip_fitted_to_the_model(client, http, tmp_path) -> None:
    """A 3-s 40x24 clip at 24 fps: edited at the nearest size (32x16) over the longest duration it covers (2 s)."""
    from kinema.media import write_video

    rng = np.random.default_rng(0)
    clip = write_video(rng.integers(0, 255, (73, 24, 40, 3), dtype=np.uint8), tmp_path / "mine.mp4", fps=24)
    edit = client.videos.edit(prompt="a blue ball", video=("mine.mp4", clip.read_bytes(), "video/mp4"))
    assert (edit.size, edit.seconds, edit.remixed_from_video_id) == ("32x16", "2", None)
    done = wait(client, edit.id)
    assert done.status == "completed", done.error
    assert decode(client.videos.download_content(done.id).content, ".mp4", tmp_path).shape == (17, 16, 32, 3)
    extension = client.videos.extend(prompt="it goes on", seconds="2", video=("mine.mp4", clip.read_bytes(), "video/mp4"))
    assert (extension.size, extension.seconds) == ("32x16", "4")
    assert wait(client, extension.id).status == "completed"
    short = write_video(rng.integers(0, 255, (5, 24, 40, 3), dtype=np.uint8), tmp_path / "short.mp4", fps=24)
    with pytest.raises(openai.BadRequestError, match="upload at least 2 s") as refused:
        client.videos.edit(prompt="a blue ball", video=("short.mp4", short.read_bytes(), "video/mp4"))
    assert refused.value.param == "video"
    missing = http.post("/v1/videos/edits", data={"prompt": "a blue ball"})
    assert missing.status_code == 400 and "give the source video as video[id]" in missing.json()["error"]["message"]


def test_extend_continues_a_completed_video(client, http, finished, tmp_path) -> None:
    response = http.post(f"/v1/videos/{finished.id}/extend", json={"prompt": "it keeps bouncing", "seconds": "2"})
    assert response.status_code == 200, response.text
    done = wait(client, response.json()["id"])
    assert done.status == "completed", done.error
    assert done.seconds == "4" and done.remixed_from_video_id == finished.id
    frames = decode(client.videos.download_content(done.id).content, ".mp4", tmp_path)
    source = decode(client.videos.download_content(finished.id).content, ".mp4", tmp_path)
    assert frames.shape == (33, 16, 32, 3)
    assert np.abs(frames[:17].astype(int) - source).mean() < 8  # the source plays first (up to re-encoding)
    # The SDK's videos.extend route, as multipart with video[id] (the SDK itself only uploads files).
    form = http.post("/v1/videos/extensions", data={"prompt": "and further", "seconds": "2", "video[id]": finished.id})
    assert form.status_code == 200, form.text
    assert form.json()["seconds"] == "4" and wait(client, form.json()["id"]).status == "completed"


def test_input_reference_image_starts_the_video(client, http, tmp_path) -> None:
    upload = ("first.png", png_bytes(48, 24), "image/png")
    data_url = "data:image/png;base64," + base64.b64encode(png_bytes(16, 16)).decode()
    video = client.videos.create(prompt="a red ball", size="32x16", seconds="2", input_reference=upload)
    done = wait(client, video.id)
    assert done.status == "completed", done.error
    assert decode(client.videos.download_content(done.id).content, ".mp4", tmp_path).shape == (17, 16, 32, 3)
    response = http.post("/v1/videos", json={"prompt": "a red ball", "size": "16x16", "seconds": "2",
                                             "input_reference": {"image_url": data_url}})
    assert response.status_code == 200, response.text
    assert wait(client, response.json()["id"]).status == "completed"


# ---------------------------------------------------------------------------- deleting and cancelling


def test_delete_removes_a_completed_video_and_its_files(client, server) -> None:
    video = client.videos.create_and_poll(prompt="a yellow triangle", size="16x16", seconds="2", poll_interval_ms=100)
    folder = server.data_dir / "videos" / video.id
    assert (folder / "video.mp4").is_file()
    deleted = client.videos.delete(video.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (video.id, True, "video.deleted")
    assert not folder.exists()
    with pytest.raises(openai.NotFoundError, match="no video with id"):
        client.videos.retrieve(video.id)
    with pytest.raises(openai.NotFoundError):
        client.videos.download_content(video.id)
    with pytest.raises(openai.NotFoundError):
        client.videos.delete(video.id)
    assert video.id not in [v.id for v in client.videos.list(limit=100)]


def test_delete_cancels_a_rendering_video(client, server) -> None:
    video = client.videos.create(prompt="a slow purple circle", size="16x32", seconds="4", extra_body={"steps": 400})
    with pytest.raises(openai.ConflictError, match="poll GET") as not_ready:
        client.videos.download_content(video.id)
    assert not_ready.value.code == "video_not_ready"
    deadline = time.monotonic() + 60
    while client.videos.retrieve(video.id).status == "queued" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.videos.delete(video.id).deleted
    while job_row(server, video.id)["status"] == "in_progress" and time.monotonic() < deadline:
        time.sleep(0.05)
    row = job_row(server, video.id)
    assert (row["status"], row["error_code"]) == ("failed", "cancelled") and row["progress"] < 95
    assert not (server.data_dir / "videos" / video.id).exists()
    assert wait(client, client.videos.create(prompt="a quick one", seconds="2").id).status == "completed"


# ---------------------------------------------------------------------------- characters


def world_clip(tmp_path, empty: bool = False) -> bytes:
    """An MP4 of the world at 128x128 (the server reads the look at 64): a large red square moving left, or nothing."""
    from kinema.media import write_video
    from kinema.world.render import render
    from kinema.world.spec import ObjectSpec, SceneSpec

    frames = render(SceneSpec((ObjectSpec("square", "red", "large", "left", "slow"),), "gray"),
                    num_frames=9, height=128, width=128)
    if empty:
        frames = np.full_like(frames, 128)
    return write_video(frames, tmp_path / "character.mp4", fps=8).read_bytes()


def test_a_character_made_from_a_clip_is_named_in_prompts(client, tmp_path) -> None:
    luna = client.videos.create_character(name="Luna", video=("luna.mp4", world_clip(tmp_path), "video/mp4"))
    assert luna.name == "Luna" and luna.id.startswith("char_") and luna.created_at > 0
    fetched = client.videos.get_character(luna.id)
    assert (fetched.id, fetched.name, fetched.model_extra["look"]) == (luna.id, "Luna", "large red square")
    listed = client.videos.create(prompt="Luna moves right on grass", size="16x16", seconds="2",
                                  extra_body={"characters": [{"id": luna.id}], "seed": 1, "steps": 1})
    assert listed.prompt == "a large red square moves right on grass"
    mentioned = client.videos.create(prompt="the @luna spins", size="16x16", seconds="2",
                                     extra_body={"seed": 1, "steps": 1})
    assert mentioned.prompt == "the large red square spins"
    assert wait(client, mentioned.id).status == "completed"


@pytest.mark.parametrize("arguments,param,message", [
    ({"prompt": "a ball", "extra_body": {"characters": [{"id": "char_" + "0" * 32}]}}, "character_id",
     "no character 'char_0000"),
    ({"prompt": "@nobody spins"}, "prompt", "@nobody names no character on this server"),
])
def test_unknown_characters_are_refused(client, arguments, param, message) -> None:
    with pytest.raises((openai.BadRequestError, openai.NotFoundError), match=re.escape(message)) as refused:
        client.videos.create(**arguments)
    assert refused.value.param == param


def test_a_character_needs_a_name_and_a_clip_showing_an_object(client, tmp_path) -> None:
    with pytest.raises(openai.BadRequestError, match="shows no object") as refused:
        client.videos.create_character(name="Empty", video=("empty.mp4", world_clip(tmp_path, empty=True), "video/mp4"))
    assert refused.value.param == "video"
    with pytest.raises(openai.BadRequestError, match="not a video this server can read"):
        client.videos.create_character(name="Broken", video=("broken.mp4", b"not a video", "video/mp4"))
    with pytest.raises(openai.BadRequestError, match="name must be 1 to 64 letters") as refused:
        client.videos.create_character(name="!!", video=("luna.mp4", world_clip(tmp_path), "video/mp4"))
    assert refused.value.param == "name"
    with pytest.raises(openai.NotFoundError, match="no character"):
        client.videos.get_character("char_" + "f" * 32)


# ---------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("arguments,param,message", [
    ({"size": "640x480"}, "size", f"choose one of {SIZES}"),
    ({"size": "large"}, "size", "WIDTHxHEIGHT"),
    ({"seconds": "3"}, "seconds", DURATIONS),
    ({"model": "another-model"}, "model", "serves model 'kinema-tiny'"),
    ({"extra_body": {"steps": 401}}, "steps", "from 1 to 400"),
    ({"extra_body": {"guidance_scale": -1}}, "guidance_scale", "greater than or equal to 0"),
    ({"extra_body": {"colour": "red"}}, "colour", "unknown parameter 'colour'"),
    ({"prompt": "   "}, "prompt", "prompt is blank"),
])
def test_bad_requests_get_400_naming_the_field_and_what_is_allowed(client, arguments, param, message) -> None:
    arguments = {"prompt": "a red ball", **arguments}
    with pytest.raises(openai.BadRequestError, match=re.escape(message)) as refused:
        client.videos.create(**arguments)
    assert refused.value.param == param
    assert refused.value.body["type"] == "invalid_request_error"


def test_refused_prompts_are_never_stored(client, server) -> None:
    before = len(list(client.videos.list(limit=100)))
    for prompt in (f"a {BLOCKED_WORD.upper()} ball", "nooooo way"):
        with pytest.raises(openai.BadRequestError, match="refused by the server's prompt policy") as refused:
            client.videos.create(prompt=prompt)
        assert refused.value.code == "moderation_blocked" and refused.value.param == "prompt"
    with sqlite3.connect(server.data_dir / "jobs.sqlite3") as connection:
        assert connection.execute("SELECT COUNT(*) FROM jobs WHERE prompt LIKE '%nooo%'").fetchone()[0] == 0
    assert len(list(client.videos.list(limit=100))) == before


def test_every_route_but_health_needs_the_key(server) -> None:
    assert httpx.get(f"{server.url}/health").json()["status"] == "ok"
    for method, path in [("GET", "/v1/videos"), ("POST", "/v1/videos"), ("GET", "/v1/videos/video_" + "0" * 32),
                         ("GET", "/openapi.json"), ("DELETE", "/v1/videos/video_" + "0" * 32)]:
        response = httpx.request(method, f"{server.url}{path}")
        assert response.status_code == 401, (method, path)
        assert response.json()["error"]["code"] == "invalid_api_key"
    wrong = openai.OpenAI(base_url=f"{server.url}/v1", api_key="not-the-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError, match="invalid API key"):
        wrong.videos.list()


@pytest.mark.parametrize("path", [
    "/v1/videos/..%2F..%2Fjobs.sqlite3/content",
    "/v1/videos/%2E%2E/content",
    "/v1/videos/video_%2E%2E%2F%2E%2E%2Fjobs.sqlite3/content",
    "/v1/videos/..%5C..%5Cjobs.sqlite3/content",
    "/%2E%2E/%2E%2E/etc/passwd",
    "/..%2Fjobs.sqlite3",
])
def test_paths_from_requests_never_leave_the_data_folder(http, path) -> None:
    response = http.get(path)
    assert response.status_code in (400, 404), (path, response.status_code)
    assert b"SQLite format" not in response.content and b"root:" not in response.content


def test_variants_come_from_a_fixed_list(http, finished) -> None:
    response = http.get(f"/v1/videos/{finished.id}/content", params={"variant": "../../jobs.sqlite3"})
    assert response.status_code == 400 and response.json()["error"]["param"] == "variant"


def test_models_describe_what_the_served_model_accepts(client) -> None:
    [model] = client.models.list().data
    assert (model.id, model.object) == ("kinema-tiny", "model")
    assert model.sizes == ["16x16", "32x16", "16x32"] and model.seconds == ["2", "4", "8", "12"]
    assert (model.default_size, model.default_seconds, model.fps) == ("16x32", "4", 8.0)  # OpenAI's: portrait, "4"
    assert model.tasks == ["extend", "generate", "image", "remix"]
    assert client.models.retrieve("kinema-tiny").id == "kinema-tiny"
    with pytest.raises(openai.NotFoundError, match="serves 'kinema-tiny'"):
        client.models.retrieve("sora-2")


def test_openapi_schema_describes_the_routes_and_bodies(http) -> None:
    schema = http.get("/openapi.json").json()
    for path in ("/v1/videos", "/v1/videos/{video_id}", "/v1/videos/{video_id}/content",
                 "/v1/videos/{video_id}/remix", "/v1/videos/{video_id}/extend", "/v1/videos/extensions"):
        assert path in schema["paths"], path
    create = schema["paths"]["/v1/videos"]["post"]["requestBody"]["content"]
    assert set(create) == {"application/json", "multipart/form-data"}
    fields = schema["components"]["schemas"]["CreateVideoBody"]["properties"]
    assert {"prompt", "size", "seconds", "input_reference", "seed", "steps", "guidance_scale"} <= set(fields)
