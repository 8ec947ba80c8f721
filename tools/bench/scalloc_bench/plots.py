# gnuplot charts of a suite run: time and RSS bar charts (configurations x allocators, relative to the
# baseline allocator) and throughput against threads for threadtest and larson. The .dat and .gp files stay
# next to the images so a chart can be restyled and redrawn by hand.
import shutil
import subprocess

from scalloc_bench.report import SCALING_WORKLOADS


def terminal():
    """(terminal, file extension): pngcairo if this gnuplot has it, else png, else svg; None without any."""
    if not shutil.which("gnuplot"):
        return None
    for name, extension in (("pngcairo", "png"), ("png", "png"), ("svg", "svg")):
        probe = subprocess.run(["gnuplot"], input=f"set terminal {name}\n", capture_output=True, text=True,
                               check=False)
        if probe.returncode == 0 and not probe.stderr.strip():
            return name, extension
    return None


def _write_table(path, header, records):
    with open(path, "w", encoding="utf-8") as out:
        out.write(" ".join(header) + "\n")
        for record in records:
            out.write(" ".join(record) + "\n")


def _render(out_dir, stem, script, term):
    name, extension = term
    image = out_dir / f"{stem}.{extension}"
    text = (f"set terminal {name} size 1400,650\nset termoption noenhanced\nset output '{image.name}'\n"
            + script)
    (out_dir / f"{stem}.gp").write_text(text, encoding="utf-8")
    result = subprocess.run(["gnuplot", f"{stem}.gp"], cwd=out_dir, capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        return None, result.stderr.strip()
    return image, None


def _bar_chart(out_dir, stem, title, rows, configs, names, field, term):
    records = []
    for workload, threads in configs:
        values = []
        for name in names:
            row = rows[(workload.name, threads, name)]
            value = getattr(row, field)
            values.append(f"{value:.4f}" if row.usable and value > 0 else "-")
        records.append([f"{workload.name}/t{threads}"] + values)
    _write_table(out_dir / f"{stem}.dat", ["config"] + names, records)
    series = ", ".join(
        (f"'{stem}.dat' using {i + 2}:xtic(1)" if i == 0 else f"'' using {i + 2}")
        + f" title columnheader({i + 2})" for i in range(len(names)))
    script = (f"set title '{title}'\n"
              "set style data histograms\nset style histogram clustered gap 1\n"
              "set style fill solid 0.85 border -1\nset boxwidth 0.9\n"
              "set datafile missing '-'\nset xtics rotate by -40 scale 0 font ',9'\n"
              "set grid ytics\nset key outside right top\nset yrange [0:*]\n"
              "set arrow from graph 0, first 1 to graph 1, first 1 nohead dashtype 2\n"
              f"plot {series}\n")
    return _render(out_dir, stem, script, term)


def _scaling_chart(out_dir, workload, rows, names, thread_counts, term):
    records = []
    for threads in thread_counts:
        values = []
        for name in names:
            row = rows.get((workload, threads, name))
            values.append(f"{row.mops_per_s:.4f}" if row and row.usable else "-")
        records.append([str(threads)] + values)
    stem = f"scaling_{workload}"
    _write_table(out_dir / f"{stem}.dat", ["threads"] + names, records)
    series = ", ".join(f"'{stem}.dat' using 1:{i + 2} with linespoints lw 2 title columnheader({i + 2})"
                       for i in range(len(names)))
    script = (f"set title '{workload}: throughput against threads (higher is better)'\n"
              "set xlabel 'threads'\nset ylabel 'million allocator ops per second'\n"
              "set datafile missing '-'\nset grid\nset key outside right top\nset yrange [0:*]\n"
              f"set xtics ({', '.join(str(t) for t in thread_counts)})\n"
              f"plot {series}\n")
    return _render(out_dir, stem, script, term)


def draw(out_dir, rows, configs, names, baseline, runs, thread_counts):
    """Draws all charts into out_dir; returns (images, notes)."""
    term = terminal()
    if term is None:
        return [], ["gnuplot (with a png or svg terminal) not found: plots skipped"]
    images, notes = [], []
    note = f"relative to {baseline} (median of {runs}; lower is better)"
    jobs = [
        lambda: _bar_chart(out_dir, "time", f"Wall time {note}", rows, configs, names, "time_ratio", term),
        lambda: _bar_chart(out_dir, "rss", f"Peak RSS {note}", rows, configs, names, "rss_ratio", term),
    ]
    if len(thread_counts) > 1:
        for workload in SCALING_WORKLOADS:
            if any(w.name == workload for w, _ in configs):
                jobs.append(lambda w=workload: _scaling_chart(out_dir, w, rows, names, thread_counts, term))
    for job in jobs:
        image, error = job()
        if image:
            images.append(image)
        else:
            notes.append(f"gnuplot failed: {error}")
    return images, notes
