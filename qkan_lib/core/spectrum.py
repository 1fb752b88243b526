"""Fourier spectrum of a DARUAN: predicted frequencies, exact coefficients, FFT and least squares.

With <Z> as the readout a DARUAN is a finite trigonometric sum
phi(x) = sum_{omega in Omega} c_omega exp(i omega x), Omega = {sum_l s_l w_l : s_l in {-1, 0, 1}}.
"""

from __future__ import annotations

import cmath
import itertools
import math

import numpy as np
import torch


def _as_numpy(t) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().cpu().double().numpy()
    return np.asarray(t, dtype=float)


def sign_patterns(reps: int) -> np.ndarray:
    """All 3**reps vectors s in {-1, 0, 1}^reps, one per row."""
    return np.array(list(itertools.product((-1, 0, 1), repeat=reps)), dtype=float).reshape(-1, reps)


def distinct_frequencies(values, tol: float = 1e-9) -> np.ndarray:
    """Sorted values with every cluster of near-equal ones merged into its mean.

    Sums of float weights that are equal on paper differ by rounding (1.7 + 0.4 - 1 is not
    0.4 + 1.7 - 1 in floating point), so exact uniqueness counts one frequency several
    times and splits its coefficient between the copies. Two sorted neighbours belong to
    one cluster when they differ by at most ``tol * max(1, max |value|)``.
    """
    if not tol >= 0:
        raise ValueError(f"tol must be a non-negative number, got {tol}")
    v = np.sort(_as_numpy(values).reshape(-1))
    if v.size == 0:
        return v
    scale = tol * max(1.0, float(np.max(np.abs(v))))
    starts = np.concatenate([[True], np.diff(v) > scale])
    labels = np.cumsum(starts) - 1
    return np.bincount(labels, weights=v) / np.bincount(labels)


def predicted_frequencies(weight, tol: float = 1e-9) -> np.ndarray:
    """Sorted distinct frequencies Omega = {s . w}, exactly symmetric about 0.

    Values closer than ``tol`` (relative to the largest |omega|, see
    :func:`distinct_frequencies`) are one frequency. Omega is symmetric (s -> -s), so the
    non-negative half is deduplicated once and mirrored: +omega and -omega are exact
    negatives of each other and the counts of both halves agree.
    """
    w = _as_numpy(weight).reshape(-1)
    if w.size == 0:
        raise ValueError("weight must hold at least one encoding weight w_l")
    magnitudes = distinct_frequencies(np.abs(sign_patterns(w.size) @ w), tol)
    scale = tol * max(1.0, float(magnitudes[-1]))
    positive = magnitudes[magnitudes > scale]
    return np.concatenate([-positive[::-1], [0.0], positive])


def exact_fourier_series(theta, weight=None, bias=None, tol: float = 1e-9, noise=None):
    """Exact coefficients c_omega of a single DARUAN with the <Z> readout.

    With ``noise`` (a :class:`~qkan_lib.core.noise.NoiseModel`) the coefficients are those of
    the noisy <Z> as measured (channels after each noisy gate, then the readout error): each
    channel is the affine map (X, Y, Z) -> (s_xy X, s_xy Y, s_z Z + g), which scales the
    series and adds g to the constant term, so the frequencies stay in Omega.

    Tracks each Bloch coordinate as a sum of exponentials exp(i (s . w) x), keyed by
    the sign pattern s. RZ(w_l x + b_l) multiplies by cos/sin of its angle, i.e. by
    (e^{+i(w x + b)} +/- e^{-i(w x + b)}) / 2(i), which sets s_l = +1 or -1; an RY
    mixes coordinates without changing frequencies. Returns ``(omegas, coeffs)``,
    ``omegas`` sorted ascending (the set Omega), ``coeffs`` complex, with
    c_{-omega} = conj(c_omega).
    """
    th = _as_numpy(theta)
    if th.ndim != 2 or th.shape[1] != 2 or th.shape[0] < 2:
        raise ValueError(f"theta must have shape (reps + 1, 2) for one DARUAN, got {th.shape}")
    reps = th.shape[0] - 1
    w = np.ones(reps) if weight is None else _as_numpy(weight).reshape(-1)
    b = np.zeros(reps) if bias is None else _as_numpy(bias).reshape(-1)
    if w.size != reps or b.size != reps:
        raise ValueError(f"weight and bias need {reps} entries to match theta {th.shape}")

    def add(*terms):
        out: dict = {}
        for scale, series in terms:
            for key, value in series.items():
                out[key] = out.get(key, 0) + scale * value
        return out

    def rz_fixed(X, Y, angle):
        c, s = math.cos(angle), math.sin(angle)
        return add((c, X), (-s, Y)), add((s, X), (c, Y))

    def ry(X, Z, angle):
        c, s = math.cos(angle), math.sin(angle)
        return add((c, X), (s, Z)), add((-s, X), (c, Z))

    def shift(series, layer, sign, phase):
        return {key[:layer] + (sign,) + key[layer + 1 :]: v * phase for key, v in series.items()}

    zero = (0,) * reps
    if noise is None:
        gate = z_gate = (1.0, 1.0, 0.0)
        readout = (1.0, 0.0)
    else:
        gate = noise.gate_map()
        z_gate = (1.0, 1.0, 0.0) if noise.virtual_z else gate
        readout = noise.readout_map()

    def channel(X, Y, Z, gate_map):
        s_xy, s_z, g = gate_map
        return add((s_xy, X)), add((s_xy, Y)), add((s_z, Z), (g, {zero: 1.0 + 0j}))

    X, Y, Z = channel({zero: 1.0 + 0j}, {}, {}, gate)
    for layer in range(reps):
        X, Y = rz_fixed(X, Y, th[layer, 0])
        X, Y, Z = channel(X, Y, Z, z_gate)
        X, Z = ry(X, Z, th[layer, 1])
        X, Y, Z = channel(X, Y, Z, gate)
        # cos(a) = (e^{ia} + e^{-ia})/2, sin(a) = (e^{ia} - e^{-ia})/(2i), a = w x + b
        up, down = cmath.exp(1j * b[layer]), cmath.exp(-1j * b[layer])
        cos_x = lambda f: add((0.5, shift(f, layer, 1, up)), (0.5, shift(f, layer, -1, down)))
        sin_x = lambda f: add((-0.5j, shift(f, layer, 1, up)), (0.5j, shift(f, layer, -1, down)))
        X, Y = add((1, cos_x(X)), (-1, sin_x(Y))), add((1, sin_x(X)), (1, cos_x(Y)))
        X, Y, Z = channel(X, Y, Z, z_gate)
    X, Y = rz_fixed(X, Y, th[reps, 0])
    X, Y, Z = channel(X, Y, Z, z_gate)
    X, Z = ry(X, Z, th[reps, 1])
    X, Y, Z = channel(X, Y, Z, gate)
    Z = add((readout[0], Z), (readout[1], {zero: 1.0 + 0j}))

    omegas = predicted_frequencies(w, tol)
    coeffs = np.zeros(omegas.size, dtype=complex)
    for key, value in Z.items():
        idx = int(np.argmin(np.abs(omegas - np.dot(key, w))))
        coeffs[idx] += value
    return omegas, coeffs


def evaluate_series(x, omegas, coeffs) -> np.ndarray:
    """sum_omega c_omega exp(i omega x), real part (the imaginary part cancels)."""
    x = _as_numpy(x)
    return np.real(np.exp(1j * np.multiply.outer(x, omegas)) @ coeffs)


def fft_coefficients(values) -> tuple[np.ndarray, np.ndarray]:
    """Fourier coefficients of samples taken on x_k = 2 pi k / N, k = 0..N-1.

    Exact for a trigonometric polynomial with integer frequencies below N / 2.
    Returns integer frequencies (-(N//2) .. ) and complex coefficients, ascending.
    """
    v = _as_numpy(values)
    if v.ndim != 1 or v.size < 3:
        raise ValueError(f"need a 1-D array of at least 3 samples, got shape {v.shape}")
    coeffs = np.fft.fftshift(np.fft.fft(v)) / v.size
    freqs = np.fft.fftshift(np.fft.fftfreq(v.size, d=1.0 / v.size))
    return freqs, coeffs


def fit_coefficients(x, y, omegas, tol: float = 1e-9) -> tuple[np.ndarray, np.ndarray, float]:
    """Least-squares fit of y(x) by a real trigonometric sum on the given frequencies.

    Returns ``(omegas, coeffs, residual)`` with complex c_omega for the full symmetric
    set and ``residual`` = max |y - fit|. A tiny residual means the function lies in
    the span of those frequencies. Frequencies within ``tol`` of each other (relative,
    see :func:`distinct_frequencies`) are one column: two near-identical columns would
    split one coefficient between them.
    """
    x, y = _as_numpy(x), _as_numpy(y)
    positive = distinct_frequencies(np.abs(_as_numpy(omegas)), tol)
    positive = positive[positive > tol * max(1.0, float(positive[-1]) if positive.size else 1.0)]
    columns = (
        [np.ones_like(x)] + [np.cos(w * x) for w in positive] + [np.sin(w * x) for w in positive]
    )
    design = np.stack(columns, axis=1)
    sol, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = float(np.max(np.abs(design @ sol - y)))
    a0, a, b = sol[0], sol[1 : 1 + positive.size], sol[1 + positive.size :]
    full = np.concatenate([-positive[::-1], [0.0], positive])
    c_pos = (a - 1j * b) / 2
    coeffs = np.concatenate([np.conj(c_pos[::-1]), [a0 + 0j], c_pos])
    return full, coeffs, residual


def depolarizing_shrinkage(reps: int, noise) -> float:
    """The factor by which every non-constant Fourier coefficient of a DARUAN shrinks under a
    noise model with depolarizing and readout error only: f * lambda^G, with lambda = 1 - 4p/3
    per noisy gate, G noisy gates and f = 1 - e0 - e1 (depolarizing commutes with every
    rotation, so all G shrinkages pull out of the circuit; the readout is affine in <Z>)."""
    if noise.amplitude_damping or noise.phase_damping:
        raise ValueError(
            "depolarizing_shrinkage holds without T1 and T2 only (amplitude and phase damping do "
            "not commute with the rotations); use exact_fourier_series(..., noise=noise)"
        )
    lam = 1 - 4 * noise.depolarizing / 3
    return noise.readout_map()[0] * lam ** noise.noisy_gates(reps)


def shot_noise_floor(values, shots: int) -> float:
    """Root-mean-square error of each FFT coefficient of N samples estimated from ``shots``
    shots each: sqrt(mean(1 - <Z>^2) / (shots N)) (independent binomial errors, spread evenly
    over the N coefficients by the unitary DFT)."""
    v = _as_numpy(values).reshape(-1)
    return float(np.sqrt(np.mean(1 - v**2) / (shots * v.size)))
