"""Driver for RecBole-CDR, run by ``bench_epoch.py`` with the peer's own Python (not cdgraph's).

    python peer_recbole_cdr.py MODEL CONFIG.yaml [CONFIG.yaml ...]

It makes the calls of RecBole-CDR's ``run_recbole_cdr`` one by one through the peer's public
API (config, dataset, data loaders, model, trainer), with three changes: no checkpoint is
saved or loaded (``fit(saved=False)``, ``evaluate(load_best_model=False)``: RecBole 1.0.1
ignores a ``saved`` key in the config, and its checkpoints are read with a plain
``torch.load``, which torch >= 2.6 refuses); BiTGCF's embeddings cached by the validation pass
are dropped, so that the test evaluation computes them as a fresh one would; and that
evaluation is timed. Torch runs on one thread. RecBole's logger prints each epoch's training
time (on stderr; the caller reads both streams); the last line, after ``PEER_RESULT``, is
JSON: the sizes of the parts RecBole built, the seconds of loading and of the test
evaluation, and the test metrics. It imports nothing from cdgraph and writes only into the
working directory (RecBole's ``log/``, ``log_tensorboard/`` and ``saved/`` folders).
"""
import json
import sys
import time
from logging import getLogger

import torch


def parts_sizes(train_data, valid_data, test_data) -> dict:
    """Interactions and users of the target parts RecBole built (checked against our split)."""
    sizes = {"source_train": len(train_data.source_dataset.inter_feat),
             "target_train": len(train_data.target_dataset.inter_feat)}
    for name, loader in (("valid", valid_data), ("test", test_data)):
        data = loader.dataset
        sizes[name] = len(data.inter_feat)
        sizes[name + "_users"] = int(data.inter_feat[data.uid_field].unique().numel())
    sizes["target_items"] = int(test_data.dataset.item_num) - 1  # without RecBole's [PAD]
    return sizes


def main(model_name: str, config_files: list) -> None:
    torch.set_num_threads(1)
    from recbole.utils import init_logger, init_seed
    from recbole_cdr.config import CDRConfig
    from recbole_cdr.data import create_dataset, data_preparation
    from recbole_cdr.utils import get_model, get_trainer

    config = CDRConfig(model=model_name, config_file_list=config_files)
    init_seed(config["seed"], config["reproducibility"])
    init_logger(config)
    getLogger().info(config)
    started = time.perf_counter()
    dataset = create_dataset(config)
    getLogger().info(dataset)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    init_seed(config["seed"], config["reproducibility"])
    model = get_model(config["model"])(config, train_data.dataset).to(config["device"])
    load_s = time.perf_counter() - started
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
    trainer.fit(train_data, valid_data, saved=False, show_progress=False)
    if hasattr(model, "init_restore_e"):  # BiTGCF caches its last embeddings: the test pass recomputes them
        model.init_restore_e()
    started = time.perf_counter()
    test = trainer.evaluate(test_data, load_best_model=False, show_progress=False)
    test_s = time.perf_counter() - started
    out = {"load_seconds": load_s, "test_eval_seconds": test_s, "threads": torch.get_num_threads(),
           "sizes": parts_sizes(train_data, valid_data, test_data),
           "test": {k: float(v) for k, v in test.items()}}
    print("PEER_RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
