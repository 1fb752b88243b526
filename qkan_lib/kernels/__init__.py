"""Compiled execution paths (Numba, CPU), each tested equal to its reference in
:mod:`qkan_lib.core` or :mod:`qkan_lib.models`: the QLSTM circuit with an adjoint backward pass
(:mod:`.circuit`), whole-sequence QKAN-LSTM / HQKAN-LSTM (:mod:`.qkan_sequence`) and QLSTM
(:mod:`.qlstm_sequence`, :mod:`.qlstm_loops`). :mod:`.paths` registers them by role and holds
the one switch, :func:`~qkan_lib.kernels.paths.reference_path`.

Importing this package is light: each kernel loads Numba on first use."""
