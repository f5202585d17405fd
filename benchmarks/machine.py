"""How busy the shared machine was while a benchmark ran: load average and hypervisor steal."""

from __future__ import annotations

import os
import time
from collections.abc import Callable


def cpu_counters() -> list[int]:
    """The aggregate `cpu` line of /proc/stat (user nice system idle iowait irq softirq steal ...)."""
    with open("/proc/stat") as fh:
        return [int(v) for v in fh.readline().split()[1:]]


class MachineLoad:
    """Context manager: load average at start and end, and the share of CPU time stolen in between."""

    def __enter__(self) -> MachineLoad:
        self._before, self.load_start = cpu_counters(), os.getloadavg()[0]
        return self

    def __exit__(self, *exc) -> None:
        delta = [b - a for a, b in zip(self._before, cpu_counters(), strict=True)]
        self.load_end = os.getloadavg()[0]
        self.steal = round(delta[7] / max(1, sum(delta[:8])), 3) if len(delta) > 7 else 0.0

    def as_dict(self) -> dict[str, float]:
        """The three figures, for a benchmark's JSON."""
        return {"load_avg_start": round(self.load_start, 2), "load_avg_end": round(self.load_end, 2),
                "cpu_steal_share": self.steal}


def best_rate(
    items: int, run: Callable[[], object], repeats: int = 3, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Items per second of the fastest of `repeats` runs: on a shared machine the slow runs are the
    ones another process interrupted, not the code. With clock=time.process_time, items per second
    of this process's CPU time, which other processes on the machine disturb much less."""
    best = float("inf")
    for _ in range(repeats):
        start = clock()
        run()
        best = min(best, clock() - start)
    return items / best


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds (user + system) used so far by a process and all its living descendants: for
    Spark in local mode, the driver's JVM and its Python workers (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    parent = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # the process ended meanwhile
            children.setdefault(parent, []).append(int(entry))
    total, stack, tick = 0.0, [root], os.sysconf("SC_CLK_TCK")
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
        stack += children.get(pid, [])
    return total


def marginal_rate(small: dict, large: dict) -> tuple[float, float]:
    """(docs per second between a small and a large run, seconds of fixed cost a run pays) from two runs'
    `docs` and `seconds`: the rate a run over full-size files approaches, with start-up costs dropped out."""
    rate = (large["docs"] - small["docs"]) / max(large["seconds"] - small["seconds"], 1e-9)
    return rate, small["seconds"] - small["docs"] / rate
