#!/usr/bin/env bash
# The GPU check in one go (issue 15), for a machine with a CUDA device:
#
#   1. preflight: a Python whose torch sees CUDA (else one JSON error object and exit 1);
#   2. pytest -m gpu tests/gpu: CUDA results of training, fixed points, similarity, toy2d and
#      RSG features against the CPU's;
#   3. the benchmarks with --device cuda --json (one that has no --device option is skipped,
#      and the summary says so);
#   4. the tiny workflow (tests/workflow/tiny.yaml) through Snakemake with device=cuda;
#
# then prints ONE JSON object on stdout (progress goes to stderr) and writes it, with the
# steps' logs, to ${OUT:-/tmp/gpu_check}: summary.json, pytest_gpu.log, pytest_gpu.xml,
# benchmarks.log, workflow.log. Exit status 0 when every step passed, 1 otherwise.
#
#   bash benchmarks/gpu_check.sh
#
# Every step has its own timeout, capped so that the whole run ends within the budget
# (GPU_CHECK_BUDGET_S, default 470 s: under 8 minutes). Environment (all optional):
#   GPU_CHECK_PYTHON   interpreter to use (default: .venv/bin/python if its torch sees CUDA,
#                      else python3 / python from PATH); the tree's src/ is put first on
#                      PYTHONPATH, so the checked-out code is what runs even without an install
#   GPU_CHECK_WHEELS   folder of wheels installed (--no-index --no-deps) into a temporary
#                      target first, e.g. snakemake where it is missing (default: .whl)
#   GPU_CHECK_CORES    Snakemake --cores (default: nproc, at most 16)
#   GPU_CHECK_WORKFLOW_TIMEOUT_S  the workflow step's own timeout (default 300 s)
#   GPU_CHECK_KEEP=1   keep the temporary folder (workflow results) and report its path
#   GPU_CHECK_DRY_RUN=1  NOT a GPU check: every step on the CPU (tests/gpu with
#                      RNNATLAS_GPU_TESTS_DRY_RUN=1), to try the script itself on a machine
#                      without CUDA; the summary says "dry_run": true
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT_DIR="${OUT:-/tmp/gpu_check}"
BUDGET_S="${GPU_CHECK_BUDGET_S:-470}"
KEEP="${GPU_CHECK_KEEP:-0}"
DRY_RUN="${GPU_CHECK_DRY_RUN:-0}"
DEVICE=cuda
if [[ "$DRY_RUN" == 1 ]]; then
    DEVICE=cpu
fi
RESERVE_S=15   # kept back at every step for the summary (and timeout's kill grace)
MIN_STEP_S=20  # a step is skipped when less than this is left
mkdir -p "$OUT_DIR"
rm -f "$OUT_DIR"/{summary.json,pytest_gpu.log,pytest_gpu.xml,benchmarks.log,workflow.log}  # no stale results
WORK="$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")"
# shellcheck disable=SC2329  # called by the trap
cleanup() {
    if [[ "$KEEP" != 1 ]]; then
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

now_ms() { echo $(($(date +%s%N) / 1000000)); }
START_MS=$(now_ms)
DEADLINE_MS=$((START_MS + BUDGET_S * 1000))
seconds_since() { local ms=$(($(now_ms) - $1)); printf '%d.%03d' $((ms / 1000)) $((ms % 1000)); }
log() { printf '[gpu_check %4ss] %s\n' "$(seconds_since "$START_MS")" "$*" >&2; }

# ------------------------------------------------------------------ step bookkeeping
STEPS_TSV="$WORK/steps.tsv"
: >"$STEPS_TSV"
record() { # NAME STATUS RC SECONDS TIMEOUT REASON
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" >>"$STEPS_TSV"
}

timeout_for() { # DEFAULT_S -> the step's timeout: DEFAULT_S, or what the budget has left
    local left=$(((DEADLINE_MS - $(now_ms)) / 1000 - RESERVE_S))
    if ((left < 0)); then
        left=0
    fi
    if ((left < $1)); then
        echo "$left"
    else
        echo "$1"
    fi
}

run_step() { # NAME DEFAULT_TIMEOUT STDOUT STDERR|+ -- COMMAND... (STDERR '+': into STDOUT)
    local name=$1 default=$2 out=$3 err=$4
    shift 5
    local t rc=0 started status=ok
    t=$(timeout_for "$default")
    if ((t < MIN_STEP_S)); then
        record "$name" skipped "" 0 "$t" "no time left in the ${BUDGET_S} s budget"
        log "$name: skipped (no time left)"
        return 0
    fi
    log "$name: running with a ${t} s timeout: $*"
    started=$(now_ms)
    if [[ "$err" == "+" ]]; then
        timeout --kill-after=5 "$t" "$@" >"$out" 2>&1 || rc=$?
    else
        timeout --kill-after=5 "$t" "$@" >"$out" 2>"$err" || rc=$?
    fi
    if ((rc == 124 || rc == 137)); then
        status=timeout
    elif ((rc != 0)); then
        status=failed
    fi
    record "$name" "$status" "$rc" "$(seconds_since "$started")" "$t" ""
    log "$name: $status (exit $rc)"
}

# ------------------------------------------------------------------ preflight
cat >"$WORK/probe.py" <<'PYEOF'
"""What this interpreter has: torch and CUDA (a kernel is run), and the packages the check uses."""
import importlib
import json
import sys

info = {"python": sys.executable, "python_version": sys.version.split()[0], "cuda_available": False}
try:
    import torch

    info.update(torch=torch.__version__, torch_cuda=torch.version.cuda)
    if torch.cuda.is_available():
        x = torch.ones(8, device="cuda")
        torch.cuda.synchronize()
        info.update(cuda_available=bool(float(x.sum()) == 8.0), device_count=torch.cuda.device_count(),
                    device_name=torch.cuda.get_device_name(0),
                    capability=".".join(map(str, torch.cuda.get_device_capability(0))),
                    memory_gib=round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1))
except Exception as exc:  # a broken install is a finding, not a crash
    info["torch_error"] = f"{type(exc).__name__}: {exc}"[:500]
if len(sys.argv) > 1 and sys.argv[1] == "--all":
    for name in ("rnnatlas", "pytest", "snakemake", "numpy", "scipy", "sklearn", "h5py"):
        try:
            module = importlib.import_module(name)
            info[name] = getattr(module, "__version__", "present")
            if name == "rnnatlas":
                info["rnnatlas_path"] = module.__file__
        except Exception as exc:
            info[name] = None
            info[f"{name}_error"] = f"{type(exc).__name__}: {exc}"[:300]
print(json.dumps(info))
PYEOF

fail_preflight() { # MESSAGE PROBES_FILE -> the JSON error object on stdout and in summary.json; exit 1
    local message=$1 probes=$2 py=""
    for c in python3 python; do
        if command -v "$c" >/dev/null 2>&1; then
            py=$(command -v "$c")
            break
        fi
    done
    if [[ -n "$py" ]]; then
        "$py" - "$message" "$probes" "$BUDGET_S" "$(seconds_since "$START_MS")" "$OUT_DIR" <<'PYEOF' | tee "$OUT_DIR/summary.json"
import json
import sys

message, probes_file, budget, seconds, out_dir = sys.argv[1:6]
probes = []
for line in open(probes_file):
    line = line.strip()
    if line:
        try:
            probes.append(json.loads(line))
        except ValueError:
            probes.append({"unparsed": line[:500]})
print(json.dumps({"ok": False, "error": message, "python_candidates": probes, "budget_s": float(budget),
                  "total_s": float(seconds), "out_dir": out_dir, "steps": {}}, indent=2))
PYEOF
    else
        printf '{"ok": false, "error": "%s", "steps": {}}\n' "no python interpreter found" | tee "$OUT_DIR/summary.json"
    fi
    exit 1
}

export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
PROBES="$WORK/probes.jsonl"
: >"$PROBES"
candidates=()
if [[ -n "${GPU_CHECK_PYTHON:-}" ]]; then
    candidates+=("$GPU_CHECK_PYTHON")
else
    if [[ -x "$ROOT/.venv/bin/python" ]]; then
        candidates+=("$ROOT/.venv/bin/python")
    fi
    for c in python3 python; do
        if command -v "$c" >/dev/null 2>&1; then
            candidates+=("$(command -v "$c")")
        fi
    done
fi
PY=""
for c in "${candidates[@]}"; do
    log "preflight: probing $c"
    line=$(timeout 45 "$c" "$WORK/probe.py" 2>>"$WORK/probe.err" | tail -n 1) || true
    if [[ -z "$line" ]]; then
        line="{\"python\": \"$c\", \"error\": \"the probe did not run (see stderr)\"}"
    fi
    printf '%s\n' "$line" >>"$PROBES"
    if [[ "$line" == *'"cuda_available": true'* ]] || { [[ "$DRY_RUN" == 1 ]] && [[ "$line" == *'"torch": '* ]]; }; then
        PY="$c"
        break
    fi
done
if [[ -z "$PY" ]]; then
    fail_preflight "no Python here has a torch that sees a CUDA device (python -c 'import torch; assert torch.cuda.is_available()' fails); on a GPU machine use a CUDA build of torch (pip install -e .[test] with torch for CUDA, or GPU_CHECK_PYTHON=...)" "$PROBES"
fi
if [[ "$PY" == "$ROOT/.venv/bin/python" ]]; then
    set +u
    # shellcheck disable=SC1091
    source "$ROOT/.venv/bin/activate"
    set -u
else
    PATH="$(dirname "$PY"):$PATH"
fi

WHEELS="${GPU_CHECK_WHEELS:-$ROOT/.whl}"
if compgen -G "$WHEELS/*.whl" >/dev/null; then
    log "preflight: installing the wheels in $WHEELS into a temporary target"
    if "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$WORK/site" "$WHEELS"/*.whl \
        >"$WORK/wheels.log" 2>&1; then
        export PYTHONPATH="$ROOT/src:$WORK/site${PYTHONPATH#"$ROOT/src"}"
        PATH="$WORK/site/bin:$PATH"
    else
        log "preflight: installing the wheels failed (see the summary)"
    fi
fi
# The workflow's rules call `rnnatlas`; without an installed one, a shim runs this tree's CLI.
if ! command -v rnnatlas >/dev/null 2>&1; then
    mkdir -p "$WORK/bin"
    printf '#!/bin/sh\nexec "%s" -m rnnatlas.cli "$@"\n' "$PY" >"$WORK/bin/rnnatlas"
    chmod +x "$WORK/bin/rnnatlas"
    PATH="$WORK/bin:$PATH"
fi
export PATH
PREFLIGHT="$WORK/preflight.json"
timeout 45 "$PY" "$WORK/probe.py" --all >"$PREFLIGHT" 2>>"$WORK/probe.err" || true
if [[ "$DRY_RUN" != 1 ]] && ! grep -q '"cuda_available": true' "$PREFLIGHT"; then
    cat "$PREFLIGHT" >>"$PROBES"
    fail_preflight "CUDA went away between the probes (see python_candidates)" "$PROBES"
fi
record preflight ok 0 "$(seconds_since "$START_MS")" "" ""
log "preflight: using $PY ($(grep -o '"device_name": "[^"]*"' "$PREFLIGHT" || true))"

# ------------------------------------------------------------------ 1. pytest -m gpu
if [[ "$DRY_RUN" == 1 ]]; then
    export RNNATLAS_GPU_TESTS_DRY_RUN=1
fi
run_step pytest_gpu 150 "$OUT_DIR/pytest_gpu.log" + -- \
    "$PY" -m pytest tests/gpu -m gpu -q -rA -p no:cacheprovider --junitxml="$OUT_DIR/pytest_gpu.xml"

# ------------------------------------------------------------------ 2. benchmarks on CUDA
# Small sizes: each runs in well under a minute on one GPU.
declare -A BENCH_ARGS=(
    [training]="--arch vanilla gru lstm --K 32 --units 64 --steps 10 --batch 64 --T 100 --threads 1"
    [fixed_points]="--P 16 --units 64 --starts 256 --max-iters 2000 --threads 1"
    [similarity]="--n 100 500 --metrics svcca cka_linear --loop-pairs 50 --threads 1"
    [toy2d]="--K 256 --epochs 30 --loop-sample 4 --threads 1"
)
: >"$OUT_DIR/benchmarks.log"
for bench in training fixed_points similarity toy2d; do
    script="benchmarks/bench_${bench}.py"
    name="bench_${bench}"
    if [[ ! -f "$script" ]]; then
        record "$name" skipped "" 0 "" "$script does not exist"
        continue
    fi
    help_rc=0
    help_t=$(timeout_for 60)
    if ((help_t < 5)); then
        record "$name" skipped "" 0 "$help_t" "no time left in the ${BUDGET_S} s budget"
        continue
    fi
    timeout "$help_t" "$PY" "$script" --help >"$WORK/$name.help" 2>&1 || help_rc=$?
    if ((help_rc != 0)); then
        record "$name" failed "$help_rc" 0 "$help_t" "$script --help failed"
        { echo "===== $name: --help failed (exit $help_rc)"; cat "$WORK/$name.help"; } >>"$OUT_DIR/benchmarks.log"
        continue
    fi
    if ! grep -q -- "--device" "$WORK/$name.help"; then
        record "$name" skipped "" 0 "" "$script has no --device option"
        log "$name: skipped ($script has no --device option)"
        continue
    fi
    json_flag=()
    if grep -q -- "--json" "$WORK/$name.help"; then
        json_flag=(--json)
    fi
    read -r -a args <<<"${BENCH_ARGS[$bench]}"
    run_step "$name" 90 "$WORK/$name.out" "$WORK/$name.err" -- \
        "$PY" "$script" "${args[@]}" --device "$DEVICE" "${json_flag[@]}"
    {
        echo "===== $name: $PY $script ${args[*]} --device $DEVICE ${json_flag[*]}"
        cat "$WORK/$name.out" 2>/dev/null || true
        echo "----- stderr"
        cat "$WORK/$name.err" 2>/dev/null || true
    } >>"$OUT_DIR/benchmarks.log"
done

# ------------------------------------------------------------------ 3. tiny workflow on CUDA
WORKFLOW_DIR="$WORK/tiny"
mkdir -p "$WORKFLOW_DIR"
CORES="${GPU_CHECK_CORES:-$(nproc)}"
if ((CORES > 16)); then
    CORES=16
fi
if "$PY" -c "import snakemake" >/dev/null 2>&1; then
    run_step workflow_tiny "${GPU_CHECK_WORKFLOW_TIMEOUT_S:-300}" "$OUT_DIR/workflow.log" + -- \
        "$PY" -m snakemake -s "$ROOT/Snakefile" --directory "$WORKFLOW_DIR" \
        --configfile "$ROOT/tests/workflow/tiny.yaml" --config "device=$DEVICE" --cores "$CORES" --printshellcmds
else
    record workflow_tiny skipped "" 0 "" "snakemake is not importable by $PY (install it, or carry its wheels in .whl)"
    echo "snakemake is not importable by $PY" >"$OUT_DIR/workflow.log"
fi

# ------------------------------------------------------------------ summary
cat >"$WORK/summarise.py" <<'PYEOF'
"""Read every step's record and outputs; print one JSON object and write it to summary.json."""
import json
import os
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

work, out_dir, budget, total, py, workflow_dir, keep, device, dry_run = sys.argv[1:10]
work, out_dir, workflow_dir = Path(work), Path(out_dir), Path(workflow_dir)


def tail(path, n=2000):
    try:
        return Path(path).read_text(errors="replace")[-n:]
    except OSError:
        return ""


def first_json(text):
    """The first JSON object in a benchmark's stdout (it may print other lines around it)."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            return decoder.raw_decode(text[match.start():])[0]
        except ValueError:
            continue
    return None


steps = {}
for line in (work / "steps.tsv").read_text().splitlines():
    name, status, rc, seconds, timeout, reason = (line.split("\t") + [""] * 6)[:6]
    steps[name] = {"status": status, "rc": int(rc) if rc not in ("", None) else None,
                   "seconds": float(seconds or 0), "timeout_s": int(timeout) if timeout else None}
    if reason:
        steps[name]["reason"] = reason

preflight = {}
try:
    preflight = json.loads((work / "preflight.json").read_text())
except (OSError, ValueError):
    pass
if "preflight" in steps:
    steps["preflight"]["python"] = preflight
    if (work / "wheels.log").exists():
        steps["preflight"]["wheels_log"] = tail(work / "wheels.log", 1000)

# pytest: counts from the JUnit file
step = steps.get("pytest_gpu")
if step is not None and step["status"] != "skipped":
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    try:
        root = ET.parse(out_dir / "pytest_gpu.xml").getroot()
        failures = []
        for case in root.iter("testcase"):
            kinds = {child.tag for child in case}
            test_id = f"{case.get('classname')}::{case.get('name')}"
            if "failure" in kinds or "error" in kinds:
                counts["failed" if "failure" in kinds else "errors"] += 1
                child = case.find("failure") if "failure" in kinds else case.find("error")
                failures.append({"test": test_id, "message": (child.get("message") or "")[:400]})
            elif "skipped" in kinds:
                counts["skipped"] += 1
            else:
                counts["passed"] += 1
        step.update(counts)
        step["failures"] = failures[:20]
    except (OSError, ET.ParseError) as exc:
        step["parse_error"] = f"{type(exc).__name__}: {exc}"
    step["ok"] = (step["status"] == "ok" and step.get("passed", 0) > 0 and step.get("failed", 1) == 0
                  and step.get("errors", 1) == 0 and step.get("skipped", 1) == 0)
    if not step["ok"]:
        step["log_tail"] = tail(out_dir / "pytest_gpu.log", 3000)
    step["log"] = str(out_dir / "pytest_gpu.log")

# benchmarks: their JSON
for name, step in steps.items():
    if not name.startswith("bench_"):
        continue
    if step["status"] == "skipped":
        step["ok"] = step.get("reason", "").endswith("has no --device option")  # not run, as asked
        continue
    text = tail(work / f"{name}.out", 10**7)
    result = first_json(text)
    step["result"] = result
    step["ok"] = step["status"] == "ok" and result is not None
    if result is None and step["status"] == "ok":
        step["parse_error"] = "no JSON object in the benchmark's output"
    if not step["ok"]:
        step["stdout_tail"] = text[-1500:]
        step["stderr_tail"] = tail(work / f"{name}.err", 2500)

# workflow: Snakemake's progress, the stage commands it ran on CUDA, failed rules
step = steps.get("workflow_tiny")
if step is not None and step["status"] != "skipped":
    text = tail(out_dir / "workflow.log", 10**8)
    done = re.findall(r"(\d+) of (\d+) steps \((\d+)%\) done", text)
    if done:
        step["jobs_done"], step["jobs_total"] = int(done[-1][0]), int(done[-1][1])
    step["stage_commands_on_cuda"] = len(re.findall(r"--device cuda\b", text))
    step["stage_commands_on_cpu"] = len(re.findall(r"--device cpu\b", text))
    step["stage_commands_on_auto"] = len(re.findall(r"--device auto\b", text))
    step["failed_rules"] = sorted(set(re.findall(r"Error in rule (\S+?):", text)))
    results = workflow_dir / "results"
    step["model_files"] = sum(1 for _ in results.rglob("model.h5")) if results.exists() else 0
    logs = results / "logs"
    step["stage_logs_naming_cuda"] = (sum(1 for p in logs.rglob("*.log") if "cuda" in p.read_text(errors="replace"))
                                      if logs.exists() else 0)
    step["ok"] = (step["status"] == "ok" and step.get("jobs_done") == step.get("jobs_total")
                  and step[f"stage_commands_on_{device}"] > 0 and not step["failed_rules"])
    if not step["ok"]:
        step["log_tail"] = tail(out_dir / "workflow.log", 4000)
    step["log"] = str(out_dir / "workflow.log")
    if keep == "1":
        step["directory"] = str(workflow_dir)
elif step is not None:
    step["ok"] = False

for step in steps.values():
    step.setdefault("ok", step["status"] == "ok")
summary = {
    "dry_run": dry_run == "1",  # everything on the CPU: a check of the script, not of CUDA
    "ok": all(s["ok"] for s in steps.values()) and {"pytest_gpu", "workflow_tiny"} <= set(steps),
    "device": {k: preflight.get(k) for k in ("device_name", "capability", "memory_gib", "torch", "torch_cuda")},
    "python": py,
    "budget_s": float(budget),
    "total_s": float(total),
    "within_budget": float(total) <= float(budget),
    "out_dir": str(out_dir),
    "steps": steps,
}
if keep == "1":
    summary["work_dir"] = str(work)
text = json.dumps(summary, indent=2)
(out_dir / "summary.json").write_text(text + "\n")
print(text)
sys.exit(0 if summary["ok"] else 1)
PYEOF
log "summary"
rc=0
"$PY" "$WORK/summarise.py" "$WORK" "$OUT_DIR" "$BUDGET_S" "$(seconds_since "$START_MS")" "$PY" \
    "$WORKFLOW_DIR" "$KEEP" "$DEVICE" "$DRY_RUN" || rc=$?
exit "$rc"
