"""Turn a results file (bench/results/*.jsonl) into BENCHMARKS.md's generated section
and bench/plots/*.png.

    .venv/bin/python bench/report.py [RESULTS.jsonl] [--no-write]
    .venv/bin/python bench/report.py AFTER.jsonl --compare BEFORE.jsonl   (prints a table)

Medians across repetitions; every ratio pairs two targets measured in the same run.
BENCHMARKS.md keeps its hand-written text: only generated sections are replaced. A full
run (every target and scenario, full sizes) replaces the part between
`<!-- bench:begin -->` and `<!-- bench:end -->`; a run with the target
webchat-eventlet-base (before and after a change, BENCH_BASE_DIR) the part between
`<!-- bench19:begin -->` and `<!-- bench19:end -->`, issue 19's; a run with the target
webchat-eventlet-noindex (the send path without the search index) or the `search`
scenario the part between `<!-- bench21:begin -->` and `<!-- bench21:end -->`, issue
21's; a run of the `capacity` scenario the part between `<!-- bench25:begin -->` and
`<!-- bench25:end -->`, issue 25's; a run with the target webchat-2nodes (issue 25 item
4: the `relay` scenario and the capacity steps on two nodes beside one) only the part
between `<!-- bench25nodes:begin -->` and `<!-- bench25nodes:end -->`; a run of the
`login_storm` scenario the part between `<!-- bench25storm:begin -->` and
`<!-- bench25storm:end -->`; any other run, partial, writes nothing (`--no-write` prints
its tables).
"""

import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
PLOTS = BENCH / "plots"
DOC = ROOT / "BENCHMARKS.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
BEGIN19, END19 = "<!-- bench19:begin -->", "<!-- bench19:end -->"
BEGIN21, END21 = "<!-- bench21:begin -->", "<!-- bench21:end -->"
BEGIN25, END25 = "<!-- bench25:begin -->", "<!-- bench25:end -->"
BEGIN25N, END25N = "<!-- bench25nodes:begin -->", "<!-- bench25nodes:end -->"
CLUSTER = "webchat-2nodes"
STORM_BEGIN, STORM_END = "<!-- bench25storm:begin -->", "<!-- bench25storm:end -->"
# Issue 25's capacity scenario: its action types in the order of their weights.
ACTIONS = ["switch_room", "scroll", "post", "typing", "open_direct", "react", "reconnect", "edit", "search", "delete"]
BASE = "webchat-eventlet-base"
NOINDEX = "webchat-eventlet-noindex"
ORDER = [
    "bare-eventlet",
    "bare-gevent",
    "node",
    BASE,
    NOINDEX,
    "webchat-eventlet",
    "webchat-gevent",
    "webchat-sqlite",
    CLUSTER,
]
# What a full run measures: only such a run replaces the generated section.
FULL_TARGETS = set(ORDER) - {BASE, CLUSTER}
FULL_SCENARIOS = {"idle", "fanout", "rtt", "history", "roomlist"}
COLORS = {
    BASE: "#8c564b",
    "bare-eventlet": "#1f77b4",
    "bare-gevent": "#17becf",
    "node": "#2ca02c",
    "webchat-eventlet": "#d62728",
    "webchat-gevent": "#ff7f0e",
    "webchat-sqlite": "#9467bd",
}


def load(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    meta = next((r for r in rows if r["scenario"] == "meta"), {})
    end = next((r for r in rows if r["scenario"] == "end"), {})
    return meta, end, [r for r in rows if r["scenario"] not in ("meta", "end")]


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, digits=1):
    if value is None:
        return "–"
    if isinstance(value, (int,)) or (isinstance(value, float) and value >= 1000):
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def targets_in(rows):
    present = {r["target"] for r in rows if "target" in r}
    return [t for t in ORDER if t in present]


class Results:
    def __init__(self, rows):
        self.rows = rows

    def where(self, **kw):
        return [r for r in self.rows if all(r.get(k) == v for k, v in kw.items())]

    def median(self, field, **kw):
        return med([r.get(field) for r in self.where(**kw)])

    def total(self, field, **kw):
        return sum(r.get(field) or 0 for r in self.where(**kw))


def idle_table(res, targets):
    counts = sorted({r["n"] for r in res.where(scenario="idle")})
    if not counts:
        return []
    lines = [
        "| target | " + " | ".join(f"N = {n:,}: KiB/socket · connects/s · held" for n in counts) + " |",
        "| --- | " + " | ".join("---" for _ in counts) + " |",
    ]
    for t in targets:
        if not res.where(scenario="idle", target=t):
            continue
        cells = []
        for n in counts:
            rows = res.where(scenario="idle", target=t, n=n)
            if not rows:
                cells.append("–")
                continue
            cells.append(
                f"{fmt(res.median('rss_per_socket_kb', scenario='idle', target=t, n=n))} · "
                f"{fmt(res.median('connect_rate', scenario='idle', target=t, n=n), 0)} · "
                f"{min(r['connected'] for r in rows):,}"
            )
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    return lines


def fanout_rows(res, target, layout, rate):
    """The steps at `rate`: its own fixed-rate steps if the run had them (longer, for a
    steadier p99), else the ladder's."""
    rows = [r for r in res.where(scenario="fanout", target=target, layout=layout) if r["offered_rate"] == rate]
    return [r for r in rows if r.get("why") == "fixed"] or rows


def fanout_table(res, targets):
    lines = []
    for layout in sorted({r["layout"] for r in res.where(scenario="fanout_max")}):
        lines += [
            f"**{layout}** (rooms x members): max sustained = highest offered rate with p99 <= 200 ms and nothing "
            "lost, duplicated, misrouted or refused.",
            "",
            "| target | max sustained sends/s | max sustained deliveries/s | p50 / p99 ms @ 50 sends/s | "
            "p50 / p99 ms @ 200 sends/s | server CPU @ 50 sends/s (cores) | lost · dup · misrouted (final, all steps) | "
            "undelivered at step end · disconnects | set-up s · member lists |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for t in targets:
            maxes = res.where(scenario="fanout_max", target=t, layout=layout)
            if not maxes:
                continue
            cells = [
                fmt(med([m["max_sends_per_s"] for m in maxes]), 0),
                fmt(med([m["max_deliveries_per_s"] for m in maxes]), 0),
            ]
            for rate in (50, 200):
                rows = fanout_rows(res, t, layout, rate)
                cells.append(
                    f"{fmt(med([r['p50_ms'] for r in rows]))} / {fmt(med([r['p99_ms'] for r in rows]))}"
                    if rows
                    else "–"
                )
            cells.append(fmt(med([r.get("server_cpu") for r in fanout_rows(res, t, layout, 50)]), 2))
            cells.append(" · ".join(str(sum(m[k] for m in maxes)) for k in ("lost", "duplicated", "misrouted")))
            steps = res.where(scenario="fanout", target=t, layout=layout)
            at_end = sum(m.get("lost_at_step_ends", m.get("lost", 0)) for m in maxes)
            disc = sum(m.get("disconnects") or 0 for m in maxes)
            cells.append(f"{at_end:,} · {disc:,}" if steps else "–")
            # Set-up: every member connects (50 at a time) and opens its room (older runs: –).
            setup = med([m.get("setup_s") for m in maxes])
            cells.append(
                f"{fmt(setup, 2)} · {fmt(med([m.get('members_events_setup') for m in maxes]), 0)}"
                if setup is not None
                else "–"
            )
            lines.append(f"| {t} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def rtt_table(res, targets):
    lines = [
        "| target | acks/s | p50 ms | p99 ms | server CPU (cores) | server CPU per ack (ms) | lost · dup · misrouted |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for t in targets:
        if not res.where(scenario="rtt", target=t):
            continue
        acks, cpu = (
            res.median("acks_per_s", scenario="rtt", target=t),
            res.median("server_cpu", scenario="rtt", target=t),
        )
        lines.append(
            f"| {t} | {fmt(acks)} | "
            f"{fmt(res.median('p50_ms', scenario='rtt', target=t), 2)} | {fmt(res.median('p99_ms', scenario='rtt', target=t), 2)} | "
            f"{fmt(cpu, 2)} | {fmt(None if not acks or cpu is None else 1000 * cpu / acks, 2)} | "
            + " · ".join(str(res.total(k, scenario="rtt", target=t)) for k in ("lost", "duplicated", "misrouted"))
            + " |"
        )
    return lines


def http_tables(res):
    lines = []
    sizes = sorted({r["messages"] for r in res.where(scenario="history")})
    if sizes:
        lines += [
            "| history page (MariaDB) | " + " | ".join(f"{s:,} messages: p50 / p99 ms" for s in sizes) + " |",
            "| --- | " + " | ".join("---" for _ in sizes) + " |",
        ]
        for page in ("latest", "deep"):
            lines.append(
                f"| {page}{' (before_seq=101)' if page == 'deep' else ''} | "
                + " | ".join(
                    f"{fmt(res.median('p50_ms', scenario='history', page=page, messages=s), 2)} / "
                    f"{fmt(res.median('p99_ms', scenario='history', page=page, messages=s), 2)}"
                    for s in sizes
                )
                + " |"
            )
        seeds = {r["messages"]: r.get("seed_s") for r in res.where(scenario="history", page="latest")}
        lines += [
            "",
            "Seeding (INSERT ... SELECT batches): "
            + ", ".join(f"{s:,} messages in {seeds[s]} s" for s in sizes if seeds.get(s) is not None),
            "",
        ]
    lines += changes_table(res)
    sizes = sorted({r["rooms"] for r in res.where(scenario="roomlist")})
    if sizes:
        lines += ["| GET /api/v1/rooms (20 unread in each room) | p50 ms | p99 ms |", "| --- | --- | --- |"]
        for s in sizes:
            lines.append(
                f"| {s} rooms | {fmt(res.median('p50_ms', scenario='roomlist', rooms=s), 2)} | "
                f"{fmt(res.median('p99_ms', scenario='roomlist', rooms=s), 2)} |"
            )
    return lines


def changes_table(res):
    """Issue 19's change feed: GET /changes from before the changes made over each history
    room, a page of each size, beside the history pages of the same room."""
    rows = res.where(scenario="changes")
    if not rows:
        return []
    sizes = sorted({r["messages"] for r in rows})
    limits = sorted({r["limit"] for r in rows})
    lines = [
        "| `GET /api/v1/rooms/<id>/changes?after_rev=` (MariaDB) | "
        + " | ".join(f"{s:,} messages: p50 / p99 ms" for s in sizes)
        + " |",
        "| --- | " + " | ".join("---" for _ in sizes) + " |",
    ]
    for limit in limits:
        lines.append(
            f"| limit={limit}{LIMIT_NOTES.get(limit, '')} | "
            + " | ".join(
                f"{fmt(res.median('p50_ms', scenario='changes', limit=limit, messages=s), 2)} / "
                f"{fmt(res.median('p99_ms', scenario='changes', limit=limit, messages=s), 2)}"
                for s in sizes
            )
            + " |"
        )
    made = {r["messages"]: r for r in rows}
    lines += [
        "",
        "after_rev = the room's last_rev before the changes; the changes went through the API, each to another "
        "message, evenly spread over the room's history, of every ten six reactions, three edits and one delete: "
        + ", ".join(f"{made[s]['changes']:,} changes to {s:,} messages in {made[s].get('make_s')} s" for s in sizes),
        "",
    ]
    return lines


# The page sizes of GET /changes that mean something of their own.
LIMIT_NOTES = {50: " (a history page's size)", 100: " (the default)", 500: " (the page's, on a reconnect)"}


def send_path_checks(res, base, least, against):
    """(target, measured, met) rows: webchat-eventlet's send-ack rate and fan-out 1x100
    max deliveries/s each at least `least` times `base`'s, in the same run ([] without it)."""
    if not res.where(target=base):
        return []
    after = res.median("acks_per_s", scenario="rtt", target="webchat-eventlet")
    before = res.median("acks_per_s", scenario="rtt", target=base)
    fan = {
        t: med([m["max_deliveries_per_s"] for m in res.where(scenario="fanout_max", target=t, layout="1x100")])
        for t in ("webchat-eventlet", base)
    }
    acks, deliveries = ratio(after, before), ratio(fan["webchat-eventlet"], fan[base])
    return [
        (
            f"send path: persisted send-ack rate >= {least}x {against}",
            f"{fmt(after)} / {fmt(before)} acks/s = {fmt(acks, 3)}x",
            acks is not None and acks >= least,
        ),
        (
            f"send path: fan-out 1x100 max deliveries/s >= {least}x {against}",
            f"{fmt(fan['webchat-eventlet'], 0)} / {fmt(fan[base], 0)} = {fmt(deliveries, 3)}x",
            deliveries is not None and deliveries >= least,
        ),
    ]


def issue19_checks(res):
    """(target, measured, met) rows for the performance targets of issue 19: the send path
    within 5% of the code before it (the target webchat-eventlet-base, same run), and the
    change feed as fast as a history page."""
    checks = send_path_checks(res, BASE, 0.95, "the code before issue 19's (webchat-eventlet-base)")
    rows = res.where(scenario="changes")
    if rows:
        size = max(r["messages"] for r in rows)
        limits = sorted({r["limit"] for r in rows if r["messages"] == size})
        limit = 100 if 100 in limits else limits[0]
        made = res.where(scenario="changes", messages=size)[0]["changes"]
        feed = res.median("p50_ms", scenario="changes", messages=size, limit=limit)
        for page in ("latest", "deep"):
            history = res.median("p50_ms", scenario="history", page=page, messages=size)
            r = ratio(feed, history)
            checks.append(
                (
                    f"/changes after {made:,} changes at {size:,} messages (limit={limit}) p50 <= 1.5x the "
                    f"history {page} page's",
                    f"{fmt(feed, 2)} / {fmt(history, 2)} ms = {fmt(r, 2)}x",
                    r is not None and r <= 1.5,
                )
            )
    return checks


def issue21_checks(res):
    """(target, measured, met) rows for issue 21: the send path with the search index
    within 10% of the same code without it (same run), and a rare term's p99 under
    100 ms at the largest size searched."""
    checks = send_path_checks(res, NOINDEX, 0.9, f"the same without the search index ({NOINDEX})")
    rows = res.where(scenario="search")
    if rows:
        size = max(r["messages"] for r in rows)
        rare = [r for r in rows if r["messages"] == size and r["query"].startswith("rare")]
        worst = max(rare, key=lambda r: r["p99_ms"]) if rare else None
        if worst:
            checks.append(
                (
                    f"search: a rare term's p99 at {size:,} messages < 100 ms (worst of {len(rare)} rare-term cases)",
                    f"{fmt(worst['p99_ms'], 1)} ms ({worst['query']} `{worst['q']}`, {worst['room']})",
                    worst["p99_ms"] < 100,
                )
            )
    return checks


def search_table(res):
    """p50 / p99 of each query at each size, in all the user's rooms, the busiest and a median one."""
    rows = res.where(scenario="search")
    if not rows:
        return []
    sizes = sorted({r["messages"] for r in rows})
    builds = {r["messages"]: r for r in res.where(scenario="search_build")}
    lines = []
    for size in sizes:
        built = builds.get(size)
        note = f" ({built['grams']:,} gram rows, built in {built['build_s']:.0f} s)" if built else ""
        here = [r for r in rows if r["messages"] == size]
        rooms = list(dict.fromkeys(r["room"] for r in here))
        searched = {r["room"]: r["searched"] for r in here}
        lines += [
            f"{size:,} messages{note}: p50 / p99 ms (hits on the first page)",
            "",
            "| query | " + " | ".join(f"{room} ({searched[room]:,})" for room in rooms) + " |",
            "| --- | " + " | ".join("---" for _ in rooms) + " |",
        ]
        for query in dict.fromkeys((r["query"], r["q"]) for r in here):
            cells = []
            for room in rooms:
                found = [r for r in here if (r["query"], r["q"]) == query and r["room"] == room]
                cells.append(
                    f"{fmt(found[0]['p50_ms'], 1)} / {fmt(found[0]['p99_ms'], 1)} ({found[0]['hits']})"
                    if found
                    else "–"
                )
            lines.append(f"| {query[0]} `{query[1]}` | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def target_checks(res):
    """(target, measured, met) rows for the targets of issue 7."""
    checks = []

    def fan_max(t, layout):
        return med([m["max_deliveries_per_s"] for m in res.where(scenario="fanout_max", target=t, layout=layout)])

    layouts = sorted({r["layout"] for r in res.where(scenario="fanout_max")})
    for layout in layouts:
        w, b, g = (
            fan_max("webchat-eventlet", layout),
            fan_max("bare-eventlet", layout),
            fan_max("webchat-gevent", layout),
        )
        r1, r2 = ratio(w, b), ratio(g, w)
        checks.append(
            (
                f"fan-out {layout}: webchat eventlet >= 0.7x bare eventlet max deliveries/s",
                f"{fmt(w, 0)} / {fmt(b, 0)} = {fmt(r1, 2)}x",
                r1 is not None and r1 >= 0.7,
            )
        )
        checks.append(
            (
                f"fan-out {layout}: webchat gevent >= 2.5x webchat eventlet",
                f"{fmt(g, 0)} / {fmt(w, 0)} = "
                + ("not a ratio: eventlet sustained no step" if w == 0 else f"{fmt(r2, 2)}x"),
                r2 is not None and w and r2 >= 2.5,
            )
        )
    wp = med([r["p99_ms"] for r in fanout_rows(res, "webchat-eventlet", "1x100", 50)])
    bp = med([r["p99_ms"] for r in fanout_rows(res, "bare-eventlet", "1x100", 50)])
    r = ratio(wp, bp)
    checks.append(
        (
            "p99 at 50 sends/s into 100 members <= 1.5x bare app's",
            f"{fmt(wp)} ms / {fmt(bp)} ms = {fmt(r, 2)}x",
            r is not None and r <= 1.5,
        )
    )
    w, b = (
        res.median("acks_per_s", scenario="rtt", target="webchat-eventlet"),
        res.median("acks_per_s", scenario="rtt", target="bare-eventlet"),
    )
    r = ratio(w, b)
    checks.append(
        (
            "persisted send-ack rate >= 0.4x bare app's echo rate",
            f"{fmt(w)} / {fmt(b)} acks/s = {fmt(r, 2)}x",
            r is not None and r >= 0.4,
        )
    )
    counts = sorted({x["n"] for x in res.where(scenario="idle")})
    if counts:
        n = counts[-1]
        w = res.median("rss_per_socket_kb", scenario="idle", target="webchat-eventlet", n=n)
        b = res.median("rss_per_socket_kb", scenario="idle", target="bare-eventlet", n=n)
        r = ratio(w, b)
        checks.append(
            (
                f"RSS per idle authenticated socket <= 1.2x bare app's (N = {n:,})",
                f"{fmt(w)} / {fmt(b)} KiB = {fmt(r, 2)}x",
                r is not None and r <= 1.2,
            )
        )
        held = [x["connected"] for x in res.where(scenario="idle", target="webchat-eventlet", n=n)]
        checks.append(
            (
                "10,000 sockets held by one webchat process",
                f"min held {min(held):,} of {n:,}" + ("" if n >= 10000 else " (this run did not try 10,000)")
                if held
                else "–",
                bool(held) and min(held) >= n and n >= 10000,
            )
        )
    sizes = sorted({x["messages"] for x in res.where(scenario="history")})
    if len(sizes) >= 2:
        lo, hi = sizes[0], sizes[-1]
        for page in ("latest", "deep"):
            a = res.median("p50_ms", scenario="history", page=page, messages=hi)
            b = res.median("p50_ms", scenario="history", page=page, messages=lo)
            r = ratio(a, b)
            checks.append(
                (
                    f"history {page} page at {hi:,} <= 1.5x at {lo:,}",
                    f"{fmt(a, 2)} / {fmt(b, 2)} ms = {fmt(r, 2)}x",
                    r is not None and r <= 1.5,
                )
            )
    sizes = sorted({x["rooms"] for x in res.where(scenario="roomlist")})
    if len(sizes) >= 2:
        a, b = (
            res.median("p50_ms", scenario="roomlist", rooms=sizes[-1]),
            res.median("p50_ms", scenario="roomlist", rooms=sizes[0]),
        )
        r = ratio(a, b)
        checks.append(
            (
                f"room list for {sizes[-1]} rooms <= 3x for {sizes[0]}",
                f"{fmt(a, 2)} / {fmt(b, 2)} ms = {fmt(r, 2)}x",
                r is not None and r <= 3,
            )
        )
    s, f = (
        res.median("acks_per_s", scenario="rtt", target="webchat-sqlite"),
        res.median("acks_per_s", scenario="rtt", target="webchat-eventlet"),
    )
    r = ratio(s, f)
    checks.append(
        (
            "`make run` (SQLite, no Redis) send-ack rate >= 0.5x the gunicorn full stack's",
            f"{fmt(s)} / {fmt(f)} acks/s = {fmt(r, 2)}x",
            r is not None and r >= 0.5,
        )
    )
    # Fan-out: the final counts of each layout (after the last step's backlog drained); the
    # step lines' `lost` is "not yet delivered when the step was judged".
    # Lines of an older load generator (no `sends` field) counted at step end: reported apart.
    web = [
        x
        for x in res.rows
        if x["scenario"] in ("fanout_max", "rtt", "idle") and str(x.get("target", "")).startswith("webchat")
    ]
    final = [x for x in web if x["scenario"] != "fanout_max" or "sends" in x]
    older = [x for x in web if x["scenario"] == "fanout_max" and "sends" not in x]
    bad = {k: sum(x.get(k) or 0 for x in final) for k in ("lost", "duplicated", "misrouted")}
    measured = ", ".join(f"{k} {v:,}" for k, v in bad.items())
    if older:
        reps = sorted({x.get("rep") for x in older})
        measured += (
            f" (reps {reps} ran an earlier load generator that judged fan-out loss at step end: "
            + ", ".join(f"{k} {sum(x.get(k) or 0 for x in older):,}" for k in ("lost", "duplicated", "misrouted"))
            + ")"
        )
    checks.append(
        ("zero lost, duplicated, misrouted (webchat, every step of every run)", measured, not any(bad.values()))
    )
    return checks


def plots(res, targets):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    PLOTS.mkdir(exist_ok=True)
    made = []
    for layout in sorted({r["layout"] for r in res.where(scenario="fanout")}):
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5))
        for t in targets:
            rows = res.where(scenario="fanout", target=t, layout=layout)
            if not rows:
                continue
            rates = sorted({r["offered_rate"] for r in rows})
            members = rows[0]["members"]
            offered = [rate * members for rate in rates]
            got = [med([r["deliveries_per_s"] for r in rows if r["offered_rate"] == rate]) for rate in rates]
            p99 = [med([r["p99_ms"] for r in rows if r["offered_rate"] == rate]) for rate in rates]
            p50 = [med([r["p50_ms"] for r in rows if r["offered_rate"] == rate]) for rate in rates]
            ax1.plot(offered, got, "o-", color=COLORS.get(t), label=t)
            ax2.plot(rates, p99, "o-", color=COLORS.get(t), label=f"{t} p99")
            ax2.plot(rates, p50, "x:", color=COLORS.get(t), alpha=0.6, label=f"{t} p50")
        top = max((r["offered_rate"] * r["members"] for r in res.where(scenario="fanout", layout=layout)), default=1)
        ax1.plot([0, top], [0, top], "k--", lw=0.8, alpha=0.4, label="delivered = offered")
        ax1.set(
            title=f"Fan-out {layout}: throughput",
            xlabel="offered deliveries/s",
            ylabel="delivered/s",
            xscale="log",
            yscale="log",
        )
        ax2.axhline(200, color="k", lw=0.8, ls="--", alpha=0.5)
        ax2.set(
            title=f"Fan-out {layout}: latency (send to delivery)",
            xlabel="offered sends/s",
            ylabel="ms",
            xscale="log",
            yscale="log",
        )
        ax1.legend(fontsize=8)
        ax2.legend(fontsize=7, ncol=2)
        for ax in (ax1, ax2):
            ax.grid(True, which="both", alpha=0.3)
        fig.tight_layout()
        path = PLOTS / f"fanout-{layout}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        made.append(path)
    rtt = [
        (t, res.median("acks_per_s", scenario="rtt", target=t)) for t in targets if res.where(scenario="rtt", target=t)
    ]
    idle_n = sorted({r["n"] for r in res.where(scenario="idle")})
    if rtt or idle_n:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.5))
        if rtt:
            ax1.barh([t for t, _ in rtt], [v or 0 for _, v in rtt], color=[COLORS.get(t) for t, _ in rtt])
            ax1.set(title="Sequential send-ack round trips", xlabel="acks/s")
            ax1.invert_yaxis()
        for t in targets:
            pts = [(n, res.median("rss_per_socket_kb", scenario="idle", target=t, n=n)) for n in idle_n]
            pts = [(n, v) for n, v in pts if v is not None]
            if pts:
                ax2.plot([n for n, _ in pts], [v for _, v in pts], "o-", color=COLORS.get(t), label=t)
        ax2.set(title="Idle sockets: RSS per socket", xlabel="sockets held", ylabel="KiB per socket", xscale="log")
        ax2.legend(fontsize=8)
        ax2.grid(True, alpha=0.3)
        fig.tight_layout()
        path = PLOTS / "rtt-idle.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        made.append(path)
    return made


def generated(path, meta, end, rows, draw=True):
    res = Results(rows)
    targets = targets_in(rows)
    m = meta.get("machine", {})
    v = m.get("versions", {})
    s = meta.get("settings", {})
    loads = [r["loadavg"] for r in rows if r.get("loadavg") is not None]
    lines = [
        BEGIN,
        "",
        f"_Generated by `bench/report.py` from `{shown(path)}` "
        f"(run {meta.get('run_id')}, commit {meta.get('commit')}, {meta.get('reps')} repetition(s), "
        f"{'quick' if meta.get('quick') else 'full'} sizes, {end.get('elapsed_s', '?')} s)._",
        "",
        "### Machine",
        "",
        f"- {m.get('nproc')} cores ({m.get('cpu')}), {m.get('mem_gib')} GiB memory, Linux {m.get('kernel')}; shared with other "
        f"engineers' test runs: 1-minute load average {min(loads):.1f} to {max(loads):.1f} during this run (median {statistics.median(loads):.1f})."
        if loads
        else f"- {m.get('nproc')} cores ({m.get('cpu')}), {m.get('mem_gib')} GiB memory",
        f"- Python {m.get('python')}, Flask {v.get('flask')}, Flask-SocketIO {v.get('flask-socketio')}, python-socketio "
        f"{v.get('python-socketio')}, python-engineio {v.get('python-engineio')}, eventlet {v.get('eventlet')}, gevent "
        f"{v.get('gevent')}, gevent-websocket {v.get('gevent-websocket')}, gunicorn {v.get('gunicorn')}, SQLAlchemy "
        f"{v.get('sqlalchemy')}, PyMySQL {v.get('pymysql')}",
        f"- Node {m.get('node')}, socket.io {v.get('socket.io')}, socket.io-client {v.get('socket.io-client')}; "
        f"MariaDB {m.get('mariadb')}, Redis {m.get('redis')}; open files limit {meta.get('nofile')}",
        f"- Sizes: idle N = {s.get('idle_counts')}, fan-out layouts {s.get('layouts')}, steps of {s.get('step_s')} s "
        f"(+ {s.get('drain_s')} s drain, + up to {s.get('lost_wait_s')} s before undelivered counts as lost), "
        + (
            f"fixed rates {s.get('fixed_rates')} in steps of their own of {s.get('latency_step_s')} s in "
            f"{s.get('latency_layouts')}, "
            if s.get("latency_step_s")
            else ""
        )
        + f"round trips {s.get('rtt_count')} (at most {s.get('rtt_max_s')} s), history {s.get('history_sizes')}, "
        f"room lists {s.get('roomlist_sizes')}, {s.get('http_repeats')} timed requests each",
        "",
        "### Targets of issue 7",
        "",
        "| target | measured (medians, same run) | met |",
        "| --- | --- | --- |",
    ]
    for name, measured, met in target_checks(res):
        lines.append(f"| {name} | {measured} | {'yes' if met else '**no**'} |")
    lines += checks_table("### Targets of issue 19", issue19_checks(res))
    lines += ["", "### Servers", "", "| target | what |", "| --- | --- |"]
    for t in targets:
        lines.append(f"| {t} | {meta.get('targets', {}).get(t, '')} |")
    lines += [
        "",
        "### (1) Idle connections",
        "",
        "RSS growth of the worker process per socket held (VmRSS after minus before, "
        "divided by N), connect rate with 100 connects in flight, sockets still connected after the hold.",
        "",
    ]
    lines += idle_table(res, targets)
    lines += ["", "### (2) Fan-out", ""]
    lines += fanout_table(res, targets)
    made = plots(res, targets) if draw else []  # --no-write leaves the plots alone too
    for p in made:
        if p.name.startswith("fanout"):
            lines += [f"![{p.stem}](bench/plots/{p.name})", ""]
    lines += [
        "### (3) Send-ack round trip, sequential",
        "",
        "One socket in a room of its own, the next send after the ack.",
        "",
    ]
    lines += rtt_table(res, targets)
    lines += ["", "### (4) History and (5) room list, webchat on MariaDB", ""]
    lines += http_tables(res)
    for p in made:
        if not p.name.startswith("fanout"):
            lines += ["", f"![{p.stem}](bench/plots/{p.name})"]
    lines += errors_lines(res, "###")
    lines += ["", END]
    return "\n".join(lines)


def capacity_section(path, meta, end, rows, draw=True):
    """Issue 25: the ramp of simulated users per target, each step's p99 per action type
    and for delivery, what broke the bar, the users held, and the server's CPU and RSS
    per user (the worker process only: MariaDB, Redis and the load generator share the
    machine's cores and are not in these figures)."""
    res = Results(rows)
    s = meta.get("settings", {})
    m = meta.get("machine", {})
    loads = [r["loadavg"] for r in res.where(scenario="capacity") if r.get("loadavg") is not None]
    lines = [
        BEGIN25,
        "",
        f"_Generated by `bench/report.py` from `{shown(path)}` (run {meta.get('run_id')}, commit {meta.get('commit')}, "
        f"{m.get('nproc')} cores shared by the server, MariaDB, Redis and the load generator"
        + (f"; 1-minute load average {min(loads):.1f} to {max(loads):.1f}" if loads else "")
        + f"). Steps of {s.get('capacity_step_s')} s, users idle {s.get('capacity_idle_s')} s on average between "
        "actions (exponential), the mix of bench/loadgen.js's capacity scenario._",
        "",
        "| target | users held | broke at | why |",
        "| --- | --- | --- | --- |",
    ]
    for t in targets_in(rows):
        steps = res.where(scenario="capacity", target=t)
        if not steps:
            continue
        top = res.where(scenario="capacity_max", target=t)
        held = top[0]["users_held"] if top else max((r["n"] for r in steps if r["pass"]), default=0)
        broke = next((r for r in steps if not r["pass"]), None)
        broke_at, why = (f"{broke['n']:,}", capacity_why(broke)) if broke else ("–", "–")
        lines.append(f"| {t} | {held:,} | {broke_at} | {why} |")
    for t in targets_in(rows):
        steps = res.where(scenario="capacity", target=t)
        if not steps:
            continue
        seen = [a for a in ACTIONS if any(a in r["actions"] for r in steps)]
        lines += [
            "",
            f"#### {t}",
            "",
            "p99 in ms (count) per action type; delivery is send to each member's socket.",
            "",
            "| N | pass | delivery p50 · p99 (count) | "
            + " | ".join(seen)
            + " | lost · dup · misrouted · failed · dropped "
            "| server CPU (cores) · per 1,000 users | RSS MiB · KiB per user (marginal) | MariaDB · Redis · load generator CPU |",
            "| --- | --- | --- | " + " | ".join("---" for _ in seen) + " | --- | --- | --- | --- |",
        ]
        for r in steps:
            d = r["delivery"]
            cells = [
                f"{fmt(r['actions'][a]['p99_ms'], 0)} ({r['actions'][a]['count']})" if a in r["actions"] else "–"
                for a in seen
            ]
            lines.append(
                f"| {r['n']:,} | {'yes' if r['pass'] else '**no**'} | {fmt(d['p50_ms'])} · {fmt(d['p99_ms'])} "
                f"({d['count']:,}) | "
                + " | ".join(cells)
                + f" | {r['lost']} · {r['duplicated']} · {r['misrouted']} · {r['errors']} · {r['dropped']} "
                f"| {fmt(r.get('server_cpu'), 2)} · {fmt(r.get('server_cpu_per_1000_users'), 2)} "
                f"| {fmt((r.get('rss_kb') or 0) / 1024, 0)} · {fmt(r.get('rss_per_user_kb'))} ({fmt(r.get('rss_marginal_kb_per_user'))}) | {fmt(r.get('mariadb_cpu'), 2)} · {fmt(r.get('redis_cpu'), 2)} · {fmt(r.get('client_cpu'), 2)} |"
            )
    made = capacity_plot(res) if draw else None
    if made:
        lines += ["", f"![{made.stem}](bench/plots/{made.name})"]
    lines += ["", END25]
    return "\n".join(lines)


def errors_lines(res, level):
    """The run's `error` records as a list under a heading of `level`, or nothing."""
    errors = res.where(scenario="error")
    if not errors:
        return []
    return ["", f"{level} Errors in this run", ""] + [
        f"- {e.get('target')}: {e.get('error', '')[:300]}" for e in errors
    ]


def relay_figures(res, line):
    """One `relay` step: each node's CPU net of its idle (the `relay_idle` window of the
    same target and repetition), per send and per queue message; the node with the sockets
    (most descriptors gained) is the owner, the others relay."""
    idle = res.where(scenario="relay_idle", target=line["target"], rep=line["rep"], layout=line["layout"])
    idle = idle[0] if idle else None
    wall, sent = line["wall_s"], line["acked"] or line["sent"]
    net = []
    for i, cpu_s in enumerate(line["node_cpu_s"]):
        rest = idle["node_cpu_s"][i] / idle["wall_s"] if idle else 0
        net.append(cpu_s - rest * wall)
    idle_published = (idle.get("published") or 0) / idle["wall_s"] * wall if idle else 0
    published = (line.get("published") or 0) - idle_published
    sockets = line.get("node_sockets") or [0] * len(net)
    owner = max(range(len(net)), key=lambda i: sockets[i] or 0)
    others = [i for i in range(len(net)) if i != owner]
    return {
        "sent": sent,
        "per_send": (line.get("published") or 0) / sent if sent else None,
        "msg_bytes": (line.get("published_bytes") or 0) / line["published"] if line.get("published") else None,
        "owner": owner,
        "owner_cpu": line["node_cpu"][owner],
        "owner_us_send": 1e6 * net[owner] / sent if sent else None,
        "relay_cpu": med([line["node_cpu"][i] for i in others]),
        "relay_us_send": med([1e6 * net[i] / sent for i in others]) if sent else None,
        "relay_us_msg": med([1e6 * net[i] / published for i in others]) if published > 0 else None,
        "sockets": sockets,
    }


def nodes_section(path, meta, rows):
    """Issue 25 item 4: the relay cost per queue message on a node holding none of the
    sockets (webchat-2nodes, the `relay` scenario), beside the CPU per send on the node
    holding them and on a single node; the capacity steps on two nodes beside one; and
    what the measured costs imply for N nodes."""
    res = Results(rows)
    s = meta.get("settings", {})
    m = meta.get("machine", {})
    loads = [r["loadavg"] for r in rows if r.get("loadavg") is not None and r.get("target")]
    targets = [t for t in targets_in(rows) if res.where(scenario="relay", target=t) or res.where(target=t)]
    layout = "x".join(str(v) for v in s.get("relay_layout", []))
    lines = [
        BEGIN25N,
        "",
        f"_Generated by `bench/report.py` from `{shown(path)}` (run {meta.get('run_id')}, commit {meta.get('commit')}, "
        f"{len({r['rep'] for r in res.where(target=CLUSTER)})} repetition(s) of {meta.get('reps')} planned, every "
        "other one in reverse order; both nodes, nginx, MariaDB, Redis and the "
        f"load generator share the machine's {m.get('nproc')} cores"
        + (f"; 1-minute load average {min(loads):.1f} to {max(loads):.1f}" if loads else "")
        + ")._",
        "",
        f"#### Relay: sends into {layout} (rooms x members), every member on one node",
        "",
        f"Steps of {s.get('relay_step_s')} s at {s.get('relay_rates')} sends/s, after {s.get('relay_idle_s')} s "
        "without sends whose CPU (per node) is subtracted. Queue messages: what the Redis channel carried in the step "
        "(each node receives every one). CPU from the scheduler's run time of each node's worker.",
        "",
        "| target | rep | sends/s (sent) | queue messages per send (bytes each) | sockets per node | "
        "owning node: cores · µs per send | other node: cores · µs per send · **µs per queue message** | "
        "nginx · MariaDB · Redis · load generator (cores) | delivery p50 · p99 ms | lost · dup · misrouted · failed |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    per = {}  # (target, rate) -> [figures]
    for t in targets:
        for line in res.where(scenario="relay", target=t):
            f = relay_figures(res, line)
            per.setdefault((t, line["offered_rate"]), []).append(f)
            other = (
                f"{fmt(f['relay_cpu'], 3)} · {fmt(f['relay_us_send'], 0)} · **{fmt(f['relay_us_msg'], 0)}**"
                if f["relay_cpu"] is not None
                else "–"
            )
            lines.append(
                f"| {t} | {line['rep']} | {fmt(line['achieved_rate'])} ({line['sent']:,}) | {fmt(f['per_send'], 2)} "
                f"({fmt(f['msg_bytes'], 0)}) | {' · '.join(fmt(v, 0) for v in f['sockets'])} | "
                f"{fmt(f['owner_cpu'], 2)} · {fmt(f['owner_us_send'], 0)} | {other} | "
                f"{fmt(line.get('proxy_cpu'), 2)} · {fmt(line.get('mariadb_cpu'), 2)} · {fmt(line.get('redis_cpu'), 2)} · "
                f"{fmt(line.get('client_cpu'), 2)} | {fmt(line['p50_ms'])} · {fmt(line['p99_ms'])} | "
                f"{line['lost']} · {line['duplicated']} · {line['misrouted']} · {line['errors']} |"
            )
    rates = sorted({rate for _t, rate in per})
    summary = {}
    lines += [
        "",
        "Medians over the repetitions:",
        "",
        "| sends/s | queue messages per send | single node: µs per send | two nodes, owning node: µs per send "
        "| other node: µs per send · µs per queue message | relay / owner per send |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for rate in rates:
        single = per.get(("webchat-eventlet", rate), [])
        pair = per.get((CLUSTER, rate), [])
        k = med([f["per_send"] for f in pair])
        w1 = med([f["owner_us_send"] for f in single])
        wa = med([f["owner_us_send"] for f in pair])
        rs = med([f["relay_us_send"] for f in pair])
        r = med([f["relay_us_msg"] for f in pair])
        summary[rate] = {"k": k, "w1": w1, "wa": wa, "r": r}
        lines.append(
            f"| {rate} | {fmt(k, 2)} | {fmt(w1, 0)} | {fmt(wa, 0)} | {fmt(rs, 0)} · {fmt(r, 0)} | "
            f"{fmt(ratio(rs, wa), 3)} |"
        )
    lines += nodes_capacity(res, targets)
    lines += nodes_model(res, summary)
    lines += errors_lines(res, "####")
    lines += ["", END25N]
    return "\n".join(lines)


def nodes_capacity(res, targets):
    """The capacity steps of the run, two nodes beside one, in the order they ran."""
    steps = [r for r in res.where(scenario="capacity") if r.get("target") in targets]
    if not steps:
        return []
    lines = [
        "",
        "#### Capacity (the mix of bench/loadgen.js's capacity scenario), two nodes beside one",
        "",
        "| N | target | rep | pass (why not) | delivery p50 · p99 ms | worst p99 ms | cores per node | sockets per node "
        "| nginx · MariaDB · Redis · load generator (cores) | queue messages/s | load average |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in sorted(steps, key=lambda r: (r["n"], r["rep"], r["target"])):
        d = r["delivery"]
        msgs = r["published"] / r["wall_s"] if r.get("published") is not None and r.get("wall_s") else None
        lines.append(
            f"| {r['n']:,} | {r['target']} | {r['rep']} | {'yes' if r['pass'] else '**no** (' + capacity_why(r) + ')'} "
            f"| {fmt(d['p50_ms'])} · {fmt(d['p99_ms'])} | {fmt(r['worst_p99_ms'], 0)} "
            f"| {' · '.join(fmt(v, 2) for v in r.get('node_cpu') or [])} "
            f"| {' · '.join(fmt(v, 0) for v in r.get('node_sockets') or [])} "
            f"| {fmt(r.get('proxy_cpu'), 2)} · {fmt(r.get('mariadb_cpu'), 2)} · {fmt(r.get('redis_cpu'), 2)} · "
            f"{fmt(r.get('client_cpu'), 2)} | {fmt(msgs, 0)} | {fmt(r.get('loadavg'))} |"
        )
    return lines


def nodes_model(res, summary):
    """What the measured relay cost r (µs per queue message, on a node without the
    sockets) implies for N nodes. Every node receives every queue message of the cluster;
    its own it decodes and drops (that is in the single-node cost already), the other
    N - 1 nodes' it relays. With the capacity mix's single-node CPU per user c (cores)
    and queue messages per user m (/s), a node of a cluster of N holding U/N users spends
    c U/N on its users and r m U (N - 1)/N relaying: the relay is the larger part once
    N - 1 > c / (r m), and a node at one core holds U/N = 1 / (c + r m (N - 1)) users."""
    rs = [v["r"] for v in summary.values() if v["r"] and v["r"] > 0]
    if not rs:
        return []
    r = med(rs) / 1e6  # core-seconds per queue message
    lines = ["", "#### What it implies for N nodes", ""]
    lines.append(
        f"Relay cost, median over the rates: **{fmt(r * 1e6, 0)} µs of a node's CPU per queue message**, paid by every "
        "node for every message any node publishes."
    )
    for rate, v in summary.items():
        if v["k"] and v["wa"] and v["r"] and v["r"] > 0:
            n_star = 1 + v["wa"] / (v["k"] * v["r"])
            lines.append(
                f"- Sends into {rate}/s of this layout: a send costs its node {fmt(v['wa'], 0)} µs and every other node "
                f"{fmt(v['k'] * v['r'], 0)} µs ({fmt(v['k'], 2)} messages): the relay outweighs the send's own work from "
                f"N = {fmt(n_star, 0)} nodes on; the cluster's sends/s can never exceed "
                f"{fmt(1e6 / (v['k'] * v['r']), 0)} per core of each node, however many nodes."
            )
    # The single node's largest step below saturation (a saturated one does fewer actions).
    single = [
        x
        for x in res.where(scenario="capacity", target="webchat-eventlet")
        if x.get("published") is not None and (x.get("server_cpu") or 1) < 0.9
    ]
    if single:
        top = max(single, key=lambda x: x["n"])
        c = top["server_cpu"] / top["n"]  # cores per user
        msg_per_user = top["published"] / top["wall_s"] / top["n"]
        n_star = 1 + c / (r * msg_per_user)
        lines += [
            "",
            f"Capacity mix (single node at {top['n']:,} users, rep {top['rep']}): {fmt(c * 1000, 3)} cores per 1,000 users, "
            f"{fmt(msg_per_user * 1000, 1)} queue messages/s per 1,000 users. A node of N then spends "
            f"{fmt(c * 1000, 3)} cores per 1,000 of its own users and {fmt(r * msg_per_user * 1000, 4)} cores per 1,000 "
            f"users of the cluster relaying: the relay is the larger part from N = {fmt(n_star, 0)} nodes on.",
            "",
            "| nodes | users per node at one core each | cluster users | relay share of a node's CPU |",
            "| --- | --- | --- | --- |",
        ]
        for n in (1, 2, 4, 8, 16, 32, 64):
            per_node = 1 / (c + r * msg_per_user * (n - 1))
            share = r * msg_per_user * (n - 1) / (c + r * msg_per_user * (n - 1))
            lines.append(f"| {n} | {fmt(per_node, 0)} | {fmt(per_node * n, 0)} | {fmt(100 * share, 1)}% |")
        lines += [
            "",
            "(One core per node is the model's unit, not a measured capacity: the single node breaks its p99 bar well "
            "below one core, see the capacity section. The relay per message is measured with the sockets of the sends "
            "elsewhere; Redis's own cost of delivering each message to one more subscriber is not in it.)",
        ]
    return lines


def storm_section(path, meta, rows):
    """Issue 25's login storm: per target, how long until every storm user was logged in
    and connected with its room open, what failed, and the background users' p99 per
    action in the quiet window beside the storm window."""
    res = Results(rows)
    storms = res.where(scenario="login_storm")
    m = meta.get("machine", {})
    loads = [r["loadavg"] for r in storms if r.get("loadavg") is not None]
    first = storms[0]
    argon2 = first.get("argon2", {})
    lines = [
        STORM_BEGIN,
        "",
        f"_Generated by `bench/report.py` from `{shown(path)}` (run {meta.get('run_id')}, commit {meta.get('commit')}, "
        f"{m.get('nproc')} cores shared by the server, MariaDB, Redis and the load generator"
        + (f"; 1-minute load average at the end of each storm {', '.join(f'{v:.1f}' for v in loads)}" if loads else "")
        + f"). {first['storm']:,} storm users (accounts made before, rooms of {first['room_size']}), "
        f"{first['background']:,} background users of the capacity mix idle {first['idle_mean_s']} s on average, "
        f"quiet window {first['quiet_s']} s; argon2id time_cost {argon2.get('ARGON2_TIME_COST')}, memory_cost "
        f"{argon2.get('ARGON2_MEMORY_COST')} KiB (config.py's defaults), parallelism 4 (argon2-cffi's); "
        f"offload thread pool {first.get('threadpool')} threads; rate limits off, as on every bench target._",
        "",
        "| target | logged in · connected, room open | refused · failed | all logged in (s) | all connected, room open (s) "
        "| login p50 · p99 · max (s) | socket connect p50 · p99 (s) | open_room p50 · p99 (s) | peak client connections "
        "| worker CPU · its loop thread (cores) | MariaDB · Redis · load generator CPU |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    sec = lambda v: fmt(None if v is None else v / 1000, 2)  # noqa: E731
    for r in storms:
        d = r["during"]
        lines.append(
            f"| {r['target']} | {r['logged_in']:,} · {r['connected_room_open']:,} of {r['storm']:,} "
            f"| {r['refused']} · {r['failed']} | {fmt(r['all_logged_in_s'], 1)} | {fmt(r['all_connected_s'], 1)} "
            f"| {sec(r['login']['p50_ms'])} · {sec(r['login']['p99_ms'])} · {sec(r['login']['max_ms'])} "
            f"| {sec(r['connect']['p50_ms'])} · {sec(r['connect']['p99_ms'])} "
            f"| {sec(r['open_room']['p50_ms'])} · {sec(r['open_room']['p99_ms'])} | {r['peak_client_connections']:,} "
            f"| {fmt(d.get('server_cpu'), 2)} · {fmt(d.get('loop_cpu'), 2)} "
            f"| {fmt(d.get('mariadb_cpu'), 2)} · {fmt(d.get('redis_cpu'), 2)} · {fmt(d.get('client_cpu'), 2)} |"
        )
        if r.get("failure_reasons"):
            lines.append(f"| | failures: {r['failure_reasons']} | | | | | | | | | |")
    for r in storms:
        seen = [a for a in ACTIONS if any(a in r[w]["actions"] for w in ("quiet", "during"))]
        lines += [
            "",
            f"#### {r['target']}: the background users, quiet and during the storm",
            "",
            "p99 in ms (count) per action type; delivery is send to each member's socket.",
            "",
            "| window | s | delivery p50 · p99 (count) | "
            + " | ".join(seen)
            + " | lost · dup · misrouted · failed · dropped | worker CPU · loop thread (cores) |",
            "| --- | --- | --- | " + " | ".join("---" for _ in seen) + " | --- | --- |",
        ]
        for label, key in (("quiet", "quiet"), ("storm", "during")):
            w = r[key]
            cells = [
                f"{fmt(w['actions'][a]['p99_ms'], 0)} ({w['actions'][a]['count']})" if a in w["actions"] else "–"
                for a in seen
            ]
            lines.append(
                f"| {label} | {fmt(w['window_s'], 0)} | {fmt(w['delivery']['p50_ms'])} · {fmt(w['delivery']['p99_ms'])} "
                f"({w['delivery']['count']:,}) | "
                + " | ".join(cells)
                + f" | {w['lost']} · {w['duplicated']} · {w['misrouted']} · {w['errors']} · {w['dropped']} "
                f"| {fmt(w.get('server_cpu'), 2)} · {fmt(w.get('loop_cpu'), 2)} |"
            )
    lines += ["", STORM_END]
    return "\n".join(lines)


def capacity_why(step):
    """What broke the bar in a capacity step, in a few words."""
    why = [f"{k} {step[k]}" for k in ("lost", "duplicated", "misrouted", "errors", "dropped") if step.get(k)]
    slow = [(a, v["p99_ms"]) for a, v in step["actions"].items() if (v["p99_ms"] or 0) > 200]
    if (step["delivery"]["p99_ms"] or 0) > 200:
        slow.insert(0, ("delivery", step["delivery"]["p99_ms"]))
    why += [f"{a} p99 {fmt(v, 0)} ms" for a, v in slow]
    return ", ".join(why) or "?"


def capacity_plot(res):
    """p99 per action type (and delivery) against N, one panel per target."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    targets = [t for t in ORDER if res.where(scenario="capacity", target=t)]
    if not targets:
        return None
    PLOTS.mkdir(exist_ok=True)
    fig, axes = plt.subplots(1, len(targets), figsize=(6.5 * len(targets), 4.8), squeeze=False)
    for ax, t in zip(axes[0], targets, strict=True):
        steps = res.where(scenario="capacity", target=t)
        ns = [r["n"] for r in steps]
        ax.plot(ns, [r["delivery"]["p99_ms"] for r in steps], "ko-", lw=2, label="delivery")
        for a in ACTIONS:
            pts = [(r["n"], r["actions"][a]["p99_ms"]) for r in steps if a in r["actions"]]
            if pts:
                ax.plot([n for n, _ in pts], [v for _, v in pts], "o-", ms=3, lw=1, label=a)
        ax.axhline(200, color="r", lw=0.8, ls="--", alpha=0.6)
        ax.set(title=f"{t}: p99 per action", xlabel="simulated users", ylabel="ms", xscale="log", yscale="log")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    path = PLOTS / "capacity.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def checks_table(heading, checks):
    if not checks:
        return []
    lines = ["", heading, "", "| target | measured (medians, same run) | met |", "| --- | --- | --- |"]
    return lines + [f"| {name} | {measured} | {'yes' if met else '**no**'} |" for name, measured, met in checks]


def issue19_section(path, meta, end, rows):
    """BENCHMARKS.md's issue-19 section: a run with webchat-eventlet-base beside
    webchat-eventlet (the send path before and after, repetitions interleaved) and, if it
    ran them, the history pages and the change feed."""
    against = f"after: commit {meta.get('commit')}, before: commit {meta.get('base_commit')} as {BASE}"
    return pair_section(
        path, meta, end, rows, BASE, (BEGIN19, END19), against, "#### Targets of issue 19", issue19_checks
    )


def issue21_section(path, meta, end, rows):
    """BENCHMARKS.md's issue-21 section: webchat-eventlet (the search index kept on the send
    path) beside webchat-eventlet-noindex (SEARCH_INDEX_ENABLED=false), repetitions
    interleaved, and the `search` scenario's times."""
    against = f"commit {meta.get('commit')}: webchat-eventlet with the search index, {NOINDEX} without"
    section = pair_section(
        path, meta, end, rows, NOINDEX, (BEGIN21, END21), against, "#### Targets of issue 21", issue21_checks
    )
    searched = search_table(Results(rows))
    if searched:
        head, tail = section.rsplit(END21, 1)
        section = head + "\n".join(["#### Search, on MariaDB (bench/search_cost.py)", "", *searched, "", END21]) + tail
    return section


def pair_section(path, meta, end, rows, base, markers, against, checks_heading, checks_of):
    """A run of `base` beside webchat-eventlet, repetitions interleaved: the checks, each
    repetition's send path figures and their medians, the round trips and the fan-out."""
    begin_marker, end_marker = markers
    res = Results(rows)
    targets = targets_in(rows)
    s = meta.get("settings", {})
    loads = [r["loadavg"] for r in rows if r.get("loadavg") is not None]
    lines = [
        begin_marker,
        "",
        f"_Generated by `bench/report.py` from `{shown(path)}` (run {meta.get('run_id')}, {against}, {meta.get('reps')} "
        f"repetition(s), every other one in reverse order, {'quick' if meta.get('quick') else 'full'} sizes, "
        f"{end.get('elapsed_s', '?')} s"
        + (
            f"; 1-minute load average {min(loads):.1f} to {max(loads):.1f}, median {statistics.median(loads):.1f}"
            if loads
            else ""
        )
        + ")._",
        "",
        f"Settings: scenarios {s.get('scenarios')}, fan-out ladder {s.get('rates', {}).get('100')} sends/s into "
        f"1x100 in steps of {s.get('step_s')} s, round trips {s.get('rtt_count')} (at most {s.get('rtt_max_s')} s), "
        f"history {s.get('history_sizes')}, {s.get('http_repeats')} timed requests each.",
    ]
    lines += checks_table(checks_heading, checks_of(res))
    lines += ["", "#### Per repetition, in the order they ran", ""]
    lines += [
        f"{base} · webchat-eventlet (ratio). The worker's CPU per send is a steadier measure of the send path's cost than "
        "the rates, which the machine's load moves: per acknowledged round trip, and per send at 200 sends/s into "
        "100 members (its 100 deliveries included).",
        "",
        "| repetition | order | send-ack acks/s | fan-out 1x100 max deliveries/s | CPU per round trip (ms) | "
        "CPU per send @ 200 sends/s into 100 (ms) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    measures = (
        (lambda t, rep: res.median("acks_per_s", scenario="rtt", target=t, rep=rep), 1),
        (lambda t, rep: res.median("max_deliveries_per_s", scenario="fanout_max", target=t, rep=rep), 0),
        (lambda t, rep: cpu_per_send(res.where(scenario="rtt", target=t, rep=rep), "acks_per_s"), 2),
        (
            lambda t, rep: cpu_per_send(
                [r for r in fanout_rows(res, t, "1x100", 200) if r["rep"] == rep], "achieved_rate"
            ),
            2,
        ),
    )
    pairs = [[] for _ in measures]
    for rep in sorted({r["rep"] for r in res.where(target=base)}):
        order = list(dict.fromkeys(r["target"] for r in res.where(rep=rep) if r.get("target") in targets))
        cells = []
        for (measure, digits), kept in zip(measures, pairs, strict=True):
            before, after = measure(base, rep), measure("webchat-eventlet", rep)
            cells.append(f"{fmt(before, digits)} · {fmt(after, digits)} ({fmt(ratio(after, before), 3)}x)")
            if before and after:
                kept.append((before, after))
        lines.append(f"| {rep} | {', '.join(order)} | " + " | ".join(cells) + " |")
    # Medians over the repetitions where both sides have a figure.
    cells = []
    for (_measure, digits), kept in zip(measures, pairs, strict=True):
        before, after = med([b for b, _a in kept]), med([a for _b, a in kept])
        cells.append(f"{fmt(before, digits)} · {fmt(after, digits)} ({fmt(ratio(after, before), 3)}x)")
    lines.append("| median | | " + " | ".join(cells) + " |")
    lines += ["", "#### Send-ack round trip, sequential", ""] + rtt_table(res, targets)
    lines += ["", "#### Fan-out", ""] + fanout_table(res, targets)
    http = http_tables(res)
    if http:
        lines += ["#### History pages and the change feed, webchat on MariaDB", "", *http]
    lines += errors_lines(res, "####")
    lines += ["", end_marker]
    return "\n".join(lines)


def cpu_per_send(rows, rate):
    """The worker's CPU time per send (ms) over these steps: cores used / sends per second."""
    values = [1000 * r["server_cpu"] / r[rate] for r in rows if r.get("server_cpu") is not None and r.get(rate)]
    return med(values)


def shown(path):
    return path.relative_to(ROOT) if path.is_absolute() and ROOT in path.parents else path


def full_run(meta):
    """Whether the run measured everything a full `make bench` does, at full sizes."""
    s = meta.get("settings", {})
    return (
        not meta.get("quick")
        and FULL_TARGETS <= set(s.get("targets", []))
        and FULL_SCENARIOS <= set(s.get("scenarios", []))
    )


def replace_section(text, begin, end, section, heading):
    """`text` with the part between the markers replaced, or the section appended under
    `heading` if the markers are missing."""
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        return head + section + rest.split(end, 1)[1]
    return text.rstrip("\n") + f"\n\n{heading}\n\n{section}\n"


def comparison(before_path, after_path):
    """Issue 7's targets, measured in two runs (each ratio within its own run), as a
    markdown table: the before/after record of an optimisation."""
    runs = []
    for path in (before_path, after_path):
        meta, _end, rows = load(path)
        checks = [*target_checks(Results(rows)), *issue19_checks(Results(rows))]
        runs.append((meta, {name: (measured, met) for name, measured, met in checks}))
    (b_meta, before), (a_meta, after) = runs
    lines = [
        f"| target | before: run {b_meta.get('run_id')} (commit {b_meta.get('commit')}) "
        f"| after: run {a_meta.get('run_id')} (commit {a_meta.get('commit')}) |",
        "| --- | --- | --- |",
    ]
    for name in [*before, *(n for n in after if n not in before)]:
        cells = []
        for checks in (before, after):
            measured, met = checks.get(name, ("–", None))
            cells.append(measured + ("" if met is None else " ✓" if met else " ✗"))
        lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def main():
    if "--compare" in sys.argv:
        before = Path(sys.argv[sys.argv.index("--compare") + 1])
        after = Path(next(a for a in sys.argv[1:] if not a.startswith("--") and Path(a) != before))
        print(comparison(before, after))
        return
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    path = Path(args[0]) if args else max((BENCH / "results").glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    path = path.resolve()
    meta, end, rows = load(path)
    sections = []
    if full_run(meta) or "--no-write" in sys.argv:
        sections.append((BEGIN, END, generated(path, meta, end, rows, "--no-write" not in sys.argv), "## Results"))
    # Issue 19's before/after is of the send path: a base run of other scenarios (the
    # capacity ramp's before/after) has nothing for it and must not blank it.
    if any(r.get("target") == BASE and r.get("scenario") in ("rtt", "fanout") for r in rows):
        sections.append((BEGIN19, END19, issue19_section(path, meta, end, rows), "## Issue 19: before and after"))
    if any(r.get("target") == NOINDEX or r.get("scenario") == "search" for r in rows):
        sections.append(
            (BEGIN21, END21, issue21_section(path, meta, end, rows), "## Issue 21: the send path and search")
        )
    if any(r.get("target") == CLUSTER for r in rows):
        # Its capacity steps (two Ns beside one node) are not the ramp of issue 25's section.
        section = nodes_section(path, meta, rows)
        sections.append((BEGIN25N, END25N, section, "## Issue 25, item 4: two nodes behind nginx"))
    elif any(r.get("scenario") == "capacity" for r in rows):
        section = capacity_section(path, meta, end, rows, "--no-write" not in sys.argv)
        sections.append((BEGIN25, END25, section, "## Issue 25: capacity, users held"))
    if any(r.get("scenario") == "login_storm" for r in rows):
        sections.append((STORM_BEGIN, STORM_END, storm_section(path, meta, rows), "## Issue 25: the login storm"))
    if "--no-write" in sys.argv:
        print("\n\n".join(section for _b, _e, section, _h in sections))
        return
    if not sections:
        print(f"{path} is a partial run without {BASE}: BENCHMARKS.md left as it is (--no-write prints its tables)")
        return
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    for begin, end_marker, section, heading in sections:
        text = replace_section(text, begin, end_marker, section, heading)
    DOC.write_text(text)
    print(f"BENCHMARKS.md updated from {path}: " + ", ".join(begin for begin, *_ in sections))


if __name__ == "__main__":
    main()
