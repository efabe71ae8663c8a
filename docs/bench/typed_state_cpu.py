"""CPU seconds per DDXPlus consultation (10 questions) in one process, for BENCHMARKS.md
("Issue 13 — typed state"): 200 dev patients (seed 0) through ``run_case`` on a
``batch_session``, 20 warm-up cases, best of 3 passes. CPU time, not wall time, so that a
loaded machine distorts it less; run old and new trees alternately (``PYTHONPATH=<tree>``)."""

import os
import random
import time
from pathlib import Path

from agent.consult.session import batch_session
from agent.context import embedded_context
from eval.ddxplus_cases import run_case
from retrieval.ddxplus_kb import load_from_data_dir
from simulator.records import load_patients

data = Path(os.environ["DDX_DATA_DIR"])
kb = load_from_data_dir(data)
records = random.Random(0).sample(load_patients(kb, data / "ddxplus/dev_patients.csv").records, 200)
session = batch_session(embedded_context(kb))
for record in records[:20]:
    run_case(session, record, 10, False, 0.99)
passes = []
for _ in range(3):
    started = time.process_time()
    top1 = sum(run_case(session, r, 10, False, 0.99).truth_rank == 1 for r in records)
    passes.append(time.process_time() - started)
print(f"{200 / min(passes):.1f} patients per CPU-second; GTPA@1 {top1 / 200:.3f}")
