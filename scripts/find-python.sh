#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter that really runs (TFX 1.16 needs 3.10).
# A `python3.10` on PATH can be a pyenv shim that fails, so each candidate is executed.
set -u
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' >/dev/null 2>&1; }
candidates=()
[ -n "${PYTHON310:-}" ] && candidates+=("$PYTHON310")
candidates+=(python3.10)
# pyenv's interpreters, whether or not `pyenv` itself is on PATH.
roots=("${PYENV_ROOT:-}" "${HOME:-/root}/.pyenv")
command -v pyenv >/dev/null 2>&1 && roots+=("$(pyenv root 2>/dev/null)")
for root in "${roots[@]}"; do
  [ -n "$root" ] || continue
  for v in $(ls -d "$root"/versions/3.10.* 2>/dev/null | sort -rV); do candidates+=("$v/bin/python3.10"); done
done
candidates+=(/usr/local/bin/python3.10 /usr/bin/python3.10)
for c in "${candidates[@]}"; do
  if ok "$c"; then command -v "$c" 2>/dev/null || echo "$c"; exit 0; fi
done
echo "driftline needs Python 3.10 (TFX 1.16 supports no other): install it, e.g. 'pyenv install 3.10.13' or 'apt-get install python3.10', or set PYTHON310=/path/to/python3.10" >&2
exit 1
