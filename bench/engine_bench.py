"""Engine benchmarks: task completion through the services against the library alone.

Run with `make bench`. Figures are medians of repeated runs; ratios are measured in the
same run, because the machine is noisy. Nothing here is asserted in `make test`.
"""

from __future__ import annotations

import json
import platform as host
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine import definitions, runtime
from engine.bpmn_parser import GongjianParser
from engine.clock import FrozenClock
from engine.expression_helpers import HELPERS
from engine.identity import Actor
from engine.platform import Platform
from engine.sandbox import make_script_engine
from engine.state import dump_state, load_state

HERE = Path(__file__).parent
FIVE = HERE / "five_tasks.bpmn"
ACTOR = Actor.of("bench", "specialist")


def library_only(rounds: int) -> tuple[float, float]:
    """SpiffWorkflow alone: (ms start-to-end in memory, ms per restore→complete→save step)."""
    parser = GongjianParser()
    parser.add_bpmn_file(str(FIVE))
    spec, subs = parser.get_spec("five_tasks"), parser.get_subprocess_specs("five_tasks")
    in_memory, per_step = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        wf = BpmnWorkflow(spec, subs, script_engine=make_script_engine(HELPERS))
        wf.do_engine_steps()
        while not wf.is_completed():
            wf.get_tasks(state=TaskState.READY, manual=True)[0].run()
            wf.do_engine_steps()
        in_memory.append((time.perf_counter() - t0) * 1000)

        wf = BpmnWorkflow(spec, subs, script_engine=make_script_engine(HELPERS))
        wf.do_engine_steps()
        state = dump_state(wf)
        t0 = time.perf_counter()
        steps = 0
        while True:
            wf = load_state(state, spec, subs)
            wf.script_engine = make_script_engine(HELPERS)
            ready = wf.get_tasks(state=TaskState.READY, manual=True)
            if not ready:
                break
            ready[0].run()
            wf.do_engine_steps()
            state = dump_state(wf)
            steps += 1
        per_step.append((time.perf_counter() - t0) * 1000 / steps)
    return statistics.median(in_memory), statistics.median(per_step)


def service_completion(rounds: int) -> float:
    """ms per `complete_task` through the engine services on SQLite (median)."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        platform = Platform(url, FrozenClock(datetime(2026, 12, 1, tzinfo=timezone.utc)))
        platform.upgrade()
        with platform.uow() as uow:
            definitions.deploy_path(uow, FIVE, "bench")
        timings = []
        for _ in range(rounds):
            with platform.uow() as uow:
                instance = runtime.start_instance(uow, "five_tasks", ACTOR)
            while True:
                with platform.uow() as uow:
                    tasks = [t for t in runtime.list_tasks(uow, ACTOR)
                             if t.instance_id == instance.id]
                if not tasks:
                    break
                t0 = time.perf_counter()
                with platform.uow() as uow:
                    runtime.complete_task(uow, tasks[0].id, ACTOR)
                timings.append((time.perf_counter() - t0) * 1000)
        platform.close()
        return statistics.median(timings)


def main(rounds: int = 40) -> dict:
    """Run every measurement and print one table."""
    in_memory, step = library_only(rounds)
    completion = service_completion(rounds)
    rows = [
        ("library: 5-task process in memory, start to end", in_memory, "ms", "—"),
        ("library: restore → complete → save, per step", step, "ms", "—"),
        ("engine: complete_task on SQLite (audit, projection, timers)", completion, "ms",
         "≤ 2 ms"),
        ("ratio: complete_task / library step", completion / step, "×", "≤ 3×"),
    ]
    print(f"machine: {host.node()} {host.machine()} python {sys.version.split()[0]}, "
          f"{rounds} rounds, medians")
    for name, value, unit, target in rows:
        print(f"  {name:<62} {value:8.2f} {unit:<2}  target {target}")
    result = {name: value for name, value, _unit, _target in rows}
    (HERE / "results.json").write_text(json.dumps(result, ensure_ascii=False, indent=2))
    return result


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
