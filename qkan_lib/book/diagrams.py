"""Diagrams of the book: the two circuits (drawn by PennyLane) and the LSTM cell.

The circuits are built gate by gate exactly as ``qkan_lib.daruan`` and
``qkan_lib.circuits`` apply them (and as the PennyLane oracles in tests/oracles.py
check), then drawn with ``qml.draw_mpl``; gates carry symbolic labels instead of numbers.
PennyLane is imported inside the functions: ``import qkan_lib`` does not pay for it.
"""

from __future__ import annotations

import functools

import matplotlib.pyplot as plt
from matplotlib.patches import Circle, FancyBboxPatch

from .style import book_figure

GATE_MAPS = {
    "LSTM": r"affine map $W v_t + b$",
    "QLSTM": "4 variational circuits,\n$d + m$ qubits each",
    "QKAN-LSTM": r"one QKAN layer, $(d+m) \to 4m$ DARUANs",
    "HQKAN-LSTM": "Linear $\\to$ QKAN latent $\\to$ Linear",
}


def _subscript(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


@functools.cache
def _box_class():
    """A one-qubit operation that PennyLane's drawer shows with a given label, as written.

    ``qml.drawer.label`` prints ``RZ("θ")`` with quotes; a box that only carries a label
    prints it plain, at the drawer's font size. Built on first use (PennyLane is heavy).
    """
    import pennylane as qml  # lazy: PennyLane is heavy, and only the drawings need it

    class LabelledBox(qml.operation.Operation):
        num_wires = 1
        num_params = 0

        def __init__(self, text: str, wires):
            self.text = text
            super().__init__(wires=wires)

        def label(self, decimals=None, base_label=None, cache=None):
            return self.text

    return LabelledBox


@book_figure
def draw_daruan_circuit(reps: int = 2):
    """The DARUAN of Eq. (3) for ``reps`` re-uploads, drawn by ``qml.draw_mpl``.

    H, then per layer l the trainable block W(θ_l) = RY(θ_l,1) RZ(θ_l,0) and the data
    rotation RZ(a_l) with a_l = w_l x + b_l, then a final trainable block and the <Z>
    readout. Each block is one labelled box, so the labels stay legible on a page.
    Returns the Figure.
    """
    import pennylane as qml  # lazy: PennyLane is heavy, and only the drawings need it

    if not isinstance(reps, int) or reps < 1:
        raise ValueError(f"reps must be a positive integer, got {reps!r}")
    box = _box_class()

    def circuit():
        qml.Hadamard(0)
        for layer in range(reps + 1):
            box(f"W(θ{_subscript(layer)})", 0)
            if layer < reps:
                box(f"RZ(a{_subscript(layer + 1)})", 0)
        return qml.expval(qml.PauliZ(0))

    node = qml.QNode(circuit, qml.device("default.qubit", wires=1))
    fig, ax = qml.draw_mpl(node, decimals=None, style="pennylane", fontsize="x-large")()
    fig.suptitle(
        f"DARUAN, L = {reps}: " + r"$W(\theta_l) = R_Y(\theta_{l,1})\,R_Z(\theta_{l,0})$,"
        r"  $a_l = w_l x + b_l$,  readout $\langle Z\rangle$",
        fontsize=13,
    )
    return fig


@book_figure
def draw_qlstm_circuit(n_qubits: int = 3, depth: int = 2, n_measured: int = 2):
    """One QLSTM gate circuit (the reference code's), drawn by ``qml.draw_mpl``.

    Angle encoding H RY(v_k) on every qubit, ``depth`` layers of brickwork CNOTs (even
    pairs, then odd pairs) followed by trainable RY(θ_l,k), and <Z> on the first
    ``n_measured`` qubits. Returns the Figure.
    """
    import pennylane as qml  # lazy: PennyLane is heavy, and only the drawings need it

    for name, value in (("n_qubits", n_qubits), ("depth", depth), ("n_measured", n_measured)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if n_measured > n_qubits:
        raise ValueError(f"n_measured ({n_measured}) cannot exceed n_qubits ({n_qubits})")
    box = _box_class()

    def circuit():
        for q in range(n_qubits):
            qml.Hadamard(q)
            box(f"RY\nv{_subscript(q)}", q)
        for layer in range(depth):
            for start in (0, 1):
                for q in range(start, n_qubits - 1, 2):
                    qml.CNOT([q, q + 1])
            for q in range(n_qubits):
                box(f"RY\nθ{_subscript(layer)},{_subscript(q)}", q)  # two lines: fits its box
        return [qml.expval(qml.PauliZ(q)) for q in range(n_measured)]

    node = qml.QNode(circuit, qml.device("default.qubit", wires=n_qubits))
    fig, ax = qml.draw_mpl(node, decimals=None, style="pennylane", fontsize="large")()
    fig.suptitle(
        f"one QLSTM gate circuit: {n_qubits} qubits encode $v_t = [x_t, h_{{t-1}}]$, "
        f"depth {depth}, " + r"$\langle Z\rangle$" + f" on {n_measured} qubits",
        fontsize=11,
    )
    return fig


@book_figure
def plot_lstm_cell(gate_maps: dict[str, str] | None = None):
    """One LSTM cell, Eq. (1), with the gate map G(v_t) as a single highlighted box.

    The four models share everything but that box; ``gate_maps`` (default
    :data:`GATE_MAPS`) lists what it is in each model, printed beside the cell.
    Returns the Figure.
    """
    gate_maps = GATE_MAPS if gate_maps is None else gate_maps
    fig = plt.figure(figsize=(11, 4.6))
    ax = fig.add_axes([0.0, 0.0, 0.68, 1.0])
    ax.set(xlim=(0, 11), ylim=(0, 6.2))
    ax.axis("off")
    line = dict(color="0.25", lw=1.6)
    arrow = dict(arrowstyle="-|>", color="0.25", lw=1.6, shrinkA=0, shrinkB=0)

    def arrow_to(start, end):
        ax.annotate("", end, start, arrowprops=arrow)

    def node(xy, symbol):
        ax.add_patch(Circle(xy, 0.22, fc="#fde68a", ec="0.25", lw=1.4, zorder=3))
        ax.text(*xy, symbol, ha="center", va="center", fontsize=12, zorder=4)

    def activation(xy, text, name):
        ax.add_patch(
            FancyBboxPatch(
                (xy[0] - 0.42, xy[1] - 0.25),
                0.84,
                0.5,
                boxstyle="round,pad=0.05",
                fc="#fecaca",
                ec="0.25",
                lw=1.2,
                zorder=3,
            )
        )
        ax.text(*xy, text, ha="center", va="center", fontsize=10, zorder=4)
        ax.text(xy[0] - 0.5, xy[1] + 0.45, name, ha="right", va="center", fontsize=10)

    ax.add_patch(
        FancyBboxPatch((1.3, 0.55), 8.3, 5.0, boxstyle="round,pad=0.1", fc="#f8fafc", ec="0.6")
    )
    # the cell state runs along the top: c_{t-1} -> x f_t -> + i_t g_t -> c_t
    ax.plot([0.2, 10.8], [4.9, 4.9], **line)
    arrow_to((10.4, 4.9), (10.9, 4.9))
    ax.text(0.2, 5.2, "$c_{t-1}$", fontsize=12)
    ax.text(10.3, 5.2, "$c_t$", fontsize=12)
    # inputs: h_{t-1} from the left, x_t from below, concatenated into v_t
    ax.plot([0.2, 2.0], [1.0, 1.0], **line)
    ax.plot([2.0, 2.0], [0.0, 1.0], **line)
    ax.text(0.2, 1.25, "$h_{t-1}$", fontsize=12)
    ax.text(2.1, 0.1, "$x_t$", fontsize=12)
    ax.plot([2.0, 2.0], [1.0, 2.0], **line)
    arrow_to((2.0, 2.0), (2.55, 2.0))
    ax.text(1.9, 1.5, "$v_t=[x_t,h_{t-1}]$", ha="right", fontsize=10)
    # the gate map: the only part that differs between the four models
    ax.add_patch(
        FancyBboxPatch(
            (2.6, 1.6),
            5.6,
            0.8,
            boxstyle="round,pad=0.05",
            fc="#dbeafe",
            ec="#1d4ed8",
            lw=2,
            zorder=2,
        )
    )
    ax.text(
        5.4,
        2.0,
        "gate map $G(v_t)$: $4m$ pre-activations",
        ha="center",
        va="center",
        fontsize=11,
        color="#1e3a8a",
    )
    gates = {"f": (3.2, 3.2), "i": (4.6, 3.2), "g": (5.8, 3.2), "o": (7.4, 3.2)}
    for name, (gx, gy) in gates.items():
        arrow_to((gx, 2.45), (gx, gy - 0.3))
    activation(gates["f"], r"$\sigma$", "$f_t$")
    activation(gates["i"], r"$\sigma$", "$i_t$")
    activation(gates["g"], r"$\tanh$", r"$\tilde C_t$")
    activation(gates["o"], r"$\sigma$", "$o_t$")
    # forget: c_{t-1} * f_t
    arrow_to((3.2, 3.5), (3.2, 4.66))
    node((3.2, 4.9), r"$\times$")
    # input: i_t * g_t added to the cell state
    ax.plot([4.6, 4.6, 5.0], [3.5, 4.0, 4.0], **line)
    ax.plot([5.8, 5.8, 5.4], [3.5, 4.0, 4.0], **line)
    node((5.2, 4.0), r"$\times$")
    arrow_to((5.2, 4.22), (5.2, 4.66))
    node((5.2, 4.9), "+")
    # output: h_t = o_t * tanh(c_t)
    ax.plot([8.7, 8.7], [4.9, 4.35], **line)
    ax.add_patch(
        FancyBboxPatch(
            (8.3, 3.85), 0.8, 0.45, boxstyle="round,pad=0.05", fc="#fecaca", ec="0.25", zorder=3
        )
    )
    ax.text(8.7, 4.07, r"$\tanh$", ha="center", va="center", fontsize=10, zorder=4)
    arrow_to((8.7, 3.83), (8.7, 3.42))
    arrow_to((7.84, 3.2), (8.48, 3.2))
    node((8.7, 3.2), r"$\times$")
    ax.plot([8.7, 8.7, 10.4], [2.98, 1.0, 1.0], **line)
    arrow_to((10.4, 1.0), (10.9, 1.0))
    ax.text(10.0, 1.25, "$h_t$", fontsize=12)
    ax.text(
        5.4,
        5.85,
        r"$c_t = f_t\odot c_{t-1} + i_t\odot\tilde C_t$,   $h_t = o_t\odot\tanh(c_t)$",
        ha="center",
        fontsize=11,
    )

    side = fig.add_axes([0.69, 0.08, 0.30, 0.84])
    side.axis("off")
    side.text(0.0, 1.0, "the blue box in each model", fontsize=11, fontweight="bold", va="top")
    for k, (model, text) in enumerate(gate_maps.items()):
        y = 0.84 - k * 0.22
        side.text(0.0, y, model, fontsize=10, fontweight="bold", va="top", color="#1e3a8a")
        side.text(0.0, y - 0.07, text, fontsize=9, va="top")
    return fig
