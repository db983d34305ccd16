"""Charts as PNG bytes, for the self-contained HTML pages (error analysis, the
monitoring dashboard, the replay's timeline)."""
import io


def png(figure, dpi: int = 90) -> bytes:
    """The figure as PNG bytes; the figure is closed (pyplot keeps every open one)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()
