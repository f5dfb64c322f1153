#!/usr/bin/env bash
# Runs the calibrations and evaluations behind ACCURACY.md one after another,
# logs each command with its output under calib/out/, and appends each eval
# result to calib/accuracy-results.json. Usage: calib/run-accuracy.sh JOB...
# where JOB is cal:MODEL:K:RATIO (calibrate, then eval the written file),
# evalfile:MODEL:FILE or evalflags:MODEL:NAME:RETENTION:K.
set -u
cd "$(dirname "$0")/.."
DATA=calib/sst2-train-300.jsonl
DEV=../shared/data/glue/SST-2
MAX_EVALUATIONS=${MAX_EVALUATIONS:-10}
LOG=calib/out/commands.log

model_dir() {
  case "$1" in
    mini) echo models/sst2-bert-mini ;;
    distilled) echo models/sst2-bert-mini-fca-distilled ;;
    shared-fca) echo ../shared/models/sst2-bert-mini-fca ;;
    # Not shipped: the finetune command in ACCURACY.md writes these two (about 6 minutes each).
    k1-tuned) echo runs/k1-r0.01 ;;
    k1-tuned-seed3) echo runs/k1-r0.01-seed3 ;;
    *) echo "invalid model key '$1'; use mini, distilled, shared-fca, k1-tuned or k1-tuned-seed3" >&2; exit 2 ;;
  esac
}

# Calibrate command of the current cal job, recorded with its eval result.
CALIBRATE_COMMAND=

# Runs one eval and records it. Arguments: NAME MODEL_KEY CALIBRATION_FILE (or -) EVAL_ARGS...
run_eval() {
  local name=$1 key=$2 calfile=$3; shift 3
  local dir
  dir=$(model_dir "$key") || return 2
  local cmd=(node bin/fca-webgpu.mjs eval --model "$dir" --data "$DEV" "$@" --json)
  echo "$(date -u +%FT%TZ) START ${cmd[*]}" >>"$LOG"
  local start=$SECONDS
  "${cmd[@]}" >"calib/out/eval-$name.json" 2>"calib/out/eval-$name.err"
  local rc=$?
  echo "$(date -u +%FT%TZ) END rc=$rc $((SECONDS - start))s eval-$name" >>"$LOG"
  [ $rc -eq 0 ] || return $rc
  node calib/append-result.mjs "$name" "$key" "$calfile" "calib/out/eval-$name.json" "${cmd[*]}" "$((SECONDS - start))" "$CALIBRATE_COMMAND"
}

for job in "$@"; do
  IFS=: read -r kind a b c d <<<"$job"
  CALIBRATE_COMMAND=
  case "$kind" in
    cal)
      name="$a-k$b-r$c"; file="calib/$name.json"
      if [ ! -f "$file" ]; then
        dir=$(model_dir "$a") || continue
        cmd=(node bin/fca-webgpu.mjs calibrate --model "$dir" --data "$DATA" --flops-ratio "$c" --clusters "$b" --max-evaluations "$MAX_EVALUATIONS" --output "$file")
        CALIBRATE_COMMAND="${cmd[*]}"
        echo "$(date -u +%FT%TZ) START ${cmd[*]}" >>"$LOG"
        start=$SECONDS
        "${cmd[@]}" >"calib/out/calibrate-$name.txt" 2>&1
        rc=$?
        echo "$(date -u +%FT%TZ) END rc=$rc $((SECONDS - start))s calibrate-$name" >>"$LOG"
        [ $rc -eq 0 ] || continue
      fi
      run_eval "$name" "$a" "$file" --retention-file "$file" ;;
    evalfile)
      name="$a-on-$(basename "$b" .json)"
      run_eval "$name" "$a" "$b" --retention-file "$b" ;;
    evalflags)
      run_eval "$a-$b" "$a" - --retention "$c" --clusters "$d" ;;
    *) echo "invalid job '$job'; use cal:MODEL:K:RATIO, evalfile:MODEL:FILE or evalflags:MODEL:NAME:RETENTION:K" >&2 ;;
  esac
done
