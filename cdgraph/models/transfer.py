"""Methods that transfer a user's source-domain factors to the target: their shared first phase."""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np
import pandas as pd

from cdgraph.data.split import Split
from cdgraph.models.baselines import lightgcn_target
from cdgraph.models.factors import FactorRecommender
from cdgraph.train.phases import Fit


class TransferRecommender(FactorRecommender):
    """A factor model whose users new to the target get factors transferred from their
    source-domain factors (EMCDR's mapping, PTUPCDR's personalised bridge).

    Subclasses have the attributes ``target``, ``source`` (None: the only other domain),
    ``dim`` and ``layers`` (0: BPR-MF factors, else LightGCN), and build on
    :meth:`domain_factors`; ``source_epochs`` (see :class:`~cdgraph.models.ptupcdr.PTUPCDR`)
    bounds the source factors' training.
    """

    target: str
    source: str | None
    dim: int
    layers: int
    source_epochs: int | str | None = None

    def source_domain(self, split: Split) -> str:
        """The one source domain: ``source``, or the split's only other domain."""
        sources = split.sources if self.source is None else [split.data.check_domain(self.source)]
        if self.source is not None and sources[0] == self.target:
            raise ValueError(f"The source domain must differ from the target {self.target!r}.")
        if len(sources) != 1:
            raise ValueError(f"{type(self).__name__} transfers from one source domain; pick one of "
                             f"{sources} with source=.")
        return sources[0]

    def domain_factors(self, split: Split, source: str) -> Iterator[Any]:
        """Phases: each domain's factors, learned on its own training interactions alone (BPR-MF
        when ``layers=0``, else LightGCN; the source's for ``source_epochs``); returns ``(target
        users, target items, source users, source items)``, detached."""
        target_model = lightgcn_target(self.target, dim=self.dim, layers=self.layers)
        yield Fit("target", target_model, split, {"source_weight": None})
        empty = pd.DataFrame({"user": np.empty(0, np.int64), "item": np.empty(0, np.int64)})
        alone = Split(split.data, source, split.train, empty, empty.copy(), kind="source-only")
        source_model = lightgcn_target(source, dim=self.dim, layers=self.layers)
        overrides: dict[str, Any] = {"source_weight": None}
        ran = target_model.history_
        if self.source_epochs == "target" and ran is not None and len(ran):
            overrides["epochs"] = len(ran)  # the source has no validation to stop it
        elif isinstance(self.source_epochs, int):
            overrides["epochs"] = self.source_epochs
        yield Fit("source", source_model, alone, overrides)
        (tu, ti), (su, si) = target_model.final(), source_model.final()
        return tu.detach(), ti.detach(), su.detach(), si.detach()
