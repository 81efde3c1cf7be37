"""The hardware layer shared by passes, estimate and backends: the hardware IR (module
instances and their streams), resources, and the registry of rtl_lib modules."""
