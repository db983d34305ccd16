"""The pipeline as an Apache Airflow DAG: its file, its calendar of spans, its tasks."""
