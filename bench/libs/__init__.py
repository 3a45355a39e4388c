"""One module per library; each defines a function per workload it can run, taking
``(ctx, params)`` and returning a ``bench.common.Case``. ``MISSING`` maps the workloads a
library cannot run to the reason."""
