# Turns the raw runs into per-(workload, threads, allocator) medians, checks that checksums agree across
# allocators, and renders the text table, geometric means, thread scaling, JSON and CSV.
import csv
import dataclasses
import json
import math
import statistics

MIB = 1024.0


@dataclasses.dataclass
class Row:
    workload: str
    threads: int
    allocator: str
    runs_ok: int = 0
    runs_failed: int = 0
    skipped: bool = False
    time_s: float = 0.0       # median wall time
    time_min_s: float = 0.0
    time_max_s: float = 0.0
    cpu_s: float = 0.0        # median user+system time
    rss_mib: float = 0.0      # median peak RSS
    ops: int = 0
    checksum: int = 0
    time_ratio: float = 0.0   # vs the baseline allocator on the same row (0: no baseline)
    rss_ratio: float = 0.0
    extra: dict = dataclasses.field(default_factory=dict)  # other key=value lines (frag's phase RSS, ...)

    @property
    def usable(self):
        return self.runs_ok > 0 and not self.skipped

    @property
    def mops_per_s(self):
        return self.ops / self.time_s / 1e6 if self.usable and self.time_s > 0 else 0.0


_STANDARD_KEYS = {"checksum", "ops", "peak_rss_kib", "skipped"}


def summarize(runs, configs, names, baseline):
    """Rows keyed by (workload, threads, allocator), with medians over the successful runs."""
    rows = {}
    for workload, threads in configs:
        for name in names:
            rows[(workload.name, threads, name)] = Row(workload.name, threads, name)
    grouped = {}
    for run in runs:
        grouped.setdefault((run.workload, run.threads, run.allocator), []).append(run)
    for key, group in grouped.items():
        row = rows[key]
        good = [r for r in group if r.ok]
        row.runs_ok, row.runs_failed = len(good), len(group) - len(good)
        if not good:
            continue
        row.skipped = any(r.skipped for r in good)
        times = [r.wall_s for r in good]
        row.time_s, row.time_min_s, row.time_max_s = statistics.median(times), min(times), max(times)
        row.cpu_s = statistics.median(r.cpu_s for r in good)
        row.rss_mib = statistics.median(r.rss_kib for r in good) / MIB
        row.ops = good[0].values.get("ops", 0)
        row.checksum = good[0].values["checksum"]
        for key_name, value in good[0].values.items():
            if key_name not in _STANDARD_KEYS:
                row.extra[key_name] = statistics.median(
                    r.values.get(key_name, value) for r in good) if isinstance(value, int) else value
    for (workload, threads, name), row in rows.items():
        base = rows.get((workload, threads, baseline))
        if row.usable and base is not None and base.usable:
            row.time_ratio = row.time_s / base.time_s if base.time_s > 0 else 0.0
            row.rss_ratio = row.rss_mib / base.rss_mib if base.rss_mib > 0 else 0.0
    return rows


def checksum_errors(runs, configs):
    """One error line per configuration whose successful runs do not all print the same checksum/ops."""
    errors = []
    for workload, threads in configs:
        seen = {}
        for run in runs:
            if run.workload == workload.name and run.threads == threads and run.ok:
                seen.setdefault(run.allocator, set()).add((run.values["checksum"], run.values.get("ops")))
        distinct = set().union(*seen.values()) if seen else set()
        if len(distinct) > 1:
            detail = ", ".join(
                f"{name}=" + "/".join(f"{c}(ops {o})" for c, o in sorted(pairs, key=str))
                for name, pairs in seen.items())
            errors.append(f"error: checksum mismatch for {workload.name} t={threads}: {detail}")
    return errors


def geomean(values):
    values = [v for v in values if v > 0]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else 0.0


def complete_configs(rows, configs, names):
    """Configurations where every allocator has a usable result: the rows geometric means are taken over."""
    return [(w, t) for w, t in configs if all(rows[(w.name, t, n)].usable for n in names)]


def geomeans(rows, configs, names):
    """Per allocator: geometric means of time, time ratio, RSS and RSS ratio over the complete rows."""
    common = complete_configs(rows, configs, names)
    result = {}
    for name in names:
        selected = [rows[(w.name, t, name)] for w, t in common]
        result[name] = {
            "rows": len(selected),
            "time_s": geomean([r.time_s for r in selected]),
            "time_ratio": geomean([r.time_ratio for r in selected]),
            "rss_mib": geomean([r.rss_mib for r in selected]),
            "rss_ratio": geomean([r.rss_ratio for r in selected]),
        }
    return result


SCALING_WORKLOADS = ("threadtest", "larson")


def scaling(rows, names, thread_counts):
    """Throughput (ops/s) at 2 threads over 1 thread: {workload: {allocator: ratio}}."""
    if 1 not in thread_counts or 2 not in thread_counts:
        return {}
    result = {}
    for workload in SCALING_WORKLOADS:
        ratios = {}
        for name in names:
            one, two = rows.get((workload, 1, name)), rows.get((workload, 2, name))
            if one and two and one.usable and two.usable and one.mops_per_s > 0:
                ratios[name] = two.mops_per_s / one.mops_per_s
        if ratios:
            result[workload] = ratios
    return result


def _cell(row):
    if row.runs_ok == 0:
        return "failed" if row.runs_failed else "-"
    if row.skipped:
        return "skipped"
    ratio = f"({row.time_ratio:.2f}x)" if row.time_ratio else ""
    return f"{row.time_s:7.3f} {ratio:>8} {row.rss_mib:7.1f}"


def format_table(rows, configs, names, baseline, runs, geo, scale):
    """The text report: one line per configuration, geometric means, then the thread scaling ratios."""
    label_width = max([len(w.name) for w, _ in configs] + [17])
    width = 24
    lines = [f"Median of {runs} run(s): wall time in s (ratio vs {baseline}), peak RSS in MiB.", ""]
    lines.append(f"{'workload':<{label_width}} {'t':>2} " + "".join(f" | {n:^{width}}" for n in names))
    subheader = f"{'time':>7} {'(ratio)':>8} {'RSS':>7}"
    lines.append(f"{'':<{label_width}} {'':>2} " + "".join(f" | {subheader:>{width}}" for _ in names))
    lines.append("-" * len(lines[-1]))
    for workload, threads in configs:
        cells = "".join(f" | {_cell(rows[(workload.name, threads, n)]):>{width}}" for n in names)
        lines.append(f"{workload.name:<{label_width}} {threads:>2} " + cells)
    lines.append("-" * len(lines[2]))
    count = geo[names[0]]["rows"] if names else 0
    geo_cells = "".join(
        f" | {geo[n]['time_s']:7.3f} {'(%.2fx)' % geo[n]['time_ratio']:>8} {geo[n]['rss_mib']:7.1f}"
        for n in names)
    lines.append(f"{'geomean':<{label_width}} {'':>2} " + geo_cells)
    rss_cells = "".join(f" | {'RSS ratio %.2fx' % geo[n]['rss_ratio']:>{width}}" for n in names)
    lines.append(f"{'geomean RSS ratio':<{label_width}} {'':>2} " + rss_cells)
    lines.append(f"(geometric means over the {count} row(s) where every allocator has a result)")
    if scale:
        lines += ["", "Throughput, 2 threads / 1 thread (ops/s ratio; 2.00 = perfect on two cores):"]
        lines.append(f"{'workload':<{label_width}}    " + "".join(f" | {n:^{width}}" for n in names))
        for workload, ratios in scale.items():
            cells = "".join(
                f" | {('%.2fx' % ratios[n]) if n in ratios else '-':>{width}}" for n in names)
            lines.append(f"{workload:<{label_width}}    " + cells)
    return "\n".join(lines)


def write_json(path, meta, rows, runs, geo, scale, errors):
    document = {
        "meta": meta,
        "rows": [dataclasses.asdict(r) | {"mops_per_s": r.mops_per_s} for r in rows.values()],
        "geomean": geo,
        "scaling_2t_over_1t": scale,
        "errors": errors,
        "runs": [{k: v for k, v in dataclasses.asdict(r).items() if k != "stderr"} for r in runs],
    }
    with open(path, "w", encoding="utf-8") as out:
        json.dump(document, out, indent=2, sort_keys=False)
        out.write("\n")


def write_csv(results_path, runs_path, rows, runs):
    fields = ["workload", "threads", "allocator", "runs_ok", "runs_failed", "skipped", "time_s", "time_min_s",
              "time_max_s", "cpu_s", "rss_mib", "ops", "mops_per_s", "checksum", "time_ratio", "rss_ratio",
              "extra"]
    with open(results_path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(fields)
        for row in rows.values():
            record = dataclasses.asdict(row) | {"mops_per_s": row.mops_per_s}
            record["extra"] = " ".join(f"{k}={v}" for k, v in sorted(row.extra.items()))
            writer.writerow([record[f] for f in fields])
    run_fields = ["workload", "threads", "allocator", "index", "wall_s", "cpu_s", "rss_kib", "maxrss_kib",
                  "status", "timed_out", "checksum", "ops"]
    with open(runs_path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(run_fields)
        for run in runs:
            record = dataclasses.asdict(run)
            record["checksum"] = run.values.get("checksum", "")
            record["ops"] = run.values.get("ops", "")
            writer.writerow([record[f] for f in run_fields])
