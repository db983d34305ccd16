"""`driftline airflow dag`: the pipeline as an Apache Airflow DAG file, with the
effective config beside it."""
from pathlib import Path

from driftline.commands.common import common_args, config_from


def dag_file_text(config_name: str, written: str) -> str:
    return f'''"""driftline's pipeline as an Apache Airflow DAG, written by `driftline airflow dag` on {written}.

One task per node of the pipeline's graph (create_pipeline), reading the settings in
{config_name} beside this file. The Airflow that parses it needs driftline installed in
its Python (pip install "driftline[airflow]") and must see the config's data root,
output directory and MLMD store.
"""
from pathlib import Path

from driftline.airflow.dag import build

dag = build(Path(__file__).with_name("{config_name}"), written="{written}")
'''


def write_dag(config, out: Path, written: str) -> Path:
    """The DAG file and the config it reads, written as whole files."""
    from pipeline.config import to_toml

    # Not named after the package: Airflow puts the DAG folder first on sys.path, where a
    # driftline.py would hide the driftline package from the file's own import.
    dag_file = out / f"{config.airflow.dag_id or config.pipeline_name}_dag.py"
    out.mkdir(parents=True, exist_ok=True)
    settings = dag_file.with_suffix(".toml")
    for path, text in ((settings, to_toml(config)), (dag_file, dag_file_text(settings.name, written))):
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return dag_file


def dag(args) -> int:
    import datetime as dt

    from driftline.airflow.calendar import first_day
    from driftline.airflow.dag import layout, start_date
    from pipeline import framework_output

    config = config_from(args)
    out = Path(args.out or config.airflow.dag_dir)
    written = dt.date.today().isoformat()
    path = write_dag(config, out.resolve(), written)
    with framework_output.to_log_file(config.output_dir / "logs" / "airflow.log", "driftline airflow dag"):
        _, spans, graph = layout(path.with_suffix(".toml"))
    settings = config.airflow
    print(f"wrote {path} (DAG {settings.dag_id or config.pipeline_name}, {len(graph['nodes'])} tasks) "
          f"and its config {path.with_suffix('.toml')}")
    print(f"  schedule {settings.schedule}, from {start_date(settings, written).date()}, "
          f"catchup {'on' if settings.catchup else 'off'}")
    if settings.first_span_date:
        first, newest = spans[0], spans[-1]
        begins = {span: first_day(settings.first_span_date, settings.span_days, span) for span in (first, newest)}
        print(f"  a run's day picks its span: span N starts on {settings.first_span_date} + (N - 1) x "
              f"{settings.span_days} day(s); span {first} {begins[first]}, span {newest} {begins[newest]}")
    else:
        print("  each run takes the newest span (set airflow.first_span_date to give spans days)")
    print(f"  tasks: {', '.join(graph['nodes'])}")
    print(f"copy both files into your Airflow's dags folder, or: AIRFLOW__CORE__DAGS_FOLDER={path.parent}")
    return 0


def register(sub):
    """`driftline airflow`'s arguments."""
    p_airflow = sub.add_parser("airflow", help="the pipeline as an Apache Airflow DAG")
    p_airflow_sub = p_airflow.add_subparsers(dest="airflow_command", required=True)
    p_dag = common_args(p_airflow_sub.add_parser(
        "dag", help="write the DAG file (one task per pipeline node) and its config"))
    p_dag.add_argument("--out", type=Path, help="directory for the DAG file (default: airflow.dag_dir)")
    p_dag.add_argument("--output-dir", type=Path, help="the runs' output directory (pipeline root, MLMD)")
    p_dag.add_argument("--fast", action="store_true", help="the small test configuration")
    p_dag.set_defaults(func=dag)
