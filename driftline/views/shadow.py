"""A shadow version's comparison in one line: its agreement with the answering versions
on a window, or its online metric beside theirs on the same labelled rows."""


def shadow_text(found: dict) -> str:
    if "difference" in found:
        d = found["difference"]
        metric = {"f1_score": "F1", "rmse": "RMSE"}.get(found["metric"], found["metric"])
        return (f"shadow {found['version']} online {metric} {found['shadow']:.3f} against the answering "
                f"version's {found['served']:.3f} on the same {found['rows']} labelled rows (difference "
                f"{d['value']:+.3f}, paired interval {d['low']:+.3f} to {d['high']:+.3f})")
    parts = [f"shadow {found['version']} on {found['rows']} rows"]
    if found.get("agreement") is not None:
        parts.append(f"agrees on {found['agreement']:.1%} of decisions")
    if found.get("distance") is not None:
        parts.append(f"prediction distance {found['distance']:.3f}")
    if found.get("mean_abs_difference") is not None:
        parts.append(f"mean absolute difference {found['mean_abs_difference']:.4g}")
    if found.get("failed"):
        parts.append(f"{found['failed']} rows failed")
    return ", ".join(parts)
