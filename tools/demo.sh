#!/usr/bin/env bash
# `make demo`: make a busybox bundle, run a container with glassrun under
# glasstrace, and show what happened: the container's output, the step
# summary, the audit of its first program, the start-up critical path, and
# where the trace files are (JSON Lines, strace text, Perfetto).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${GLASSRUN_BUILD:-$PWD/build}
glassrun=$build/runtime/glassrun
glasstrace=$build/tracer/glasstrace
out=${DEMO_DIR:-$PWD/demo}
mkdir -p "$out"
id=demo-$$

echo "== making a busybox bundle in $out/bundle"
tools/mkbundle -o "$out/bundle" -- sh -c 'echo "hello from $(hostname), pid $$ in its own pid namespace"; id; cat /proc/self/cgroup | head -3'

echo "== glassrun --trace $out/trace.jsonl run -b $out/bundle $id"
"$glassrun" --root "$out/state" --trace "$out/trace.jsonl" run -b "$out/bundle" "$id"

"$glasstrace" show "$out/trace.jsonl" --format strace > "$out/trace.strace.txt"
"$glasstrace" show "$out/trace.jsonl" --format chrome > "$out/trace.perfetto.json"
echo
echo "== what glassrun did, step by step (glasstrace show --format summary)"
"$glasstrace" show "$out/trace.jsonl" --format summary | sed -n '1,/^$/p'
echo "== what the container's first program inherited (glasstrace audit)"
"$glasstrace" audit "$out/trace.jsonl"
echo
echo "== the start-up critical path: per step, wall / on-CPU / waiting for a CPU / blocked (glasstrace critical-path)"
"$glasstrace" critical-path "$out/trace.jsonl"
echo
echo "== the kernel-facing milestones (glasstrace milestones)"
"$glasstrace" milestones "$out/trace.jsonl" | head -40
echo
echo "== trace files"
echo "  $out/trace.jsonl           every event, JSON Lines (docs/TRACE_SCHEMA.md)"
echo "  $out/trace.strace.txt      strace -f style"
echo "  $out/trace.perfetto.json   open in https://ui.perfetto.dev (or chrome://tracing): per task a (cpu state) track, and the critical path tracks"
rm -rf "$out/state"
