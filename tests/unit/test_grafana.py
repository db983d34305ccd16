"""The Grafana dashboard `driftline monitor report` writes queries only metrics that
`driftline serve` exports."""
import json
import re
from pathlib import Path

from driftline.monitoring import grafana

METRICS_SOURCE = Path(__file__).resolve().parents[2] / "driftline" / "serving" / "metrics.py"


def test_every_panel_queries_a_metric_the_server_exports(tmp_path):
    path = tmp_path / "grafana.json"
    grafana.write("taxi_big_tipper", path)
    board = json.loads(path.read_text())
    assert board["title"] == "driftline: taxi_big_tipper" and len(board["panels"]) == len(grafana.PANELS)
    exported = set(re.findall(r'"(driftline_[a-z0-9_]+)"', METRICS_SOURCE.read_text()))
    for panel in board["panels"]:
        expr = panel["targets"][0]["expr"]
        for name in re.findall(r"driftline_[a-z0-9_]+", expr):
            base = re.sub(r"_(total|bucket|count|sum)$", "", name)
            assert base in exported, (panel["title"], name)
        assert 'model="$model"' in expr
