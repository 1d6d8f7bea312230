"""One palette for every panel: colours per architecture and per nonlinearity, markers, order."""
from __future__ import annotations

import matplotlib

ARCH_ORDER: tuple[str, ...] = ("vanilla", "gru", "lstm", "ugrnn")
ARCH_LABELS: dict[str, str] = {"vanilla": "Vanilla", "gru": "GRU", "lstm": "LSTM", "ugrnn": "UGRNN"}
ARCH_COLORS: dict[str, str] = {"vanilla": "#4C72B0", "gru": "#DD8452", "lstm": "#55A868", "ugrnn": "#C44E52"}

ACT_ORDER: tuple[str, ...] = ("tanh", "relu")
ACT_LABELS: dict[str, str] = {"tanh": "tanh", "relu": "ReLU"}
ACT_COLORS: dict[str, str] = {"tanh": "#8172B3", "relu": "#937860"}
ACT_MARKERS: dict[str, str] = {"tanh": "o", "relu": "s"}

TRAINED_MARKERS: dict[bool, str] = {True: "o", False: "X"}
UNSTABLE_COLORS: tuple[str, ...] = ("#1a1a1a", "#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00")
CONTEXT_CMAPS: tuple[str, ...] = ("Blues", "Oranges")
FREQ_CMAP = "viridis"
DIVERGING_CMAP = "coolwarm"
OTHER_COLOR = "#999999"


def arch_color(arch: str) -> str:
    return ARCH_COLORS.get(arch, OTHER_COLOR)


def act_color(act: str) -> str:
    return ACT_COLORS.get(act, OTHER_COLOR)


def unstable_color(n: int) -> str:
    return UNSTABLE_COLORS[min(int(n), len(UNSTABLE_COLORS) - 1)]


def order_key(arch: str, act: str) -> tuple[int, int]:
    """Sort key: activation first (tanh, relu), then architecture in ARCH_ORDER."""
    a = ARCH_ORDER.index(arch) if arch in ARCH_ORDER else len(ARCH_ORDER)
    b = ACT_ORDER.index(act) if act in ACT_ORDER else len(ACT_ORDER)
    return (b, a)


def style() -> None:
    """Apply the common matplotlib/seaborn style (call before drawing)."""
    import seaborn as sns
    sns.set_theme(context="paper", style="ticks", font_scale=1.0)
    matplotlib.rcParams.update({"pdf.fonttype": 42, "axes.titlesize": 9, "axes.labelsize": 8,
                                "xtick.labelsize": 7, "ytick.labelsize": 7, "legend.fontsize": 7,
                                "figure.dpi": 100, "savefig.dpi": 150})
