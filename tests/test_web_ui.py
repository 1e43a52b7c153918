"""The web page at `/`, driven in real headless Chromium against a real `kinema serve`.

Debian's `chromium` runs through Playwright (`executable_path`; Playwright never downloads a
browser, and `.ci/run` installs chromium with apt). The server is the tiny random model from
conftest, so videos render in seconds. Set KINEMA_WEB_SCREENSHOT=docs/web-ui.png to save a
screenshot of the page with its generated videos (that is how docs/web-ui.png is made).
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from kinema.media import read_video
from kinema.server.files import JobFiles

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not on PATH: apt-get install chromium (.ci/run installs it)")

PROMPT = "a big red ball bouncing on the grass"
RENDER_TIMEOUT_MS = 180_000  # a tiny model renders in seconds, but CI machines are shared
PLAYING = "video => video.readyState >= 2 && video.currentTime > 0 && !video.paused && !video.ended"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh page (own storage) that fails the test on any uncaught script error."""
    context = browser.new_context(viewport={"width": 1100, "height": 820})
    page = context.new_page()
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    yield page
    context.close()
    assert script_errors == [], f"the page raised script errors: {script_errors}"


def wait_until_playing(page, card) -> None:
    """Wait until the card's <video> has decoded frames and its playback clock is running."""
    video = card.locator("video")
    video.wait_for(timeout=RENDER_TIMEOUT_MS)
    page.wait_for_function(PLAYING, arg=video.element_handle(), timeout=RENDER_TIMEOUT_MS)


def first_card_other_than(page, video_id: str | None):
    """The gallery's first card, once it is a different video from `video_id`."""
    page.wait_for_function(
        "id => { const card = document.querySelector('#gallery > li'); return card && card.dataset.id !== id; }",
        arg=video_id, timeout=30_000)
    return page.locator("#gallery > li").first


def served_sizes(server) -> list[str] | None:
    """The sizes GET /v1/models lists for the served model, or None when the server has no such route."""
    response = httpx.get(f"{server.url}/v1/models", timeout=10)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return next(model["sizes"] for model in response.json()["data"] if "sizes" in model)


def test_generate_plays_in_gallery_then_remix_and_delete(page, kinema_server_factory, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    server = kinema_server_factory(tmp_path / "data")
    page.goto(f"{server.url}/")
    expect(page).to_have_title("Kinema")
    expect(page.locator("#gallery-empty")).to_be_visible()
    sizes = served_sizes(server)
    options = page.locator("#size option")
    if sizes is None:  # no GET /v1/models: the page leaves size and duration to the server's defaults
        expect(options).to_have_count(1)
        expected_size = None
    else:
        expect(options).to_have_count(len(sizes))
        assert [option.get_attribute("value") for option in options.all()] == sizes
        expected_size = sizes[-1]
        page.get_by_label("Size").select_option(expected_size)

    page.get_by_label("Prompt", exact=True).fill(PROMPT)
    page.get_by_role("button", name="Generate").click()
    card = first_card_other_than(page, None)
    wait_until_playing(page, card)
    video_id = card.get_attribute("data-id")
    video = httpx.get(f"{server.url}/v1/videos/{video_id}", timeout=10).json()
    assert video["status"] == "completed" and video["prompt"] == PROMPT
    assert expected_size is None or video["size"] == expected_size
    expect(card.locator(".prompt")).to_have_text(PROMPT)
    expect(page.locator("#create-status")).to_contain_text("Done")
    assert card.locator("video").get_attribute("src") == f"/v1/videos/{video_id}/content?variant=video"
    assert card.locator("video").get_attribute("poster") == f"/v1/videos/{video_id}/content?variant=thumbnail"
    download = card.get_by_role("link", name="Download")
    assert download.get_attribute("href") == f"/v1/videos/{video_id}/content?variant=video"
    assert download.get_attribute("download") == f"{video_id}.mp4"

    page.reload()  # the gallery comes from GET /v1/videos, and plays again
    listed = page.locator(f'#gallery > li[data-id="{video_id}"]')
    wait_until_playing(page, listed)
    expect(page.locator("#gallery > li")).to_have_count(1)

    # An error from the API is shown to the user with the server's own error.message.
    page.get_by_label("Prompt", exact=True).fill(PROMPT)
    page.get_by_label("Seed (optional)").fill("-1")
    page.get_by_role("button", name="Generate").click()
    refused = httpx.post(f"{server.url}/v1/videos", json={"prompt": PROMPT, "seed": -1}, timeout=10)
    assert refused.status_code == 400
    expect(page.locator("#error")).to_have_text(refused.json()["error"]["message"])
    expect(page.locator("#gallery > li")).to_have_count(1)
    page.get_by_label("Seed (optional)").fill("")

    listed.get_by_role("button", name="Remix").click()
    listed.get_by_label("New prompt for the remix").fill("a small blue star spinning")
    listed.locator(".remix-form").get_by_role("button", name="Remix").click()
    remix = first_card_other_than(page, video_id)
    wait_until_playing(page, remix)
    expect(remix.locator(".meta")).to_contain_text(f"from {video_id}")
    remix_id = remix.get_attribute("data-id")
    assert httpx.get(f"{server.url}/v1/videos/{remix_id}", timeout=10).json()["remixed_from_video_id"] == video_id
    expect(page.locator("#gallery > li")).to_have_count(2)
    if os.environ.get("KINEMA_WEB_SCREENSHOT"):
        page.mouse.move(0, 0)  # no hover controls over the videos
        page.wait_for_timeout(3500)
        page.screenshot(path=os.environ["KINEMA_WEB_SCREENSHOT"], full_page=True)

    delete = remix.get_by_role("button", name="Delete")
    delete.click()  # the first click only arms the button
    expect(delete).to_have_text("Really delete?")
    assert httpx.get(f"{server.url}/v1/videos/{remix_id}", timeout=10).status_code == 200
    delete.click()
    expect(page.locator(f'#gallery > li[data-id="{remix_id}"]')).to_have_count(0)
    assert httpx.get(f"{server.url}/v1/videos/{remix_id}", timeout=10).status_code == 404
    expect(page.locator("#gallery > li")).to_have_count(1)

    # Image-to-video: an uploaded image is sent as multipart input_reference.
    png = io.BytesIO()
    Image.new("RGB", (32, 32), (220, 30, 30)).save(png, "PNG")
    page.get_by_label("Start from an image (optional)").set_input_files(
        {"name": "first-frame.png", "mimeType": "image/png", "buffer": png.getvalue()})
    with page.expect_request(lambda request: request.method == "POST" and request.url.endswith("/v1/videos")) as sent:
        page.get_by_role("button", name="Generate").click()
    assert sent.value.headers["content-type"].startswith("multipart/form-data")
    from_image = first_card_other_than(page, video_id)
    wait_until_playing(page, from_image)
    expect(page.locator("#gallery > li")).to_have_count(2)
    reference, _ = read_video(JobFiles(server.data_dir).reference_image(from_image.get_attribute("data-id")))
    assert np.abs(reference[0].reshape(-1, 3).mean(axis=0) - (220, 30, 30)).max() < 8  # the server got our image


def test_api_key_is_asked_for_stored_and_sent(page, kinema_server_factory, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    server = kinema_server_factory(tmp_path / "data-auth", "--api-key", "web-secret")
    page.goto(f"{server.url}/")  # the page itself needs no key; the API does
    expect(page.locator("#error")).to_contain_text("API key")

    page.get_by_text("API key", exact=True).click()
    page.get_by_label("API key (sent as a Bearer token; kept in this browser only)").fill("web-secret")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#error")).to_be_hidden()
    assert page.evaluate("localStorage.getItem('kinema.apiKey')") == "web-secret"

    page.get_by_label("Prompt", exact=True).fill(PROMPT)
    page.get_by_role("button", name="Generate").click()
    card = first_card_other_than(page, None)
    wait_until_playing(page, card)  # media elements cannot send the key: the page plays a fetched blob
    assert card.locator("video").get_attribute("src").startswith("blob:")
    video_id = card.get_attribute("data-id")
    listed = httpx.get(f"{server.url}/v1/videos", headers={"Authorization": "Bearer web-secret"}, timeout=10)
    assert [video["id"] for video in listed.json()["data"]] == [video_id]

    page.reload()  # the key survives a reload
    wait_until_playing(page, page.locator(f'#gallery > li[data-id="{video_id}"]'))
