#!/bin/sh
# Builds the packet-socket addon with node-gyp against the headers of the
# running Node.js, so no header tarball is downloaded (build machines often
# cannot reach nodejs.org). Run by the root package's "install" script.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
node=${npm_node_execpath:-$(command -v node)}
# Node installs its headers next to the binary: <prefix>/bin/node, <prefix>/include/node.
prefix=$(cd "$(dirname "$node")/.." && pwd)
set -- rebuild --directory="$here"
if [ -f "$prefix/include/node/node_api.h" ]; then
  set -- "$@" --nodedir="$prefix"
else
  echo "herald: no Node.js headers under $prefix/include/node; node-gyp will try to download them" >&2
fi
# npm names its bundled node-gyp in npm_config_node_gyp and puts it on PATH for scripts.
if [ -n "${npm_config_node_gyp:-}" ]; then
  exec "$node" "$npm_config_node_gyp" "$@"
fi
exec node-gyp "$@"
