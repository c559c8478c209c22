"""pinpipe analytics: load, clean and answer the Pinterest questions with Spark SQL.

The SQL under ``deploy/databricks/sql`` is the single source of truth; this package runs it locally
(PySpark) and generates the Databricks notebooks from it.
"""
