"""The benchmark tasks: a public dataset, a target domain and the protocol of its paper."""
from __future__ import annotations

from dataclasses import dataclass

from cdgraph.datasets import catalog


@dataclass(frozen=True)
class Task:
    """One benchmark task.

    Attributes:
        dataset (str): A :func:`cdgraph.datasets.load` name.
        target (str): The domain recommended (the other one is the source).
        cold (bool): A cold-start task: the test users have no target-domain training
            interaction (CDRIB's protocol: each held-out interaction against 999 sampled
            negatives, MRR / NDCG@5,10 / HR@1,5,10, model selection on validation MRR).
    """

    dataset: str
    target: str
    cold: bool = False

    @property
    def protocol(self) -> dict:
        return catalog.info(self.dataset)["protocol"]

    @property
    def split(self) -> str:
        return self.protocol["split"]

    @property
    def num_negatives(self) -> int:
        return int(self.protocol["num_negatives"])

    @property
    def metric(self) -> str:
        """The metric a method is selected on (validation) and compared by (test)."""
        return "MRR" if self.cold else "NDCG@10"

    @property
    def source(self) -> str:
        return next(d for d in catalog.info(self.dataset)["domains"] if d != self.target)

    def describe(self) -> str:
        kind = "cold-start users" if self.cold else f"{self.split} split"
        return (f"{self.dataset}, {self.source} -> {self.target}, {kind}, sampled 1 + "
                f"{self.num_negatives} and full ranking")


#: Six warm tasks (DisenCDR's Amazon pairs, GA-DTCDR's Douban) and four cold-start
#: tasks (CDRIB's Amazon pairs), each direction; named ``source-target``.
TASKS: dict[str, Task] = {
    "sport-cloth": Task("amazon-sport-cloth", "cloth"),
    "cloth-sport": Task("amazon-sport-cloth", "sport"),
    "phone-elec": Task("amazon-elec-phone", "elec"),
    "elec-phone": Task("amazon-elec-phone", "phone"),
    "book-music": Task("douban-book-music", "music"),
    "music-book": Task("douban-book-music", "book"),
    "game-video-cold": Task("amazon-coldstart-game-video", "video", cold=True),
    "video-game-cold": Task("amazon-coldstart-game-video", "game", cold=True),
    "cloth-sport-cold": Task("amazon-coldstart-cloth-sport", "sport", cold=True),
    "sport-cloth-cold": Task("amazon-coldstart-cloth-sport", "cloth", cold=True),
}


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise ValueError(f"Unknown benchmark task {name!r}; choose from {sorted(TASKS)}.")
    return TASKS[name]
