"""HdrHistogram percentile-distribution files (.hgrm), as bench_echo --hgrm writes them:

       Value     Percentile TotalCount 1/(1-Percentile)

      27.631 0.000000000000          1           1.00
      ...
    8531.845 1.000000000000       2860
#[Mean    =      104.926, StdDeviation   =      530.028]

Values are round-trip times in microseconds."""

from .results import ResultError


def read_hgrm(path):
    """Returns [(percentile 0..1, value_us)] in file order; ResultError on anything else,
    naming the file and line, so a truncated or hand-edited file is never half-plotted."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ResultError(path, f"cannot read: {e}") from e
    points = []
    saw_header = False
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith("Value"):
            saw_header = True
            continue
        fields = text.split()
        try:
            value, percentile = float(fields[0]), float(fields[1])
        except (IndexError, ValueError):
            raise ResultError(path, f"line {number}: expected 'value percentile count ...', "
                                    f"got {line!r}") from None
        if not 0.0 <= percentile <= 1.0:
            raise ResultError(path, f"line {number}: percentile {percentile} outside 0..1")
        if points and percentile < points[-1][0]:
            raise ResultError(path, f"line {number}: percentiles must not decrease")
        points.append((percentile, value))
    if not saw_header or not points:
        raise ResultError(path, "not an HdrHistogram percentile distribution "
                                "(no 'Value Percentile' header or no data rows)")
    return points
