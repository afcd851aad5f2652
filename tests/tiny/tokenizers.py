"""Small CLIP and T5 tokenizers made in code with the ``tokenizers`` library (no downloads).

They tokenize like the real ones (byte-level BPE with ``</w>`` word ends for CLIP, a SentencePiece
style Unigram for T5) over a vocabulary of a few hundred pieces, and are saved with
``save_pretrained`` so ``CLIPTokenizer.from_pretrained(dest)`` and ``AutoTokenizer`` /
``T5TokenizerFast.from_pretrained(dest)`` load them. Building either takes a few milliseconds.
"""

from __future__ import annotations

from pathlib import Path

#: The text the tokenizers learn their pieces from: the kind of words image prompts are made of.
PROMPTS = (
    "a photo of a cozy cafe with plants and warm light, flat vector logo mark, simple, centered",
    "a painting of a squirrel eating a burger in a sunny garden, blue and amber colour palette",
    "hero image for a budgeting app, clean modern illustration, soft gradient background",
    "a gallery of mountains, rivers, forests and a city skyline at night, bright and airy",
    "dark moody studio shot of a coffee cup on a wooden table, high detail, sharp focus",
    "people working together in an office, friendly team, green and purple tones, 4k",
)
CORPUS = " ".join(PROMPTS).split()

CLIP_START, CLIP_END = "<|startoftext|>", "<|endoftext|>"


def _clip_bpe() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """A byte-level BPE vocabulary laid out like CLIP's: 256 bytes, 256 word-final bytes, merges."""
    import json

    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    bpe = Tokenizer(models.BPE(end_of_word_suffix="</w>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=700, min_frequency=1, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  end_of_word_suffix="</w>")
    bpe.train_from_iterator([word.lower() for word in CORPUS], trainer)
    merges = [tuple(m.split(" ") if isinstance(m, str) else m)
              for m in json.loads(bpe.to_str())["model"]["merges"]]
    # Every byte, alone and word-final, as in CLIP's vocabulary, so no text is ever unknown.
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    tokens = alphabet + [f"{c}</w>" for c in alphabet] + [a + b for a, b in merges]
    vocab: dict[str, int] = {}
    for token in [*tokens, CLIP_START, CLIP_END]:
        vocab.setdefault(token, len(vocab))
    return vocab, merges


def clip_tokenizer(dest: Path) -> None:
    """Save a small CLIP tokenizer (``model_max_length`` 77) at ``dest``."""
    from transformers import CLIPTokenizer

    vocab, merges = _clip_bpe()
    tokenizer = CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77)
    tokenizer.save_pretrained(dest)


def t5_tokenizer(dest: Path) -> None:
    """Save a small T5 tokenizer (Unigram; ``<pad>`` 0, ``</s>`` 1, ``<unk>`` 2) at ``dest``.

    No ``<extra_id_*>`` sentinels: text encoders never need them.
    """
    from transformers import T5TokenizerFast

    pieces: list[tuple[str, float]] = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    words = sorted({word.strip(",.").lower() for word in CORPUS} - {""})
    pieces += [(f"▁{word}", -1.0 - 0.01 * i) for i, word in enumerate(words)]
    characters = "abcdefghijklmnopqrstuvwxyz0123456789,.:;!?'\"-()/&"
    pieces += [(c, -8.0) for c in characters] + [(f"▁{c}", -9.0) for c in characters]
    unique: dict[str, float] = {}
    for piece, score in pieces:
        unique.setdefault(piece, score)
    tokenizer = T5TokenizerFast(vocab=list(unique.items()), extra_ids=0, model_max_length=512)
    tokenizer.save_pretrained(dest)
