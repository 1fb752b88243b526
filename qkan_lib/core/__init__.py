"""Circuit math, the reference implementations: the DARUAN (Eqs. 3-6), the QKAN and HQKAN
layers (Eq. 2), their exact Fourier spectra, the parameter-shift rule (Eq. 9), the QLSTM
circuits as a PyTorch state-vector simulator, and the same circuits in PennyLane (the
independent oracle). Everything above is built on these; nothing here knows about training."""
