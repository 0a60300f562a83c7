from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from alliance.transcripts import embedding
from alliance.transcripts.embedding import (
    CachedEmbedder,
    EmbeddingModelError,
    HashingEmbedder,
    MiniLMEmbedder,
    Vectors,
    default_embedder,
    model_installed,
)

needs_model = pytest.mark.skipif(
    not model_installed(), reason="alliance[transcripts] not installed"
)


def test_hashing_is_deterministic_normalised_and_lexical() -> None:
    emb = HashingEmbedder(dimension=1024)
    a = emb.embed(["This is not helping", "this is NOT helping!", "purple elephants dance", ""])
    assert a.shape == (4, 1024)
    assert a.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(a[:3], axis=1), 1.0, rtol=1e-6)
    assert float(a[0] @ a[1]) == pytest.approx(1.0)
    assert abs(float(a[0] @ a[2])) < 0.2
    assert not a[3].any()
    np.testing.assert_array_equal(a, HashingEmbedder(dimension=1024).embed(
        ["This is not helping", "this is NOT helping!", "purple elephants dance", ""]
    ))  # fmt: skip


def test_hashing_rejects_a_tiny_dimension() -> None:
    with pytest.raises(ValueError, match="dimension: must be an integer of at least 16"):
        HashingEmbedder(dimension=4)


class CountingEmbedder:
    id = "counting"
    match_similarity = 0.5

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.seen += list(texts)
        return HashingEmbedder(dimension=64).embed(texts)


def test_the_cache_embeds_each_text_once_and_keeps_the_order() -> None:
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, max_items=10)
    first = cached.embed(["yeah", "no", "yeah"])
    second = cached.embed(["no", "maybe"])
    assert inner.seen == ["yeah", "no", "maybe"]
    np.testing.assert_array_equal(first[0], first[2])
    np.testing.assert_array_equal(first[1], second[0])
    assert cached.embed([]).shape == (0, 64)


def test_the_cache_forgets_the_least_recently_used() -> None:
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, max_items=2)
    cached.embed(["a", "b"])
    cached.embed(["a", "c"])  # b is now the oldest and is dropped
    cached.embed(["a", "b"])
    assert inner.seen == ["a", "b", "c", "b"]


@needs_model
def test_the_model_places_paraphrases_closer_than_unrelated_talk() -> None:
    emb = MiniLMEmbedder()
    v = emb.embed(["This isn't helping me at all.", "These sessions are useless to me.",
                   "The bank called about my loan."])  # fmt: skip
    assert v.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    assert float(v[0] @ v[1]) > float(v[0] @ v[2]) + 0.1


@needs_model
def test_batching_does_not_change_a_vector() -> None:
    texts = [
        "Short.",
        "A much longer sentence about what happened at work on Monday morning.",
        "Hi",
    ]
    together = MiniLMEmbedder(batch_size=8).embed(texts)
    alone = np.vstack([MiniLMEmbedder(batch_size=1).embed([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=2e-3)


@needs_model
def test_a_model_file_with_another_hash_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedding, "MODEL_SHA256", "0" * 64)
    with pytest.raises(EmbeddingModelError, match="is not the pinned 0000"):
        MiniLMEmbedder().embed(["hello"])


def test_without_the_model_the_fallback_is_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedding, "model_installed", lambda: False)
    assert isinstance(embedding.default_embedder(), HashingEmbedder)


@needs_model
def test_with_the_model_the_default_is_the_model() -> None:
    assert isinstance(default_embedder(), MiniLMEmbedder)


def test_a_missing_package_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedding, "MODEL_DIST", "no-such-model-package")
    with pytest.raises(EmbeddingModelError, match="no-such-model-package is not installed"):
        embedding._pinned_file(embedding.MODEL_DIST, "x", "0")
