"""All-but-the-top post-processing of text embeddings, alone and through cdgraph.text.encode."""
from __future__ import annotations

import numpy as np
import pytest

from cdgraph import text
from cdgraph.text.postprocess import all_but_the_top


def anisotropic(rows: int = 300, dim: int = 16, seed: int = 0) -> np.ndarray:
    """Rows sharing a large common offset and one dominant direction, as averaged token embeddings do."""
    rng = np.random.default_rng(seed)
    lead = rng.normal(size=dim)
    return (5.0 + rng.normal(size=(rows, 1)) * 4.0 * lead + rng.normal(size=(rows, dim))).astype(np.float32)


def test_rows_are_centred_and_the_leading_directions_removed():
    x = anisotropic()
    out = all_but_the_top(x, top=2)
    assert out.dtype == np.float32 and out.shape == x.shape
    np.testing.assert_allclose(out.mean(0), 0.0, atol=1e-4)
    centred = x - x.mean(0)
    lead = np.linalg.svd(centred, full_matrices=False)[2][:2]
    np.testing.assert_allclose(out @ lead.T, 0.0, atol=1e-3)  # nothing left along the two removed
    # what remains is the centred rows' projection on the rest: their norm shrinks, never grows
    assert np.all(np.linalg.norm(out, axis=1) <= np.linalg.norm(centred, axis=1) + 1e-4)


def test_it_makes_unrelated_rows_look_unrelated():
    x = anisotropic()
    unit = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)  # noqa: E731
    before, after = unit(x) @ unit(x).T, unit(all_but_the_top(x)) @ unit(all_but_the_top(x)).T
    off = ~np.eye(len(x), dtype=bool)
    assert before[off].mean() > 0.5
    assert abs(after[off].mean()) < 0.05


def test_zero_rows_stay_zero_and_do_not_move_the_mean():
    x = anisotropic()
    padded = np.concatenate([x, np.zeros((50, x.shape[1]), np.float32)])
    out = all_but_the_top(padded, top=1)
    assert not out[len(x):].any()
    np.testing.assert_allclose(out[:len(x)], all_but_the_top(x, top=1), atol=1e-5)


def test_top_zero_only_centres_and_negative_top_is_refused():
    x = anisotropic()
    np.testing.assert_allclose(all_but_the_top(x, top=0), x - x.mean(0), atol=1e-4)
    with pytest.raises(ValueError, match="top must be at least 0"):
        all_but_the_top(x, top=-1)


def test_encode_applies_it_after_the_cache(tmp_path, counting):
    texts = [f"item {i} " + "a" * (i % 7) + "e" * (i % 5) for i in range(40)] + [""]
    raw = text.encode(texts, counting, name="count-v1", cache_dir=tmp_path)
    done = text.encode(texts, counting, name="count-v1", cache_dir=tmp_path, remove_top=1)
    assert counting.calls == 1  # the second call read the encoder's own output from the cache
    assert len(list(tmp_path.glob("*.npz"))) == 1
    np.testing.assert_allclose(done, all_but_the_top(raw, 1), atol=1e-6)
    assert not done[-1].any()  # the empty text keeps its zero row
    assert not np.allclose(done, raw)


class Lengths(text.TextEncoder):
    """An encoder that asks for one direction removed, as WordLlama asks for two."""

    remove_top = 1

    def embed(self, texts):
        return np.array([[len(t), t.count("a") + 3.0, t.count("e") + 3.0] for t in texts])


def test_auto_is_the_encoders_own_choice_and_plain_encode_keeps_its_output():
    texts = [f"item {i} " + "a" * (i % 7) + "e" * (i % 5) for i in range(40)]
    raw = text.encode(texts, Lengths(), cache=False)
    np.testing.assert_array_equal(raw, Lengths()(texts))
    np.testing.assert_allclose(text.encode(texts, Lengths(), cache=False, remove_top="auto"),
                               all_but_the_top(raw, 1), atol=1e-6)
    assert text.TfidfEncoder.remove_top is None and text.WordLlamaEncoder.remove_top == 2
    with pytest.raises(TypeError, match="remove_top must be"):
        text.encode(texts, Lengths(), cache=False, remove_top="yes")
