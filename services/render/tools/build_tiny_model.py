"""Build a tiny Stable-Diffusion-1 pipeline with random weights, for tests and the local run.

    python build_tiny_model.py OUT_DIR

Runs with the engine's python (scripts/engine-env), which has torch, diffusers and
transformers. The result is a diffusers folder InvokeAI probes as SD-1 (`model_index.json`
says StableDiffusionPipeline, the UNet's cross_attention_dim is 768): a two-block UNet
(32, 64 channels), a four-block VAE (latent factor 8), a 2-layer CLIP text encoder with
hidden size 768, a small byte-level BPE tokenizer and the SD1.5 scheduler settings. About
25 MB. Deterministic: fixed seeds, so every build gives the same weights. Written
atomically: built in a temporary folder next to OUT_DIR, then renamed into place.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

SEED = 1234
# a few merges so the tokenizer is a real BPE; every merged token is in the vocabulary
MERGES = [("t", "h"), ("i", "n"), ("e", "r"), ("a", "n"), ("o", "n"), ("r", "e"), ("th", "e</w>")]
BOS, EOS = "<|startoftext|>", "<|endoftext|>"


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte -> printable character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    bs += list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs), strict=True))


def write_tokenizer_files(folder: Path) -> int:
    """vocab.json, merges.txt and the configs of a CLIP byte-level BPE tokenizer; returns
    the vocabulary size."""
    chars = list(bytes_to_unicode().values())
    tokens = chars + [c + "</w>" for c in chars] + ["".join(pair) for pair in MERGES] + [BOS, EOS]
    vocab = {tok: i for i, tok in enumerate(tokens)}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    merges = "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in MERGES)
    (folder / "merges.txt").write_text(merges, encoding="utf-8")
    config = {
        "tokenizer_class": "CLIPTokenizer",
        "bos_token": BOS,
        "eos_token": EOS,
        "unk_token": EOS,
        "pad_token": EOS,
        "model_max_length": 77,
        "do_lower_case": True,
        "clean_up_tokenization_spaces": True,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    specials = {"bos_token": BOS, "eos_token": EOS, "unk_token": EOS, "pad_token": EOS}
    (folder / "special_tokens_map.json").write_text(
        json.dumps(specials, indent=2), encoding="utf-8"
    )
    return len(vocab)


def build(out_dir: Path) -> None:
    import torch
    from diffusers import (
        AutoencoderKL,
        PNDMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        tok_src = tmp / "_tokenizer_src"
        vocab_size = write_tokenizer_files(tok_src)
        # from_pretrained(folder) reads vocab.json/merges.txt; the constructor's
        # vocab_file/merges_file arguments are ignored by transformers 5
        tokenizer = CLIPTokenizer.from_pretrained(str(tok_src))
        assert len(tokenizer) == vocab_size, (len(tokenizer), vocab_size)

        torch.manual_seed(SEED)
        unet = UNet2DConditionModel(
            sample_size=32,
            in_channels=4,
            out_channels=4,
            block_out_channels=(32, 64),
            layers_per_block=1,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            cross_attention_dim=768,
            attention_head_dim=8,
            norm_num_groups=32,
        )
        torch.manual_seed(SEED + 1)
        vae = AutoencoderKL(
            in_channels=3,
            out_channels=3,
            down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4,
            block_out_channels=(32, 32, 64, 64),
            layers_per_block=1,
            latent_channels=4,
            norm_num_groups=32,
            sample_size=256,
        )
        torch.manual_seed(SEED + 2)
        text_encoder = CLIPTextModel(
            CLIPTextConfig(
                vocab_size=vocab_size,
                hidden_size=768,
                intermediate_size=256,
                num_hidden_layers=2,
                num_attention_heads=12,
                max_position_embeddings=77,
                projection_dim=768,
                bos_token_id=vocab_size - 2,
                eos_token_id=vocab_size - 1,
                pad_token_id=vocab_size - 1,
            )
        )
        scheduler = PNDMScheduler(
            num_train_timesteps=1000,
            beta_start=0.00085,
            beta_end=0.012,
            beta_schedule="scaled_linear",
            prediction_type="epsilon",
            set_alpha_to_one=False,
            skip_prk_steps=True,
            steps_offset=1,
        )
        pipe = StableDiffusionPipeline(
            vae=vae,
            text_encoder=text_encoder,
            tokenizer=tokenizer,
            unet=unet,
            scheduler=scheduler,
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
        )
        stage = tmp / "pipeline"
        pipe.save_pretrained(str(stage), safe_serialization=True)
        # save_pretrained writes only tokenizer.json; InvokeAI loads the tokenizer with
        # from_pretrained, which needs vocab.json and merges.txt beside it
        for name in ("vocab.json", "merges.txt"):
            shutil.copyfile(tok_src / name, stage / "tokenizer" / name)
        check = CLIPTokenizer.from_pretrained(str(stage / "tokenizer"))
        ids = check("the red cat").input_ids
        assert len(check) == vocab_size and all(i < vocab_size for i in ids), ids

        if out_dir.exists():
            raise FileExistsError(f"{out_dir} appeared while building; leaving it as it is")
        for path in stage.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        stage.chmod(0o755)
        stage.rename(out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    out_dir = Path(args[0]).resolve()
    if (out_dir / "model_index.json").exists():
        print(f"tiny model already at {out_dir}")
        return 0
    build(out_dir)
    size = sum(p.stat().st_size for p in out_dir.rglob("*") if p.is_file())
    print(f"tiny SD-1 model written to {out_dir} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
