"""Scale-out: the Parquet lake and the same assessment on Spark (``mapInArrow``)."""
