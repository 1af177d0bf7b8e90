"""What each public dataset is, where it comes from, and the bytes it must have.

Every file a loader reads is listed in :data:`FILES` with its size and sha256, copied
from the checksums of the verified mirror; :func:`upstream_url` turns a path under
``root`` into its raw.githubusercontent.com address at a pinned commit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["DatasetSpec", "FILES", "DATASETS", "available", "info", "upstream_url"]

# path under root (the upstream folder layout) -> (size in bytes, sha256)
FILES: dict[str, tuple[int, str]] = {
    "amazon_cdrib_coldstart/cloth_sport/test.txt":
        (31542, "4980e2e43f9523f9f4633e36e7c84b84caa0d09324f7c768d4985425a2832077"),
    "amazon_cdrib_coldstart/cloth_sport/train.txt":
        (2041877, "12885bf488ae0e3ef11c4dbc518f4bcc82dcccca799ae0506a21a4ce1ccff0c2"),
    "amazon_cdrib_coldstart/cloth_sport/valid.txt":
        (32189, "f53c435ca8ec036048adcdf495e109dd7fc5f0917d1efdc29f4817f86a3f8fee"),
    "amazon_cdrib_coldstart/game_video/test.txt":
        (12967, "b61703adcb7c9b0a8e4b61c865b650aee05b84fba7e15d690f0b50df3aa85bdc"),
    "amazon_cdrib_coldstart/game_video/train.txt":
        (1613278, "758f443fde7211f7253d22999d4c94eb6a07ba10661d38ef3a72a5c78c70105f"),
    "amazon_cdrib_coldstart/game_video/valid.txt":
        (13750, "e6dace5c64d53c0df3b09ed606a530b22d5147da068c0ae4e5bf8f805381a973"),
    "amazon_cdrib_coldstart/sport_cloth/test.txt":
        (35335, "6f15fea0aa3ec02e4609aa4245ac7a4c6ea3c5e30d662ed1155698ab606e2582"),
    "amazon_cdrib_coldstart/sport_cloth/train.txt":
        (1706510, "9c85ed3ce03c67d97cbf5f7789c70d74e47187d7ec0c5d220943f7ed4a92a4fc"),
    "amazon_cdrib_coldstart/sport_cloth/valid.txt":
        (35744, "a7a61b75096decef81dc5e59efee15bf5af748ba123ddb22d373fc71ae4537df"),
    "amazon_cdrib_coldstart/video_game/test.txt":
        (14227, "ba2cb882b8369635a2d72703f4ccbd961475064479c8727ef7cc3d973e800abd"),
    "amazon_cdrib_coldstart/video_game/train.txt":
        (1570963, "fcba16c5d28a052ae4251d5db055397fac34cb9a6bba36506d195982aacae887"),
    "amazon_cdrib_coldstart/video_game/valid.txt":
        (14036, "2da785b3a1e7e1dbb4c0fcc35e47ea8654b7c4dbd4313f808da2a4e346cde812"),
    "amazon_disencdr/bitgcf_fixed_negatives/electronic_phone/test_neg.txt":
        (1927298, "32743a65eae5bfff9d123c445cca68cc1a4669de2e7238b679e8d19545b46671"),
    "amazon_disencdr/bitgcf_fixed_negatives/phone_electronic/test_neg.txt":
        (1821066, "6207107a8323bc47134a68ea3436e67d1738a7ef15062927f45211569b3e396b"),
    "amazon_disencdr/cloth_electronic/test.txt":
        (161965, "0b604b69d3eb531bf99a11e2322f247694f7a593905e0c0c04c54e2a58fb0f78"),
    "amazon_disencdr/cloth_electronic/train.txt":
        (1569278, "678124e0dbf8d162041f8b656bd5e89ee2a678df2c85812f94fd7c0bd2062f6f"),
    "amazon_disencdr/cloth_sport/test.txt":
        (93917, "0d034810261027b080d506399426d3eb4f26b4b90a121fe79ebaef246a82b1bd"),
    "amazon_disencdr/cloth_sport/train.txt":
        (1097669, "3e039ec9baff975cb47722c4704f7d2103c2bbf2a3c30ed2d264e17b69d4fd0a"),
    "amazon_disencdr/electronic_cloth/test.txt":
        (181464, "1a1a5ce75f986052afc05337ea5d1e5ac44c7017f06f1ecc5ccadb523aadf08d"),
    "amazon_disencdr/electronic_cloth/train.txt":
        (2711201, "fbccec759f2acfec35927c07a1a4bd911f75106de34d6b21e7d7a8a7ffc68e81"),
    "amazon_disencdr/electronic_phone/test.txt":
        (31982, "322a8e4c7b5d10e2a3d91dbb2d7833eaf2ba684f4c5109dc1ea4e6ee08119c46"),
    "amazon_disencdr/electronic_phone/train.txt":
        (1424620, "cb09610ab143478097937c235c4932fe39b5c664d434dd5abba3c5eb5d75f028"),
    "amazon_disencdr/phone_electronic/test.txt":
        (31077, "a3d0d2fb03c25994c3509af3acc6eeca5009b00751f9b12e28fdf52843a027c6"),
    "amazon_disencdr/phone_electronic/train.txt":
        (609415, "a439eb3fdf4d08e58da1d86e1f711cf0acf59f28944d347ad4b3fb9454df54f9"),
    "amazon_disencdr/phone_sport/test.txt":
        (48067, "1665b2846c5011ca870ff79bcfb3cc632aa3eeaa6ea9853ee45549ac0858b444"),
    "amazon_disencdr/phone_sport/train.txt":
        (510647, "d38cd0da5379bbec03a19cc3eb95a8b52caeeb179dfb515ba2d894b1e193572d"),
    "amazon_disencdr/sport_cloth/test.txt":
        (103831, "7b43d370047f23cbc6862188aba53b3a3241948255584a1f3f5c189118f16490"),
    "amazon_disencdr/sport_cloth/train.txt":
        (1150235, "45c517a6fc7721f168411b69eb3f6e6ef896bbe06f599f6f7b4a5844ff925629"),
    "amazon_disencdr/sport_phone/test.txt":
        (45250, "5ff3bc25da94612e7a35672edba277c4acc497cc8d87d268bca891e64dc98640"),
    "amazon_disencdr/sport_phone/train.txt":
        (612708, "c55f3f576465795163f45cdb6df9484626dfbb12799393a7d06e4401cfcb6f3a"),
    "amazon_llmcdsr/food-kitchen/item_set_A.pkl":
        (138370, "510aa4c2b8cc6fc37ccb0b56dbc33d56eb96583a580463b19f941ddb9d31a5d5"),
    "amazon_llmcdsr/food-kitchen/item_set_B.pkl":
        (442060, "96f1ff3d4604e79a416796fae5bc9df2828f06657961aa641d0c6f7f33a4a93b"),
    "amazon_llmcdsr/food-kitchen/test.txt":
        (86602, "bdc978617810e6bf9f6eac31260e0688169c0c1cdf34cbf395774f3896e37aa4"),
    "amazon_llmcdsr/food-kitchen/text_A.pkl":
        (706631, "adc2883e8ea4acee1e5d3e06126549753d640095747a82537959ff11600bcd5c"),
    "amazon_llmcdsr/food-kitchen/text_B.pkl":
        (2132336, "dd467587886f342cf9add91c463fb06c0cc2ab414d72b52eacc18a63bf3833ff"),
    "amazon_llmcdsr/food-kitchen/train_A.txt":
        (201449, "4b39bfa69d9d001938d7ec32853928e51a53c141a95f3b698b052eb27821c3ad"),
    "amazon_llmcdsr/food-kitchen/train_B.txt":
        (1774169, "bab4611796a5c077baf29d6c5f4a70c40cd25e38bb90e9d85035b8c1f06c7a93"),
    "amazon_llmcdsr/food-kitchen/train_overlap.txt":
        (560265, "0375a8e5c049b9377c1199bda2d0de270e989f1cdf08ff21e4d120ec4a5b5986"),
    "amazon_llmcdsr/food-kitchen/valid.txt":
        (96861, "6d93b5025ad65efef71f0b2e1beaa5899f5ed8f8fd95da96de1286f5b8cb0074"),
    "amazon_urllm/AO/item_listA_F.csv":
        (2945518, "cd97eae43ec40a674375cdd14ee51fd1d0ee3983223be1a12263c596d26b1d53"),
    "amazon_urllm/AO/item_listO_AA_F.csv":
        (3866207, "bd8d701cfb3aaa03c382803c15a312457688808a1e82f790f1f85a076d42cf3a"),
    "amazon_urllm/AO/test_F2.txt":
        (341078, "03d55214e8ca7482961397b790a4188142ffbd23680ed4c03f9dac214d91ef05"),
    "amazon_urllm/AO/train_F2.txt":
        (3842254, "01f597a570658a855d1a603c1f2b4145e8b162b86c0814c7686f20ad75cb9538"),
    "amazon_urllm/AO/valid_F2.txt":
        (178715, "04650d1d3655d79fbc0776dcf3ef2873648fac933cf4901fd9d90c25e9427c9b"),
    "douban_gadtcdr/douban_book/ratings.dat":
        (1116081, "cc1c191fabe2e05e95cd6dbe7be19d13ed3e1b27b80be2050e4f6b4e40945ddd"),
    "douban_gadtcdr/douban_music/ratings.dat":
        (811063, "40944be25f79e6cf80ab9acf0dca8f4b9b9fe2724a068702294608883ad46775"),
}

# top folder under root -> (GitHub repository, pinned commit, folder inside that repository)
_UPSTREAM = {
    "amazon_disencdr": ("cjx96/DisenCDR", "4e6d60bad4d5185c99ab60423b48f87f88aa03a3", "dataset"),
    "amazon_cdrib_coldstart": ("cjx96/CDRIB", "bd9894565ce06e9ab187f8a52ba03919aaee5e13", "dataset"),
    "douban_gadtcdr": ("fengzhu1/GA-DTCDR", "11a1dc6fda5148c8b1ce412ed4e2f0c4f124e2d0", "Data"),
    "amazon_llmcdsr": ("xhran2010/LLMCDSR", "5825e999d87c4b7f90448df17d05c5f9cea047ba", "data"),
    "amazon_urllm": ("TingJShen/URLLM", "053d7395390412459c29e3d6f0dc2860dbe1488f", "DG_Final"),
}
_BITGCF = ("sunshinelium/Bi-TGCF", "4833c1f465ec0be6469e23aa0799aae95db058dc", "Data")
# Bi-TGCF's folder names for the DisenCDR Elec&Phone folders (byte-identical splits).
_BITGCF_DIRS = {"electronic_phone": "electronic_cell", "phone_electronic": "cell_electronic"}

_METRICS_1000 = ["MRR", "NDCG@5", "NDCG@10", "HR@1", "HR@5", "HR@10"]
_PAPERS = {
    "disencdr": "Cao et al., DisenCDR: Learning Disentangled Representations for Cross-Domain "
                "Recommendation, SIGIR 2022, doi:10.1145/3477495.3531967",
    "cdrib": "Cao et al., Cross-Domain Recommendation to Cold-Start Users via Variational "
             "Information Bottleneck (CDRIB), ICDE 2022, doi:10.1109/ICDE53745.2022.00211",
    "douban": "Zhu et al., A Graphical and Attentional Framework for Dual-Target Cross-Domain "
              "Recommendation (GA-DTCDR), IJCAI 2020, doi:10.24963/ijcai.2020/415",
    "llmcdsr": "Xin, Sun, Wang, Xiong, LLMCDSR: Enhancing Cross-Domain Sequential Recommendation with "
               "Large Language Models, ACM TOIS 2025",
    "urllm": "Shen et al., Exploring User Retrieval Integration towards Large Language Models for "
             "Cross-Domain Sequential Recommendation (URLLM), 2024",
}
# Files of the layouts whose domains share one folder, in the order the loaders read them:
# domain A's item tables first, then domain B's, then the sequences.
_SHARED_FOLDER_FILES = {
    "llmcdsr": ("item_set_A.pkl", "text_A.pkl", "item_set_B.pkl", "text_B.pkl", "train_A.txt",
                "train_B.txt", "train_overlap.txt", "valid.txt", "test.txt"),
    "urllm": ("item_listA_F.csv", "item_listO_AA_F.csv", "train_F2.txt", "valid_F2.txt", "test_F2.txt"),
}


@dataclass(frozen=True)
class DatasetSpec:
    """One named cross-domain pair.

    Attributes:
        name (str): Public name, e.g. ``"amazon-sport-cloth"``.
        kind (str): Layout family: ``"disencdr"``, ``"cdrib"``, ``"douban"``, ``"llmcdsr"`` or
            ``"urllm"``.
        dirs (dict[str, str]): Domain name -> folder under root holding that domain (one
            folder for both domains in the ``llmcdsr`` and ``urllm`` layouts, whose first domain
            is upstream's domain A).
        protocol (dict): Evaluation protocol of the paper that ships the split.
        negatives (dict[str, str]): Domain -> fixed test negatives file, when shipped.
        overlap (int, optional): CDRIB's number of overlapping users ``C``.
        item_features (tuple[str, ...]): Item feature columns the loader attaches (see
            :meth:`cdgraph.CrossDomainData.item_features`).
    """

    name: str
    kind: str
    dirs: dict[str, str]
    protocol: dict[str, Any]
    negatives: dict[str, str] = field(default_factory=dict)
    overlap: int | None = None
    item_features: tuple[str, ...] = ()

    @property
    def domains(self) -> list[str]:
        return list(self.dirs)

    @property
    def files(self) -> list[str]:
        """Paths under root that :func:`cdgraph.datasets.load` reads."""
        if self.kind in _SHARED_FOLDER_FILES:
            return [f"{self.dirs[self.domains[0]]}/{p}" for p in _SHARED_FOLDER_FILES[self.kind]]
        parts = {"disencdr": ("train.txt", "test.txt"), "cdrib": ("train.txt", "valid.txt", "test.txt"),
                 "douban": ("ratings.dat",)}[self.kind]
        return [f"{d}/{p}" for d in self.dirs.values() for p in parts] + list(self.negatives.values())


def _disencdr(name: str, a: str, b: str, dir_a: str, dir_b: str, negatives: bool = False) -> DatasetSpec:
    root = "amazon_disencdr"
    dirs = {a: f"{root}/{dir_a}_{dir_b}", b: f"{root}/{dir_b}_{dir_a}"}
    negs = {d: f"{root}/bitgcf_fixed_negatives/{folder.split('/')[1]}/test_neg.txt"
            for d, folder in dirs.items()} if negatives else {}
    protocol = {"split": "predefined", "num_negatives": 999, "metrics": list(_METRICS_1000)}
    if negatives:
        protocol["fixed_negatives"] = 99
    return DatasetSpec(name, "disencdr", dirs, protocol, negs)


def _cdrib(name: str, a: str, b: str, overlap: int) -> DatasetSpec:
    dirs = {a: f"amazon_cdrib_coldstart/{a}_{b}", b: f"amazon_cdrib_coldstart/{b}_{a}"}
    protocol = {"split": "predefined", "num_negatives": 999, "metrics": list(_METRICS_1000),
                "select_on": "valid MRR"}
    return DatasetSpec(name, "cdrib", dirs, protocol, overlap=overlap)


DATASETS: dict[str, DatasetSpec] = {spec.name: spec for spec in [
    _disencdr("amazon-sport-cloth", "sport", "cloth", "sport", "cloth"),
    _disencdr("amazon-sport-phone", "sport", "phone", "sport", "phone"),
    _disencdr("amazon-elec-phone", "elec", "phone", "electronic", "phone", negatives=True),
    _disencdr("amazon-elec-cloth", "elec", "cloth", "electronic", "cloth"),
    _cdrib("amazon-coldstart-game-video", "game", "video", 2179),
    _cdrib("amazon-coldstart-cloth-sport", "cloth", "sport", 9828),
    DatasetSpec("douban-book-music", "douban",
                {"book": "douban_gadtcdr/douban_book", "music": "douban_gadtcdr/douban_music"},
                {"split": "leave_one_out", "num_negatives": 99, "metrics": ["HR@10", "NDCG@10"]}),
    # LLMCDSR ranks each held-out item against 999 items of its own domain, HR and NDCG at 1, 3, 5, 10.
    DatasetSpec("amazon-food-kitchen", "llmcdsr",
                {"food": "amazon_llmcdsr/food-kitchen", "kitchen": "amazon_llmcdsr/food-kitchen"},
                {"split": "predefined", "num_negatives": 999,
                 "metrics": [f"{m}@{k}" for m in ("HR", "NDCG") for k in (1, 3, 5, 10)]},
                item_features=("title",)),
    # URLLM's sequence model (C2DSR's protocol): 999 negatives, MRR, NDCG@5,10, HR@1,5,10.
    DatasetSpec("amazon-art-office", "urllm", {"art": "amazon_urllm/AO", "office": "amazon_urllm/AO"},
                {"split": "predefined", "num_negatives": 999, "metrics": list(_METRICS_1000)},
                item_features=("title", "attribute")),
]}


def available() -> list[str]:
    """Names accepted by :func:`cdgraph.datasets.load`, sorted."""
    return sorted(DATASETS)


def spec(name: str) -> DatasetSpec:
    """The :class:`DatasetSpec` of ``name``; ValueError listing the names when unknown."""
    if name not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}; choose one of {available()} "
                         f"or cdgraph.datasets.synthetic(...).")
    return DATASETS[name]


def info(name: str) -> dict[str, Any]:
    """Domains, protocol, paper and upstream location of dataset ``name``.

    Returns:
        dict: keys ``name``, ``domains``, ``protocol`` (split, metrics, ...),
        ``num_negatives`` (sampled negatives per held-out item), ``paper``,
        ``upstream`` (repository and pinned commit), ``files`` (paths under root) and, for
        pairs that ship item side information, ``item_features`` (its columns).
    """
    s = spec(name)
    top = s.files[0].split("/")[0]
    repo, commit, _ = _UPSTREAM[top]
    out = {"name": s.name, "domains": s.domains, "protocol": dict(s.protocol),
           "num_negatives": s.protocol["num_negatives"], "paper": _PAPERS[s.kind],
           "upstream": f"https://github.com/{repo}/tree/{commit}", "files": s.files}
    if s.negatives:
        out["fixed_negatives_upstream"] = f"https://github.com/{_BITGCF[0]}/tree/{_BITGCF[1]}"
    if s.overlap is not None:
        out["overlap"] = s.overlap
    if s.item_features:
        out["item_features"] = list(s.item_features)
    return out


def upstream_url(path: str) -> str:
    """The pinned raw.githubusercontent.com URL of ``path`` (a key of :data:`FILES`)."""
    if path not in FILES:
        raise ValueError(f"{path!r} is not a known dataset file.")
    top, rest = path.split("/", 1)
    if rest.startswith("bitgcf_fixed_negatives/"):
        folder = rest.split("/")[1]
        repo, commit, prefix = _BITGCF
        rest = f"{_BITGCF_DIRS[folder]}/test_neg.txt"
    else:
        repo, commit, prefix = _UPSTREAM[top]
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{prefix}/{rest}"
