from __future__ import annotations

import pytest

from cdgraph import datasets
from cdgraph.datasets import catalog

NAMES = ["amazon-sport-cloth", "amazon-sport-phone", "amazon-elec-phone", "amazon-elec-cloth",
         "amazon-coldstart-game-video", "amazon-coldstart-cloth-sport", "douban-book-music",
         "amazon-food-kitchen", "amazon-art-office"]


def test_available_lists_every_pair():
    assert datasets.available() == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_info_is_complete(name):
    meta = datasets.info(name)
    assert len(meta["domains"]) == 2
    assert meta["num_negatives"] == (99 if name.startswith("douban") else 999)
    assert meta["protocol"]["split"] == ("leave_one_out" if name.startswith("douban") else "predefined")
    assert meta["paper"] and meta["upstream"].startswith("https://github.com/")
    for path in meta["files"]:
        size, digest = catalog.FILES[path]
        assert size > 0 and len(digest) == 64
        url = catalog.upstream_url(path)
        assert url.startswith("https://raw.githubusercontent.com/") and len(url.split("/")[5]) == 40


def test_bitgcf_urls_use_bitgcf_folder_names():
    url = catalog.upstream_url("amazon_disencdr/bitgcf_fixed_negatives/phone_electronic/test_neg.txt")
    assert "/sunshinelium/Bi-TGCF/" in url and url.endswith("/Data/cell_electronic/test_neg.txt")


def test_unknown_name_lists_choices():
    with pytest.raises(ValueError, match="amazon-sport-cloth"):
        datasets.load("amazon-nope")


@pytest.mark.parametrize("name, columns, upstream", [
    ("amazon-food-kitchen", ["title"],
     "/xhran2010/LLMCDSR/5825e999d87c4b7f90448df17d05c5f9cea047ba/data/food-kitchen/"),
    ("amazon-art-office", ["title", "attribute"],
     "/TingJShen/URLLM/053d7395390412459c29e3d6f0dc2860dbe1488f/DG_Final/AO/")])
def test_text_pairs_declare_features_protocol_and_pinned_files(name, columns, upstream):
    meta = datasets.info(name)
    assert meta["item_features"] == columns and meta["protocol"]["split"] == "predefined"
    assert len(meta["files"]) == len(set(meta["files"]))  # both domains share one folder
    assert all(upstream in catalog.upstream_url(path) for path in meta["files"])
