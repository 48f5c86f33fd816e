# Shared by the command-line tests. Source it after setting $program and $work:
#   check NAME CONDITION...   reports ok/FAILED and counts failures
#   run ARGS...               runs $program, sets $code, $out, $err
failures=0
check() {
  local name=$1
  shift
  if "$@"; then echo "ok: $name"; else echo "FAILED: $name"; failures=$((failures + 1)); fi
}
run() {
  "$program" "$@" >"$work/out" 2>"$work/err"
  code=$?
  out=$(cat "$work/out")
  err=$(cat "$work/err")
}
