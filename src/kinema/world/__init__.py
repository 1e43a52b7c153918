"""The procedural world: scene specs, sampling, rendering, captions and prompt parsing."""
