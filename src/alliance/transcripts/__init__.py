"""Alliance-relevant language signals from session transcripts.

Optional extra: ``pip install 'alliance[transcripts]'`` brings the embedding model.

Research signal; not validated against client-reported alliance. See
docs/transcripts-model-card.md for what the signals are, how they were checked and their limits.

    from alliance.transcripts import analyze_transcript, read_transcript
    result = analyze_transcript(read_transcript(path))
    result.indices, result.flags, result.trajectory
"""

from alliance.transcripts.analysis import (
    AGGREGATION_VERSION,
    DISCLAIMER,
    TranscriptAnalyzer,
    TranscriptResult,
    analyze_transcript,
)
from alliance.transcripts.embedding import (
    CachedEmbedder,
    Embedder,
    EmbeddingModelError,
    HashingEmbedder,
    MiniLMEmbedder,
    default_embedder,
    model_installed,
)
from alliance.transcripts.reading import read_transcript
from alliance.transcripts.statements import load_statements
from alliance.transcripts.turns import TranscriptError, Turn

__all__ = [
    "AGGREGATION_VERSION",
    "DISCLAIMER",
    "CachedEmbedder",
    "Embedder",
    "EmbeddingModelError",
    "HashingEmbedder",
    "MiniLMEmbedder",
    "TranscriptAnalyzer",
    "TranscriptError",
    "TranscriptResult",
    "Turn",
    "analyze_transcript",
    "default_embedder",
    "load_statements",
    "model_installed",
    "read_transcript",
]
