"""Running experiments: the training loop (:mod:`.training`) and seed batching, the paper's
protocols and experiments (:mod:`.experiment`), the result store (:mod:`.store`), the one run
path (:mod:`.run`), grids and tuning (:mod:`.grid`) on Dask workers (:mod:`.workers`), metrics
and progress bars."""
