"""A writer process for the crash and concurrency tests: edits a table in a loop, printing after each commit."""
import sys

from curation.tables import Edit
from curation.backends.lance.tables import LanceTableStore

root, who, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = LanceTableStore(root)
for k in range(count):
    ids = [r for r in store.read(store.head("ds", "clips"), ["clip_id"])["clip_id"].to_pylist()]
    if who == "killer":  # delete one row and reweight a few others: several Lance commits per revision
        victim = ids[k % len(ids)]
        edit = Edit(delete={victim}, weights={i: float(k % 7) / 4 for i in ids[-5:] if i != victim})
    else:  # a named writer sets weights on its own ids only
        edit = Edit(weights={f"{who}{k:03d}": 0.5})
    rev = store.edit("ds", "clips", edit, message=f"{who} {k}")
    print(rev.number, flush=True)
