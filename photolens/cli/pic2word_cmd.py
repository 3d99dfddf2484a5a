"""``photolens pic2word train``: the optional Pic2Word mapper, trained on the library's own photos.

Measured on the tiny benchmark CLIP it did not beat the training-free default (weighted fusion), so it is
off by default; once trained, ``search --photo P "change" --method pic2word`` uses it. Training is
resumable: a checkpoint is saved in the library after every epoch, and Ctrl-C keeps it.
"""

from __future__ import annotations

import argparse
import base64
import sys

from photolens.cli.common import EXIT_INTERRUPTED, open_library

CHECKPOINT_SUFFIX = "/checkpoint"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("pic2word", help="train the optional photo→word mapper for composed queries")
    parser.add_argument("action", choices=["train", "status", "forget"],
                        help="train (resumes a stopped run), status, or forget the mapper of this model")
    parser.add_argument("--epochs", type=int, help="passes over the library (default 5)")
    parser.set_defaults(func=run)


def load_bytes(library, key: str) -> bytes | None:
    text = library.setting(key)
    return base64.b64decode(text) if isinstance(text, str) else None


def _save_bytes(library, key: str, data: bytes | None) -> None:
    from photolens.browse import set_setting

    set_setting(library.db, key, base64.b64encode(data).decode("ascii") if data is not None else None)


def stored_mapper(library) -> bytes | None:
    from photolens.retrieval.pic2word import mapper_key

    return load_bytes(library, mapper_key(library.model_key))


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from tqdm import tqdm

    from photolens.retrieval.pic2word import Pic2WordConfig, mapper_key
    from photolens.retrieval.service import train_pic2word

    library = open_library(args)
    key = mapper_key(library.model_key)
    if args.action == "status":
        state = "trained" if stored_mapper(library) else "not trained"
        partial = load_bytes(library, key + CHECKPOINT_SUFFIX)
        print(f"Pic2Word mapper for {library.model_key}: {state}" + (" (a partial run can resume)" if partial else ""))
        return 0
    if args.action == "forget":
        _save_bytes(library, key, None)
        _save_bytes(library, key + CHECKPOINT_SUFFIX, None)
        print("Forgot the Pic2Word mapper of this model.")
        return 0
    config = Pic2WordConfig() if args.epochs is None else replace(Pic2WordConfig(), epochs=args.epochs)
    checkpoint = load_bytes(library, key + CHECKPOINT_SUFFIX)
    bar = None
    epoch = None
    try:
        for progress, trainer in train_pic2word(library, config, checkpoint):
            if bar is None:
                bar = tqdm(total=progress.total_steps, initial=progress.step, unit="step", desc="pic2word",
                           file=sys.stderr)
            bar.update(progress.step - bar.n)
            bar.set_postfix(loss=f"{progress.loss:.4f}", refresh=False)
            if progress.epoch != epoch:
                epoch = progress.epoch
                _save_bytes(library, key + CHECKPOINT_SUFFIX, trainer.checkpoint())
            if progress.done:
                _save_bytes(library, key, trainer.mapper().to_bytes())
                _save_bytes(library, key + CHECKPOINT_SUFFIX, None)
    except KeyboardInterrupt:
        if bar:
            bar.close()
        print("\nInterrupted; the last epoch's checkpoint is kept: run the same command to resume.", file=sys.stderr)
        return EXIT_INTERRUPTED
    if bar:
        bar.close()
    print("Pic2Word mapper trained; use it with: photolens search --photo PHOTO \"change\" --method pic2word")
    return 0
