"""The local SparkSession used by the runner, the tests and the benchmark."""

from __future__ import annotations

import os
import time


def local_session(app_name: str = "pinpipe-analytics", cores: int = 2, driver_memory: str = "2g",
                  shuffle_partitions: int = 4, ansi: bool = False):
    """A ``local[cores]`` session in UTC with the UI off and quiet logs.

    ``ansi=True`` runs the SQL with ANSI semantics (the default of Spark 4 and Databricks SQL warehouses);
    the SQL is written to give the same answers either way.
    """
    os.environ["TZ"] = "UTC"  # Python-side conversion of TIMESTAMP values (collect) uses the local zone.
    time.tzset()
    # Loopback only: the driver neither needs nor looks up the machine's own name (a host whose name does not
    # resolve would otherwise fail at start-up).
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[%d]" % cores)
        .appName(app_name)
        .config("spark.driver.memory", driver_memory)
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.ansi.enabled", "true" if ansi else "false")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark
