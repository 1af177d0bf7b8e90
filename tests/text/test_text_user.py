"""Bring your own model: functions, precomputed matrices, own classes, and how encoders resolve."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from cdgraph import text
from cdgraph.text import TEXT_ENCODERS, TextEncoder, register_text_encoder

TEXTS = ["matcha", "skillet", "tea"]
GOOD = np.arange(6, dtype=np.float64).reshape(3, 2)

BAD = [  # (output for 3 texts, error, what the message must name)
    (GOOD[:2], ValueError, "2 rows for 3 texts"),
    (np.vstack([GOOD, GOOD[:1]]), ValueError, "4 rows for 3 texts"),
    (np.where(GOOD == 3, np.nan, GOOD), ValueError, "NaN or infinite values in 1 of 3 rows .*text 1"),
    (np.where(GOOD == 5, np.inf, GOOD), ValueError, "NaN or infinite .*text 2"),
    (np.full((3, 2), 1e300), ValueError, "NaN or infinite .*float32 range"),
    (GOOD.ravel()[:3], ValueError, r"shape \(3,\).*2-D"),
    (GOOD.reshape(3, 1, 2), ValueError, r"shape \(3, 1, 2\).*2-D"),
    (np.zeros((3, 0)), ValueError, "0 columns"),
    (np.array([["a", "b"]] * 3), TypeError, "dtype <U1"),
    (GOOD.astype(complex), TypeError, "dtype complex128"),
    ([[1.0, 2.0], [3.0], [4.0, 5.0]], TypeError, "not a rectangular array"),
]


@pytest.mark.parametrize("output, error, message", BAD)
def test_function_output_is_checked(output, error, message):
    with pytest.raises(error, match=message):
        text.encode(TEXTS, lambda texts: output)


@pytest.mark.parametrize("output, error, message", BAD)
def test_precomputed_matrix_is_checked(output, error, message):
    with pytest.raises(error, match=f"precomputed.*{message}"):
        text.encode(TEXTS, text.PrecomputedTextEncoder(output))


@pytest.mark.parametrize("output", [GOOD, GOOD.tolist(), torch.tensor(GOOD, requires_grad=True),
                                    GOOD.astype(int)])
def test_function_output_becomes_float32(output):
    x = text.encode(TEXTS, lambda texts: output)
    assert x.dtype == np.float32 and x.flags.c_contiguous
    np.testing.assert_array_equal(x, GOOD)


def test_precomputed_from_npy_passes_through(tmp_path):
    np.save(tmp_path / "emb.npy", GOOD)
    for matrix in (GOOD, tmp_path / "emb.npy", str(tmp_path / "emb.npy")):
        encoder = text.PrecomputedTextEncoder(matrix)
        np.testing.assert_array_equal(text.encode(TEXTS, encoder), GOOD)
    np.testing.assert_array_equal(text.encode(TEXTS, tmp_path / "emb.npy"), GOOD)


def test_precomputed_npy_holding_objects_is_refused(tmp_path):
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}] * 3, dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="allow_pickle"):
        text.encode(TEXTS, tmp_path / "objects.npy")


def test_empty_texts_are_not_sent_and_give_zeros(counting):
    x = text.encode(["tea", "", "  ", "matcha"], counting)
    assert counting.calls == 1
    np.testing.assert_array_equal(x[1:3], 0.0)
    np.testing.assert_array_equal(x[[0, 3]], counting(["tea", "matcha"]))


def test_all_empty_needs_a_known_dim(counting):
    for texts in ([], ["", " "]):
        with pytest.raises(ValueError, match=f"none of the {len(texts)} texts has content.*dim="):
            text.encode(texts, counting)
        np.testing.assert_array_equal(text.encode(texts, counting, dim=4), np.zeros((len(texts), 4)))
    assert counting.calls == 0
    with pytest.raises(ValueError, match="returned 4 columns, expected dim=3"):
        text.encode(["tea"], counting, dim=3)


@pytest.mark.parametrize("batch_size", [1, 2, 5])
def test_function_called_in_batches_keeps_order(counting, batch_size):
    texts = ["a", "bb", "ccc", "dddd", "eeeee"]
    x = text.encode(texts, counting, batch_size=batch_size)
    assert counting.calls == -(-len(texts) // batch_size)
    np.testing.assert_array_equal(x[:, 0], [1, 2, 3, 4, 5])


@pytest.mark.parametrize("texts, message", [
    ("one title", "not one str"), (["tea", None], r"texts\[1\] is a NoneType"),
    ([b"tea"], r"texts\[0\] is a bytes"), (3, "got int")])
def test_texts_must_be_strings(counting, texts, message):
    with pytest.raises(TypeError, match=message):
        text.encode(texts, counting)


def test_unknown_encoder_lists_the_available_ones():
    with pytest.raises(ValueError, match="Unknown text encoder 'bert'. Available: "
                                         "sentence-transformers, tfidf, wordllama"):
        text.encode(TEXTS, "bert")


@pytest.mark.parametrize("encoder, options, message", [
    ("tfidf", {"dims": 3}, "'dims'.*takes dim, seed, normalize, min_df"),
    (lambda texts: GOOD, {"key": "x"}, "'key'.*takes fn, name, dim, batch_size"),
    (text.TfidfEncoder(dim=3), {"dim": 4}, "already made"),
    (42, {}, "Cannot use a int as a text encoder"),
])
def test_bad_encoder_or_option_is_named(encoder, options, message):
    with pytest.raises(TypeError, match=message):
        text.encode(TEXTS, encoder, **options)


class Upper(TextEncoder):
    """A user's encoder: two features per text."""

    dim = 2

    def embed(self, texts):
        return [[sum(c.isupper() for c in t), len(t)] for t in texts]


def test_own_class_by_name_by_class_and_by_object(monkeypatch, tmp_path):
    monkeypatch.setattr(TEXT_ENCODERS, "_classes", dict(TEXT_ENCODERS._classes))  # restored after the test
    register_text_encoder("test-upper")(Upper)
    for encoder in ("test-upper", "TEST-UPPER", Upper, Upper()):
        x = text.encode(["Tea", "OK"], encoder, cache_dir=tmp_path)
        np.testing.assert_array_equal(x, [[1, 3], [2, 2]])
    assert list(tmp_path.iterdir()) == []  # no settings(): identity unknown, never cached
