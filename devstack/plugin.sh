#!/bin/bash
# devstack plugin entry point for glance: dispatches devstack's phases to the
# functions in lib/glance. Enable it in local.conf with
#     enable_plugin glance <git URL of this repository> [branch]

GLANCE_PLUGIN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=devstack/lib/glance
source "$GLANCE_PLUGIN_DIR/lib/glance"

if is_service_enabled g-api; then
    case "$1/$2" in
        stack/install)
            echo_summary "Installing glance"
            install_glance_api
            ;;
        stack/post-config)
            echo_summary "Configuring glance"
            configure_glance_api
            init_glance_api
            ;;
        stack/extra)
            echo_summary "Starting glance"
            start_glance_api
            ;;
        unstack/*)
            stop_glance_api
            ;;
        clean/*)
            cleanup_glance_api
            ;;
    esac
fi
