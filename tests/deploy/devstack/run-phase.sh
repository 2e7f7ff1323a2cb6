#!/bin/bash
# Run one devstack phase of the plugin the way devstack does: the stubs of
# devstack's functions, then the plugin's settings, then plugin.sh PHASE [SUBPHASE].
# Usage: run-phase.sh PLUGIN_DIR PHASE [SUBPHASE]
set -eu -o pipefail
plugin_dir=$1
shift
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/deploy/devstack/stubs.sh
source "$here/stubs.sh"
set +u  # devstack's own scripts do not run with -u
# shellcheck source=devstack/settings
source "$plugin_dir/settings"
# shellcheck source=devstack/plugin.sh
source "$plugin_dir/plugin.sh" "$@"
