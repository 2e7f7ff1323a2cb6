#!/bin/bash
# Stand-ins for the few parts of devstack's shell API that devstack/plugin.sh
# calls. They are test doubles, not the code under test: calls that would touch
# Keystone, a database server or packages are recorded in $STUB_LOG; iniset,
# the Apache helpers and run_process really act, inside the harness directory.
#
# Needs: STUB_LOG, STUB_DIR (scratch), STUB_PYTHON, APACHE_PORT, APACHE_SITES_DIR,
# APACHE_ENABLED_DIR, APACHE_ENVVARS, and the usual devstack globals.

function _stub_record {
    echo "$*" >>"$STUB_LOG"
}

function echo_summary {
    echo "== $*"
}

function die {
    local line=$1
    shift
    echo "ERROR (line $line): $*" >&2
    exit 1
}

function sudo {
    "$@"
}

function trueorfalse {
    local default=$1 name=$2
    local value=${!name:-$default}
    case ${value,,} in
        1 | yes | true | on) echo True ;;
        0 | no | false | off) echo False ;;
        *) echo "$default" ;;
    esac
}

function is_service_enabled {
    local service
    for service in "$@"; do
        if [[ ",$ENABLED_SERVICES," == *",$service,"* ]]; then
            return 0
        fi
    done
    return 1
}

function enable_service {
    local service
    for service in "$@"; do
        is_service_enabled "$service" || ENABLED_SERVICES+=",$service"
    done
}

# iniset FILE SECTION OPTION VALUE: set one option, creating the file/section.
function iniset {
    "$STUB_PYTHON" - "$@" <<'PY'
import sys
path, section, option, value = sys.argv[1:5]
try:
    lines = open(path).read().splitlines()
except FileNotFoundError:
    lines = []
out, current, done = [], None, False
for line in lines:
    stripped = line.strip()
    if stripped.startswith("[") and stripped.endswith("]"):
        if current == section and not done:
            out.append(f"{option} = {value}")
            done = True
        current = stripped[1:-1]
    elif current == section and not done and stripped.split("=")[0].strip() == option:
        out.append(f"{option} = {value}")
        done = True
        continue
    out.append(line)
if not done:
    if current != section:
        out.append(f"[{section}]")
    out.append(f"{option} = {value}")
open(path, "w").write("\n".join(out) + "\n")
PY
}

function setup_develop {
    _stub_record setup_develop "$@"
}

function pip_install {
    _stub_record pip_install "$@"
}

function install_package {
    _stub_record install_package "$@"
}

function install_apache_wsgi {
    _stub_record install_apache_wsgi
}

function enable_apache_mod {
    _stub_record enable_apache_mod "$@"
}

function apache_site_config_for {
    echo "$APACHE_SITES_DIR/$1.conf"
}

function enable_apache_site {
    _stub_record enable_apache_site "$@"
    ln -sf "$APACHE_SITES_DIR/$1.conf" "$APACHE_ENABLED_DIR/$1.conf"
}

function disable_apache_site {
    _stub_record disable_apache_site "$@"
    rm -f "$APACHE_ENABLED_DIR/$1.conf"
}

# restart_apache_server: (re)start a private httpd standing in for the system
# one: its main server listens on $APACHE_PORT (in place of 80) and includes the
# wsgi.load the plugin wrote and every enabled site.
function restart_apache_server {
    _stub_record restart_apache_server
    local conf=$STUB_DIR/apache/httpd.conf pidfile=$STUB_DIR/apache/httpd.pid
    local modules=/usr/lib/apache2/modules
    local action=start
    if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        action=restart
    fi
    mkdir -p "$STUB_DIR/apache/run" "$APACHE_LOG_DIR"
    cat >"$conf" <<EOF
ServerRoot "$STUB_DIR/apache"
ServerName 127.0.0.1
PidFile $pidfile
DefaultRuntimeDir $STUB_DIR/apache/run
ErrorLog $APACHE_LOG_DIR/error.log
LogLevel warn wsgi:info
Listen 127.0.0.1:$APACHE_PORT
LoadModule mpm_event_module $modules/mod_mpm_event.so
LoadModule authz_core_module $modules/mod_authz_core.so
LoadModule setenvif_module $modules/mod_setenvif.so
Include $GLANCE_APACHE_MODS_DIR/wsgi.load
WSGISocketPrefix $STUB_DIR/apache/run/wsgi
IncludeOptional $APACHE_ENABLED_DIR/*.conf
EOF
    # Like Debian's apache2ctl: the environment comes from envvars.
    (
        set -e
        # shellcheck disable=SC1090
        [[ -f "$APACHE_ENVVARS" ]] && source "$APACHE_ENVVARS"
        /usr/sbin/apache2 -f "$conf" -k "$action"
    )
}

function recreate_database {
    _stub_record recreate_database "$@"
    rm -f "$DATA_DIR/$1.sqlite"
}

function database_connection_url {
    echo "sqlite:///$DATA_DIR/$1.sqlite"
}

function create_service_user {
    _stub_record create_service_user "$@"
}

function get_or_create_service {
    _stub_record get_or_create_service "$@"
    echo "service-id-$1"
}

function get_or_create_endpoint {
    _stub_record get_or_create_endpoint "$@"
}

function configure_keystone_authtoken_middleware {
    _stub_record configure_keystone_authtoken_middleware "$@"
    local conf=$1 user=$2 section=${3:-keystone_authtoken}
    iniset "$conf" "$section" auth_type password
    iniset "$conf" "$section" auth_url "$KEYSTONE_SERVICE_URI"
    iniset "$conf" "$section" username "$user"
    iniset "$conf" "$section" password "$SERVICE_PASSWORD"
    iniset "$conf" "$section" project_name service
    iniset "$conf" "$section" www_authenticate_uri "$KEYSTONE_SERVICE_URI"
}

# run_process NAME COMMAND: in the background, in its own session; pid in a file.
function run_process {
    _stub_record run_process "$@"
    setsid bash -c "exec $2" >"$STUB_DIR/$1.log" 2>&1 </dev/null &
    echo $! >"$STUB_DIR/$1.pid"
}

function stop_process {
    _stub_record stop_process "$@"
    local pidfile=$STUB_DIR/$1.pid pid
    [[ -f "$pidfile" ]] || return 0
    pid=$(cat "$pidfile")
    # Like devstack's systemd units, stop the whole service: run_process made the
    # process the leader of its own session/group, so signal the group (workers too).
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 900); do
        kill -0 -- "-$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$pidfile"
}

# wait_for_service TIMEOUT URL: until URL answers at all.
function wait_for_service {
    local timeout=$1 url=$2 deadline
    deadline=$((SECONDS + timeout))
    while ((SECONDS < deadline)); do
        if curl -s -o /dev/null -m 5 "$url"; then
            return 0
        fi
        sleep 0.5
    done
    return 1
}
