"""Choose the intake reader's thresholds on a development phrase file (never the held-out one).

    python -m eval.intake_sweep tests/fixtures/intake/dev.jsonl

Scores every combination of the yes/no, place and "read together" thresholds on the file and
prints them best first by F1 of precision and recall (the label vectors are embedded once).
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

from tqdm import tqdm

from agent.free_text import CachedEncoder, default_encoder
from agent.intake.labels import build_labels
from agent.intake.reader import IntakeReader, ReaderSettings
from agent.intake.vectors import QueryVectors
from eval.intake_phrases import load_phrases, summarise
from retrieval.ddxplus_kb import load_from_data_dir

GRID = {
    "evidence": (0.5, 0.55, 0.6),
    "place": (0.6, 0.7, 0.8),
    "together": (0.7, 0.8, 0.9),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phrases", type=Path, help="The development phrase file (JSONL).")
    parser.add_argument("--data-dir", type=Path, default=None, help="Default: $DDX_DATA_DIR.")
    args = parser.parse_args()
    from agent.settings import load_settings

    settings = load_settings(data_dir=args.data_dir)
    kb = load_from_data_dir(settings.data_dir)
    phrases = load_phrases(args.phrases)
    encoder = default_encoder()
    labels = build_labels(kb, CachedEncoder(encoder, settings.cache_folder / "intake", "sweep"))
    vectors = QueryVectors(encoder)  # every setting reads the same words: embed them once
    rows = []
    for values in tqdm(list(itertools.product(*GRID.values())), desc="settings"):
        thresholds = ReaderSettings(**dict(zip(GRID, values, strict=True)))
        reader = IntakeReader(kb, encoder, thresholds, labels=labels, vectors=vectors)
        scores = summarise(kb, phrases, [reader.read(p.text) for p in phrases])
        f1 = 2 * scores.precision * scores.recall / (scores.precision + scores.recall or 1)
        rows.append((round(f1, 3), scores.precision, scores.recall, scores.exact, values))
    print("F1     precision recall exact  evidence place together")
    for f1, precision, recall, exact, values in sorted(rows, key=lambda r: -r[0]):
        print(
            f"{f1:.3f}  {precision:.3f}     {recall:.3f}  {exact:.3f}  "
            + "  ".join(map(str, values))
        )


if __name__ == "__main__":
    main()
