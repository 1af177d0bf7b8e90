"""The built-in text encoders: wordllama offline, tfidf, sentence-transformers, optional imports."""
from __future__ import annotations

import ast
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from cdgraph import text
from cdgraph.text.sbert import load_sentence_transformer
from cdgraph.text.word_llama import load_wordllama

PACKAGE = Path(text.__file__).parent
OPTIONAL = {"wordllama", "sklearn", "sentence_transformers"}

# (query, similar, unrelated)
TRIPLES = [
    ("green tea matcha powder", "organic matcha green tea", "cast iron skillet 12 inch"),
    ("stainless steel chef knife", "kitchen knife set with block", "dark chocolate truffles"),
    ("espresso coffee beans", "whole bean dark roast coffee", "silicone baking mat"),
]


def cosine(x: np.ndarray, i: int, j: int) -> float:
    return float(x[i] @ x[j] / (np.linalg.norm(x[i]) * np.linalg.norm(x[j])))


@pytest.fixture(autouse=True)
def fresh_models():
    """Every test loads its models afresh (the loaders keep them for the process)."""
    load_wordllama.cache_clear()
    load_sentence_transformer.cache_clear()
    yield
    load_wordllama.cache_clear()
    load_sentence_transformer.cache_clear()


@pytest.fixture
def wordllama_offline(no_network, monkeypatch):
    """WordLlama, with the network and the tokenizer's Hugging Face fallback refused."""
    wordllama = pytest.importorskip("wordllama")
    real = wordllama.wordllama.Tokenizer

    class LocalOnly:
        from_file = staticmethod(real.from_file)

        @staticmethod
        def from_pretrained(*args: object, **kwargs: object) -> None:
            raise AssertionError(f"tokenizer download attempted: {args!r}")

    monkeypatch.setattr(wordllama.wordllama, "Tokenizer", LocalOnly)


@pytest.mark.parametrize("query, similar, unrelated", TRIPLES)
def test_wordllama_loads_offline_and_ranks_similar_texts_closer(wordllama_offline, query, similar, unrelated):
    x = text.encode([query, similar, unrelated, ""], cache=False)
    assert x.shape == (4, 256) and x.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(x[:3], axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(x[3], 0.0)  # an empty text is the zero vector
    assert cosine(x, 0, 1) > cosine(x, 0, 2) + 0.1


def test_wordllama_rows_do_not_depend_on_order_or_batch(wordllama_offline):
    texts = [query for triple in TRIPLES for query in triple]
    x = text.encode(texts, cache=False, batch_size=2)
    y = text.encode(texts[::-1], cache=False)
    np.testing.assert_allclose(x, y[::-1], atol=1e-6)


@pytest.mark.parametrize("dim", [64, 128])
def test_wordllama_dim_keeps_leading_columns(wordllama_offline, dim):
    texts = list(TRIPLES[0])
    full = text.encode(texts, cache=False, normalize=False)
    part = text.encode(texts, cache=False, normalize=False, dim=dim)
    np.testing.assert_allclose(part, full[:, :dim], atol=1e-6)


def test_wordllama_dim_not_shipped_is_refused():
    with pytest.raises(ValueError, match=r"dim=512.*\(64, 128, 256\)"):
        text.encode(["tea"], dim=512, cache=False)


def test_tfidf_small_corpus_shape_zero_padding_and_similarity():
    texts = [t for triple in TRIPLES for t in triple]
    x = text.encode(texts, "tfidf", dim=32, cache=False)
    assert x.shape == (9, 32) and x.dtype == np.float32
    np.testing.assert_array_equal(x[:, 9:], 0.0)  # rank <= 9 texts
    assert cosine(x, 0, 1) > cosine(x, 0, 2)


@pytest.mark.parametrize("dim, n", [(8, 6), (16, 300)])  # exact SVD, randomized SVD
def test_tfidf_is_deterministic(dim, n):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(60)]
    texts = [" ".join(rng.choice(words, size=5)) for _ in range(n)]
    first = text.encode(texts, "tfidf", dim=dim, seed=3, cache=False)
    again = text.encode(texts, "tfidf", dim=dim, seed=3, cache=False)
    assert first.shape == (n, dim)
    np.testing.assert_array_equal(first, again)
    assert np.abs(first).sum(axis=1).min() > 0


@pytest.mark.parametrize("texts", [["", "  "], ["a", "b", ""]])  # nothing to embed, no term of two letters
def test_tfidf_without_terms_gives_zeros(texts):
    np.testing.assert_array_equal(text.encode(texts, "tfidf", dim=4, cache=False), 0.0)


def fake_sentence_transformers(monkeypatch, init):
    module = types.ModuleType("sentence_transformers")
    module.SentenceTransformer = init
    monkeypatch.setitem(sys.modules, "sentence_transformers", module)


def test_sentence_transformers_loads_local_files_only(monkeypatch):
    seen = {}

    class Model:
        def __init__(self, name, **kwargs):
            seen.update(kwargs, name=name)

        def get_sentence_embedding_dimension(self):
            return 3

        def encode(self, texts, **kwargs):
            return np.ones((len(texts), 3), dtype=np.float32)

    fake_sentence_transformers(monkeypatch, Model)
    x = text.encode(["tea", ""], "sentence-transformers", model="some/model", cache=False)
    assert seen["local_files_only"] is True and seen["name"] == "some/model"
    np.testing.assert_array_equal(x, [[1, 1, 1], [0, 0, 0]])


def test_sentence_transformers_missing_model_says_how_to_get_it(monkeypatch):
    def missing(name, **kwargs):
        raise OSError(f"{name} not found in the local cache")

    fake_sentence_transformers(monkeypatch, missing)
    with pytest.raises(FileNotFoundError, match="never downloads.*huggingface-cli download some/model"):
        text.encode(["tea"], "sentence-transformers", model="some/model", cache=False)


@pytest.mark.parametrize("encoder, module", [("wordllama", "wordllama"), ("tfidf", "sklearn"),
                                             ("sentence-transformers", "sentence_transformers")])
def test_missing_optional_package_names_how_to_install(monkeypatch, encoder, module):
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")] + [module]:
        monkeypatch.setitem(sys.modules, name, None)
    install = "sentence-transformers" if module == "sentence_transformers" else '"cdgraph\\[text\\]"'
    with pytest.raises(ImportError, match=f"{module!r}.*pip install {install}"):
        text.encode(["tea"], encoder, cache=False)


def test_optional_packages_are_imported_only_when_used():
    for path in PACKAGE.glob("*.py"):
        for node in ast.parse(path.read_text()).body:  # module level only
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not {n.split(".")[0] for n in names} & OPTIONAL, f"{path.name} imports {names} at load"
    blocked = "import sys; sys.modules.update(dict.fromkeys(%r)); import cdgraph.text" % sorted(OPTIONAL)
    subprocess.run([sys.executable, "-c", blocked], check=True, capture_output=True, timeout=300)
