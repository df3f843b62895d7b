#!/usr/bin/env bash
# ansible-test for a checkout whose root is the collection root:
#   tests/utils/ansible-test.sh sanity [args]   every sanity test that works offline, over the whole tree
#   tests/utils/ansible-test.sh units [args]    the unit tests (tests/unit) as ansible-test runs them
# ansible-test insists on a physical .../ansible_collections/<ns>/<name> working directory, so a copy
# of the checkout is tested.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
py=$(command -v python)
pyver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

# ansible-test bootstraps pip in its venvs from a script it downloads from a host this machine
# cannot reach; a stand-in that installs pip from its wheel (PyPI is reachable) does the same job.
pipv=$(grep -oP "pip='\K[^']+" "$("$py" -c 'import ansible_test,os;print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py")
cache=$HOME/.ansible/test/cache
stand_in=$cache/get_pip_${pipv//./_}.py
if [ ! -f "$stand_in" ]; then
  mkdir -p "$cache"
  "$py" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: "pip==$pipv" -d "$cache"
  cat > "$stand_in" <<PY
"""Offline stand-in for ansible-test's get-pip-${pipv}.py: run pip from its wheel to install itself."""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'pip-${pipv}-py3-none-any.whl'))
from pip._internal.cli.main import main
args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
sys.exit(main(['install', '--upgrade', '--force-reinstall', '--no-cache-dir'] + args))
PY
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/ansible_collections/kibana_gitops/connectors
mkdir -p "$dest"
# only what git tracks or would track (no venv, no caches)
(cd "$root" && git ls-files -z --cached --others --exclude-standard \
  | tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -xf - -C "$dest"
cd "$dest"
git init -q . && git add -A >/dev/null 2>&1
command=${1:?usage: ansible-test.sh sanity|units [ansible-test args]}
shift
case $command in
  # The whole tree, tests/ included; exceptions live in tests/sanity/ignore-<core>.txt, each with its reason.
  sanity) ansible-test sanity --local --python "$pyver" --color no "$@" ;;
  units) ansible-test units --local --python "$pyver" --color no "$@" ;;
  *) echo "ansible-test.sh: unknown command $command" >&2; exit 2 ;;
esac
