// Kinema's web page: a thin client of the server's OpenAI-compatible Videos API, and nothing else.
// It creates videos (POST /v1/videos, multipart when an image is attached), polls them for progress
// (GET /v1/videos/{id}), lists them (GET /v1/videos), plays, downloads, remixes and deletes them.
// The sizes and durations come from GET /v1/models (Kinema adds `sizes` and `seconds` to each
// model); a server without that route gets the model's defaults. No framework, no build step.
"use strict";

(() => {
  const KEY_STORAGE = "kinema.apiKey";
  const PAGE_SIZE = 12;
  const POLL_MS = { first: 400, fallback: 1000, min: 250, max: 5000, afterError: 3000 };
  const FINISHED = new Set(["completed", "failed"]);
  const state = { model: null, after: null, lastCreated: null, polling: new Set(), blobUrls: new Map() };
  const $ = (id) => document.getElementById(id);
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // ---------------------------------------------------------------- the API

  class ApiError extends Error {
    constructor(status, message, code) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  function apiKey() {
    return localStorage.getItem(KEY_STORAGE) || "";
  }

  function authHeaders() {
    const key = apiKey();
    return key ? { Authorization: `Bearer ${key}` } : {};
  }

  // Calls the API; resolves to {data, response}, rejects with an ApiError carrying error.message.
  async function api(path, { method = "GET", json, form } = {}) {
    const headers = authHeaders();
    let body;
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    } else if (form !== undefined) {
      body = form; // the browser sets the multipart boundary itself
    }
    let response;
    try {
      response = await fetch(path, { method, headers, body });
    } catch (error) {
      throw new ApiError(0, `Cannot reach the Kinema server (${error.message}). Is it still running?`);
    }
    if (!response.ok) throw await errorFrom(response);
    return { data: await response.json(), response };
  }

  // The server answers errors in OpenAI's envelope: {"error": {"message", "code", ...}}.
  async function errorFrom(response) {
    let message = `The server answered ${response.status} ${response.statusText}.`;
    let code = null;
    try {
      const body = await response.json();
      if (body && body.error && body.error.message) {
        message = body.error.message;
        code = body.error.code;
      }
    } catch (_) {
      // not JSON: keep the status line
    }
    if (response.status === 401) message += " Enter the server's key under “API key” at the top.";
    return new ApiError(response.status, message, code);
  }

  function contentUrl(id, variant) {
    return `/v1/videos/${encodeURIComponent(id)}/content?variant=${variant}`;
  }

  // A URL the page can put in src/href. Media elements cannot send an Authorization header, so
  // with an API key the file is fetched with it and shown from a blob URL.
  async function mediaUrl(id, variant) {
    if (!apiKey()) return contentUrl(id, variant);
    const cacheKey = `${id}/${variant}`;
    if (!state.blobUrls.has(cacheKey)) {
      const response = await fetch(contentUrl(id, variant), { headers: authHeaders() });
      if (!response.ok) throw await errorFrom(response);
      state.blobUrls.set(cacheKey, URL.createObjectURL(await response.blob()));
    }
    return state.blobUrls.get(cacheKey);
  }

  function forgetBlobs(id) {
    for (const [cacheKey, url] of state.blobUrls) {
      if (cacheKey.startsWith(`${id}/`)) {
        URL.revokeObjectURL(url);
        state.blobUrls.delete(cacheKey);
      }
    }
  }

  // ---------------------------------------------------------------- messages

  function showError(error) {
    const box = $("error");
    box.textContent = typeof error === "string" ? error : error.message;
    box.hidden = false;
  }

  function clearError() {
    $("error").hidden = true;
    $("error").textContent = "";
  }

  function setStatus(text) {
    $("create-status").textContent = text;
  }

  // ---------------------------------------------------------------- sizes and durations

  function gcd(a, b) {
    return b ? gcd(b, a % b) : a;
  }

  function describeSize(size) {
    const [width, height] = size.split("x").map(Number);
    if (!width || !height) return size;
    const divisor = gcd(width, height);
    const shape = width === height ? "square" : width > height ? "landscape" : "portrait";
    return `${width}×${height} (${shape} ${width / divisor}:${height / divisor})`;
  }

  function fillSelect(select, values, defaultValue, describe) {
    select.replaceChildren();
    if (!values.length) {
      select.append(new Option("Server default", ""));
      return;
    }
    for (const value of values) {
      select.append(new Option(describe(value), value, false, value === defaultValue));
    }
  }

  // The served model: GET /v1/models lists it with its `sizes` and `seconds`; /health names it.
  async function loadModel() {
    let model = null;
    try {
      const { data } = await api("/v1/models");
      model = (data.data || []).find((item) => Array.isArray(item.sizes)) || null;
    } catch (error) {
      if (error.status === 401) showError(error);
    }
    if (!model) {
      try {
        const health = await (await fetch("/health")).json();
        model = { id: health.model };
      } catch (_) {
        model = {};
      }
    }
    state.model = model;
    const sizes = model.sizes || [];
    const seconds = (model.seconds || []).map(String);
    fillSelect($("size"), sizes, model.default_size || sizes[0], describeSize);
    fillSelect($("seconds"), seconds, String(model.default_seconds || "4"), (value) => `${value} seconds`);
    $("model-name").textContent = model.id ? `Model: ${model.id}.` : "";
  }

  // ---------------------------------------------------------------- gallery cards

  function cardFor(id) {
    return document.querySelector(`#gallery > li[data-id="${CSS.escape(id)}"]`);
  }

  function newCard(video) {
    const card = $("card-template").content.firstElementChild.cloneNode(true);
    card.dataset.id = video.id;
    card.querySelector(".delete").addEventListener("click", () => onDelete(card));
    card.querySelector(".remix-toggle").addEventListener("click", () => toggleRemix(card));
    card.querySelector(".remix-form").addEventListener("submit", (event) => onRemix(event, card));
    return card;
  }

  // Adds or updates the card of `video`; unfinished videos are polled until they finish.
  function showVideo(video, { prepend = false } = {}) {
    let card = cardFor(video.id);
    if (!card) {
      card = newCard(video);
      if (prepend) $("gallery").prepend(card);
      else $("gallery").append(card);
    }
    renderCard(card, video);
    if (!FINISHED.has(video.status)) watch(video.id);
    updateEmpty();
    return card;
  }

  function renderCard(card, video) {
    card.dataset.status = video.status;
    card.querySelector(".prompt").textContent = video.prompt || "(no prompt)";
    const meta = [describeSize(video.size), `${video.seconds} s`, `seed ${video.seed}`];
    if (video.remixed_from_video_id) meta.push(`from ${video.remixed_from_video_id}`);
    card.querySelector(".meta").textContent = meta.join(" · ");
    const progressBox = card.querySelector(".progress-box");
    progressBox.hidden = FINISHED.has(video.status);
    if (!progressBox.hidden) {
      const progress = Math.max(0, Math.min(100, video.progress || 0));
      const bar = progressBox.querySelector("progress");
      bar.value = progress;
      bar.setAttribute("aria-label", `Progress of “${video.prompt}”`);
      progressBox.querySelector(".progress-text").textContent =
        video.status === "queued" ? "Queued…" : `Rendering… ${progress}%`;
    }
    const errorBox = card.querySelector(".card-error");
    errorBox.hidden = video.status !== "failed";
    errorBox.textContent = video.status === "failed" && video.error ? video.error.message : "";
    if (video.status === "completed" && !card.querySelector("video")) attachMedia(card, video);
    if (video.id === state.lastCreated && FINISHED.has(video.status)) {
      setStatus(video.status === "completed" ? "Done: your video is first in the gallery." : "That video failed.");
      state.lastCreated = null;
    }
  }

  async function attachMedia(card, video) {
    const player = document.createElement("video");
    player.controls = true;
    player.loop = true;
    player.muted = true; // browsers autoplay only muted media
    player.autoplay = true;
    player.playsInline = true;
    player.preload = "auto";
    player.setAttribute("aria-label", `Video: ${video.prompt}`);
    card.querySelector(".media").replaceChildren(player);
    try {
      player.poster = await mediaUrl(video.id, "thumbnail");
      const source = await mediaUrl(video.id, "video");
      player.src = source;
      const link = card.querySelector(".download");
      link.href = source;
      link.download = `${video.id}.mp4`;
      link.hidden = false;
      card.querySelector(".remix-toggle").hidden = false;
      player.play().catch(() => {}); // autoplay may be refused; the controls remain
    } catch (error) {
      card.querySelector(".card-error").textContent = error.message;
      card.querySelector(".card-error").hidden = false;
    }
  }

  function updateEmpty() {
    $("gallery-empty").hidden = $("gallery").children.length > 0;
  }

  // Polls one unfinished video, as often as the server's openai-poll-after-ms suggests.
  async function watch(id) {
    if (state.polling.has(id)) return;
    state.polling.add(id);
    let delay = POLL_MS.first;
    try {
      while (cardFor(id)) {
        await sleep(delay);
        try {
          const { data, response } = await api(`/v1/videos/${encodeURIComponent(id)}`);
          if (!cardFor(id)) break;
          renderCard(cardFor(id), data);
          if (FINISHED.has(data.status)) break;
          const hint = Number(response.headers.get("openai-poll-after-ms")) || POLL_MS.fallback;
          delay = Math.max(POLL_MS.min, Math.min(POLL_MS.max, hint));
        } catch (error) {
          if (error.status === 404) {
            removeCard(id);
            break;
          }
          showError(error);
          delay = POLL_MS.afterError;
        }
      }
    } finally {
      state.polling.delete(id);
    }
  }

  function removeCard(id) {
    const card = cardFor(id);
    if (card) card.remove();
    forgetBlobs(id);
    updateEmpty();
  }

  async function loadGallery({ more = false } = {}) {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE), order: "desc" });
    if (more && state.after) params.set("after", state.after);
    try {
      const { data } = await api(`/v1/videos?${params}`);
      for (const video of data.data) showVideo(video);
      state.after = data.last_id;
      $("more").hidden = !data.has_more;
    } catch (error) {
      showError(error);
    }
    updateEmpty();
  }

  // ---------------------------------------------------------------- actions

  function createFields() {
    const fields = { prompt: $("prompt").value.trim() };
    if ($("size").value) fields.size = $("size").value;
    if ($("seconds").value) fields.seconds = $("seconds").value;
    if ($("seed").value !== "") fields.seed = Number($("seed").value);
    return fields;
  }

  async function onCreate(event) {
    event.preventDefault();
    clearError();
    const fields = createFields();
    if (!fields.prompt) {
      showError("Write a prompt first: say what the video should show.");
      $("prompt").focus();
      return;
    }
    const image = $("image").files[0];
    $("generate").disabled = true;
    setStatus("Sending…");
    try {
      let request = { method: "POST", json: fields };
      if (image) {
        const form = new FormData();
        for (const [name, value] of Object.entries(fields)) form.append(name, String(value));
        form.append("input_reference", image, image.name);
        request = { method: "POST", form };
      }
      const { data } = await api("/v1/videos", request);
      state.lastCreated = data.id;
      setStatus("Queued: it will play below when it is ready.");
      showVideo(data, { prepend: true });
    } catch (error) {
      setStatus("");
      showError(error);
    } finally {
      $("generate").disabled = false;
    }
  }

  function toggleRemix(card) {
    const form = card.querySelector(".remix-form");
    form.hidden = !form.hidden;
    card.querySelector(".remix-toggle").setAttribute("aria-expanded", String(!form.hidden));
    if (!form.hidden) form.querySelector("input").focus();
  }

  async function onRemix(event, card) {
    event.preventDefault();
    clearError();
    const input = event.target.querySelector("input");
    const prompt = input.value.trim();
    if (!prompt) {
      showError("Write the new prompt for the remix.");
      return;
    }
    try {
      const { data } = await api(`/v1/videos/${encodeURIComponent(card.dataset.id)}/remix`,
        { method: "POST", json: { prompt } });
      input.value = "";
      toggleRemix(card);
      showVideo(data, { prepend: true });
    } catch (error) {
      showError(error);
    }
  }

  // Two clicks: the first arms the button for a few seconds, the second deletes.
  async function onDelete(card) {
    const button = card.querySelector(".delete");
    if (button.dataset.armed !== "true") {
      button.dataset.armed = "true";
      button.textContent = "Really delete?";
      setTimeout(() => {
        button.dataset.armed = "false";
        button.textContent = "Delete";
      }, 4000);
      return;
    }
    clearError();
    try {
      await api(`/v1/videos/${encodeURIComponent(card.dataset.id)}`, { method: "DELETE" });
      removeCard(card.dataset.id);
    } catch (error) {
      showError(error);
    }
  }

  function onSaveKey(event) {
    event.preventDefault();
    const key = $("api-key").value.trim();
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
    reload();
  }

  function onForgetKey() {
    localStorage.removeItem(KEY_STORAGE);
    $("api-key").value = "";
    reload();
  }

  function reload() {
    clearError();
    for (const id of [...state.blobUrls.keys()].map((cacheKey) => cacheKey.split("/")[0])) forgetBlobs(id);
    $("gallery").replaceChildren();
    state.after = null;
    loadModel().then(() => loadGallery());
  }

  // ---------------------------------------------------------------- start

  $("api-key").value = apiKey();
  $("key-form").addEventListener("submit", onSaveKey);
  $("key-clear").addEventListener("click", onForgetKey);
  $("create-form").addEventListener("submit", onCreate);
  $("prompt").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("create-form").requestSubmit();
  });
  $("refresh").addEventListener("click", reload);
  $("more").addEventListener("click", () => loadGallery({ more: true }));
  reload();
})();
