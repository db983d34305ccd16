"""The DAG's tasks and edges, read from `create_pipeline`'s graphs and kept on disk.

A run's graph depends on its span: the ExampleGen of every span in the window, the
previous span's statistics. The DAG holds the union of every span's graph, so one DAG
serves every day; a run skips the tasks its span's graph does not hold. Airflow parses
a DAG file again and again, and laying out the graphs imports TFX: the shapes are
computed once per (config, spans, graph code) and read back from a JSON file after that.
"""
import hashlib
import json
import os
from pathlib import Path
from typing import Dict, List

from pipeline.inputs import code_fingerprint

# The code that decides the graph's shape.
GRAPH_CODE = "pipeline"


def shapes_file(config, config_text: str, spans: List[int]) -> Path:
    digest = hashlib.sha256()
    for part in (config_text, json.dumps(spans), code_fingerprint(GRAPH_CODE)):
        digest.update(part.encode())
        digest.update(b"\0")
    return config.output_dir / "airflow" / "shapes" / f"{digest.hexdigest()[:20]}.json"


def load(config, config_text: str, spans: List[int]) -> Dict[int, dict]:
    """{span: {"nodes": [...], "upstream": {node: [...]}}} for every span in `spans`."""
    path = shapes_file(config, config_text, spans)
    if path.is_file():
        return {int(span): shape for span, shape in json.loads(path.read_text()).items()}
    from pipeline.airflow_runner import shapes

    found = shapes(config, spans)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(found, indent=1, sort_keys=True))
    tmp.replace(path)  # a parser reading at the same moment sees the whole file or none
    return found


def union(shapes: Dict[int, dict]) -> dict:
    """Every span's graph in one: the nodes in an order that keeps each after the nodes
    it waits for (the newest span's order first), and every edge any span has."""
    upstream: Dict[str, set] = {}
    for shape in shapes.values():
        for node, before in shape["upstream"].items():
            upstream.setdefault(node, set()).update(before)
    preferred = [n for span in sorted(shapes, reverse=True) for n in shapes[span]["nodes"]]
    rank = {n: i for i, n in reversed(list(enumerate(preferred)))}
    ordered, placed = [], set()
    while len(ordered) < len(upstream):
        ready = sorted((n for n in upstream if n not in placed and upstream[n] <= placed), key=rank.get)
        ordered.append(ready[0])
        placed.add(ready[0])
    return {"nodes": ordered, "upstream": {n: sorted(upstream[n]) for n in ordered}}
