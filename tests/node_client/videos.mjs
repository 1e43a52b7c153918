// Every Videos API call through the official openai Node SDK, against a `kinema serve` at
// $KINEMA_URL with key $KINEMA_KEY, given a PNG ($KINEMA_IMAGE) and a world clip ($KINEMA_CLIP).
// Prints one JSON line per step for tests/test_server_node_client.py.
import fs from "node:fs";
import OpenAI, { toFile } from "openai";

const client = new OpenAI({ baseURL: `${process.env.KINEMA_URL}/v1`, apiKey: process.env.KINEMA_KEY, maxRetries: 0 });
const quick = { seed: 3, steps: 2 }; // Kinema's extras: a tiny model needs only a few steps
const report = (step, fields) => console.log(JSON.stringify({ step, ...fields }));
const summary = (video) => ({ id: video.id, status: video.status, size: video.size, seconds: video.seconds, error: video.error });

async function finished(id) {
  for (;;) {
    const video = await client.videos.retrieve(id);
    if (video.status === "completed" || video.status === "failed") return video;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function refused(step, call) {
  try {
    await call();
    report(step, { status: "accepted" });
  } catch (error) {
    report(step, { status: error.status, message: error.message });
  }
}

const created = await client.videos.create({ prompt: "a red ball bouncing on grass", model: "sora-2", ...quick });
report("create", summary(created));
const video = await finished(created.id);
report("finished", summary(video));
const content = Buffer.from(await (await client.videos.downloadContent(video.id)).arrayBuffer());
report("download", { bytes: content.length, box: content.subarray(4, 8).toString("latin1") });
const thumbnail = await client.videos.downloadContent(video.id, { variant: "thumbnail" });
report("thumbnail", { type: thumbnail.headers.get("content-type") });

const image = await toFile(fs.readFileSync(process.env.KINEMA_IMAGE), "first.png", { type: "image/png" });
const animated = await client.videos.create({ prompt: "the ball moves right", input_reference: image, ...quick });
report("image", summary(await finished(animated.id)));
const remix = await client.videos.remix(video.id, { prompt: "make the ball blue", ...quick });
report("remix", summary(await finished(remix.id)));
const extended = await client.videos.extend({ video: { id: video.id }, prompt: "it keeps bouncing", seconds: "2", ...quick });
report("extend", summary(await finished(extended.id)));
const edited = await client.videos.edit({ video: { id: video.id }, prompt: "at night", ...quick });
report("edit", summary(await finished(edited.id)));

const page = await client.videos.list({ limit: 2, order: "asc" });
let listed = 0;
for await (const _ of client.videos.list({ limit: 2 })) listed += 1;
report("list", { first_page: page.data.length, has_more: page.has_more, all: listed });
const clip = await toFile(fs.readFileSync(process.env.KINEMA_CLIP), "ball.mp4", { type: "video/mp4" });
const character = await client.videos.createCharacter({ name: "Bally", video: clip });
const looked_up = await client.videos.getCharacter(character.id);
report("character", { name: looked_up.name, look: looked_up.look });
report("delete", await client.videos.delete(remix.id));

await refused("bad size", () => client.videos.create({ prompt: "a ball", size: "333x333" }));
await refused("missing", () => client.videos.retrieve("video_missing"));
const stranger = new OpenAI({ baseURL: `${process.env.KINEMA_URL}/v1`, apiKey: "wrong", maxRetries: 0 });
await refused("wrong key", () => stranger.videos.list());
