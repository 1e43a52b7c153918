"""Every Sora task as a request to the one pipeline: inputs, their sizing, and the frame layout.

- `inputs`:       read images and clips (paths, PIL images, arrays) and fit them to the size generated
- `plan`:         the timeline and sampling windows of each task, and how pixel frames map to latents
- `requests`:     a pipeline call's task arguments checked and turned into a plan
- `conditioning`: a window's given latents and frame mask, encoded from the timeline's pixels
- `anchors`:      decoded windows meeting the known frames at their seams without a jump

Nothing here samples: `KinemaPipeline` runs every window through the same sampler.
"""
