"""A model already in the serving directory is found, so it is not pushed twice."""
from components.push.place import identical_version, put_in_place


def _model(directory, weights: bytes):
    (directory / "variables").mkdir(parents=True)
    (directory / "saved_model.pb").write_bytes(b"graph")
    (directory / "variables" / "variables.data-00000-of-00001").write_bytes(weights)
    return directory


def test_the_same_files_are_the_version_already_pushed(tmp_path):
    base = tmp_path / "serving"
    put_in_place(str(_model(tmp_path / "first", b"1234")), str(base), "100")
    put_in_place(str(_model(tmp_path / "second", b"5678")), str(base), "200")
    assert identical_version(str(_model(tmp_path / "again", b"1234")), str(base)) == "100"
    assert identical_version(str(_model(tmp_path / "new", b"4321")), str(base)) is None  # same size
    assert identical_version(str(_model(tmp_path / "bigger", b"12345")), str(base)) is None
    assert identical_version(str(tmp_path / "first"), str(tmp_path / "nowhere")) is None
