"""Two rehearsals in the same second get different run ids, so the second never finds
the first one's outputs where its own go (TFX refuses to overwrite them)."""
from driftline.kubeflow.rehearsal import Rehearsal


def test_rehearsals_of_the_same_second_get_their_own_run_ids(tmp_path):
    ids = []
    for _ in range(3):
        rehearsal = Rehearsal.__new__(Rehearsal)
        rehearsal.pipeline_root = str(tmp_path / "root")
        ids.append(rehearsal._new_run_id())
    assert len(set(ids)) == 3
    assert all((tmp_path / "root" / run_id).is_dir() for run_id in ids)
    assert ids[0].startswith("rehearsal-")
