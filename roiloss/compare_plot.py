"""``roiloss compare --plot``: one box with both sides' bins, sample points and cell weights overlaid,
in the model pixels of side a (docs/semantics.md §14)."""

from __future__ import annotations



def plot_comparison(result, table, path, roi=None) -> None:
    """Draw the box ``roi`` (a roi_id; default: the box that differs most) to ``path`` (.png, .svg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from .api import grid
    from .errors import InputError
    from .writers import atomic_output

    compared = result.compared
    if roi is None:
        if not len(compared):
            raise InputError("plot: no box could be compared")
        index = int(compared["max_weight_diff"].to_numpy().argmax())
        row = compared.iloc[index]
    else:
        match = result.rows[result.rows["roi_id"].astype(str) == str(roi)]
        if not len(match):
            raise InputError(f"plot: no box with roi_id {roi}")
        row = match.iloc[0]
    box = table[table["roi_id"].astype(str) == str(row["roi_id"])].head(1)
    fig, ax = plt.subplots(figsize=(7, 7))
    for name, semantics, colour, marker in (("a", result.a, "tab:blue", "o"), ("b", result.b, "tab:orange", "x")):
        cells = grid(box, detail="cells", semantics=semantics)
        samples = grid(box, detail="samples", semantics=semantics)
        if not len(cells):
            continue
        stride = float(cells["stride"].iloc[0])
        weight = cells.groupby(["cell_y", "cell_x"])["weight"].sum()
        top = weight.max()
        for (cy, cx), w in weight.items():
            ax.add_patch(Rectangle((cx * stride, cy * stride), stride, stride, color=colour, alpha=0.35 * w / top,
                                   linewidth=0))
        ax.scatter(samples["x"] * stride, samples["y"] * stride, s=12, c=colour, marker=marker,
                   label=f"{name}: {semantics.methods[0]} (stride {stride:g})")
    scale = result.a.resize.frame(*(box[c].to_numpy(float) for c in ("x1", "y1", "x2", "y2")),
                                  box["image_width"].to_numpy(float), box["image_height"].to_numpy(float)) \
        if result.a.resize.active else None
    x1, y1, x2, y2 = ((getattr(scale, c)[0] if scale is not None else float(box[c].iloc[0])) for c in ("x1", "y1", "x2", "y2"))
    ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor="black", linewidth=1.5))
    ax.set_aspect("equal")
    ax.invert_yaxis()
    ax.autoscale_view()
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(f"roi_id {row['roi_id']}: max weight difference {row['max_weight_diff']:.4f}", fontsize=10)
    ax.set_xlabel("x (model pixels of side a)")
    suffix = str(path).rsplit(".", 1)[-1].lower()
    with atomic_output(str(path), binary=True) as stream:
        fig.savefig(stream, format="svg" if suffix == "svg" else "png", dpi=110)
    plt.close(fig)
