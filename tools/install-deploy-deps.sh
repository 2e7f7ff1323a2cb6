#!/bin/bash
# Install what the deployment test tiers need, idempotently:
#   Apache httpd with its development files (Debian apache2 + apache2-dev),
#   mod_wsgi and uwsgi compiled against the project's own Python (the venv), and
#   memcached (the Keystone tier's token-cache test starts its own).
#
# Usage: tools/install-deploy-deps.sh [VENV]   (default: .venv next to this repo)
# Environment: SKIP_APT=1 skips apt-get (e.g. when apache2 is installed another way).
#              GLANCE_DEPLOY_USER (default: glance) is the unprivileged account the
#              mod_wsgi daemon runs as in the tests (mod_wsgi refuses root). It is
#              created if missing and given traverse (x) access, by ACL, to every
#              directory on the way to the venv and its interpreter that it lacks.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${1:-${VENV:-$here/.venv}}
pip=$venv/bin/pip

need_apt=()
command -v apache2 >/dev/null 2>&1 || [ -x /usr/sbin/apache2 ] || need_apt+=(apache2)
command -v apxs >/dev/null 2>&1 || [ -x /usr/bin/apxs ] || need_apt+=(apache2-dev)
command -v setfacl >/dev/null 2>&1 || need_apt+=(acl)
command -v memcached >/dev/null 2>&1 || [ -x /usr/bin/memcached ] || need_apt+=(memcached)

if [ "${#need_apt[@]}" -gt 0 ] && [ "${SKIP_APT:-0}" != 1 ]; then
    sudo=""
    if [ "$(id -u)" != 0 ]; then
        sudo=sudo
    fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -q
    $sudo apt-get install -y -q --no-install-recommends "${need_apt[@]}"
    # The Debian package enables and starts a default site on port 80; our
    # tests run their own httpd instances and do not need it.
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active -q apache2 2>/dev/null; then
        $sudo systemctl stop apache2 || true
    fi
fi

missing=()
"$venv/bin/python" -c "import mod_wsgi.server" 2>/dev/null || missing+=(mod_wsgi)
[ -x "$venv/bin/uwsgi" ] || missing+=(uwsgi)
if [ "${#missing[@]}" -gt 0 ]; then
    # Both compile C against the venv's interpreter (mod_wsgi also uses apxs).
    "$pip" install -q "${missing[@]}"
fi

# The account that runs the mod_wsgi daemon must be able to read the venv and
# the interpreter it points at (e.g. pyenv under /root, mode 0700).
user=${GLANCE_DEPLOY_USER:-glance}
if [ "$(id -u)" = 0 ]; then
    if ! id "$user" >/dev/null 2>&1; then
        useradd --system --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin "$user"
    fi
    real_python=$(readlink -f "$venv/bin/python")
    base_prefix=$("$venv/bin/python" -c 'import sys; print(sys.base_prefix)')
    for target in "$venv" "$real_python" "$base_prefix"; do
        # Walk from / down, so a parent's grant is in place before its child is tested.
        dir=""
        IFS=/ read -r -a parts <<<"${target#/}"
        for part in "${parts[@]:0:${#parts[@]}-1}"; do
            dir="$dir/$part"
            if ! runuser -u "$user" -- test -x "$dir" 2>/dev/null; then
                setfacl -m "u:$user:x" "$dir"
                echo "granted $user traverse access to $dir"
            fi
        done
    done
    if ! runuser -u "$user" -- "$venv/bin/python" -c 'import glance, mod_wsgi' 2>/dev/null; then
        echo "WARNING: $user cannot import glance and mod_wsgi with $venv/bin/python" >&2
    fi
fi

echo "apache2: $(/usr/sbin/apache2 -v 2>/dev/null | head -1)"
echo "mod_wsgi: $("$venv/bin/mod_wsgi-express" module-location)"
echo "uwsgi: $("$venv/bin/uwsgi" --version)"
