#!/usr/bin/env bash
# The Debian packages tests use: prometheus (promtool, and a real Prometheus scraping a
# real server), chromium (the dashboard in a headless browser) and mariadb-server (MLMD
# on MySQL, a private server per test session); and wrk, the load generator `make bench`
# drives the model server with. Installed when
# missing if this is root with apt; otherwise the tests that need them skip with a
# message naming the package (a failure under CI=true).
set -u
missing=()
{ command -v promtool && command -v prometheus; } >/dev/null 2>&1 || missing+=(prometheus)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
{ command -v mariadbd && command -v mariadb-install-db; } >/dev/null 2>&1 || missing+=(mariadb-server)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages the tests use: ${missing[*]} ..."
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q "${missing[@]}" >/dev/null 2>&1; then
    apt-get update -q >/dev/null 2>&1
    apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 ||
      echo "could not install ${missing[*]}: the tests that need them will skip (fail under CI=true)"
  fi
else
  echo "missing Debian packages: ${missing[*]}; the tests that need them will skip" \
       "(fail under CI=true). As root: apt-get install ${missing[*]}"
fi
exit 0
