#!/bin/bash
# Builds the Pulumi toolchain from Go modules through the Go module proxy, with the machine's Go,
# into a versioned cache folder outside the repo, and installs the plugins from those files.
#
# Why from source: no Debian package ships Pulumi, the npm `pulumi` package downloads the CLI at
# run time, and nothing may download a prebuilt binary here. A complete cache skips the build.
#
# Prints each step's duration. Writes `$TOOLCHAIN_DIR/env.sh` for other scripts to source.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/toolchain-versions.sh
. "$here/scripts/toolchain-versions.sh"

T0=$(date +%s)
step() { echo "[toolchain +$(($(date +%s) - T0))s] $*"; }

mkdir -p "$TOOLCHAIN_DIR/bin" "$TOOLCHAIN_DIR/status"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GONOSUMDB=github.com/pulumi GOTOOLCHAIN=local
export GOMODCACHE=${GOMODCACHE:-$(go env GOMODCACHE)}
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

# go_module_dir MODULE VERSION: downloads a module through the proxy and prints a writable copy.
# `go install mod@version` refuses modules whose go.mod has replace directives, so we build a copy.
go_module_dir() {
  local json dir
  json=$(go mod download -json "$1@$2") || {
    echo "$json" >&2
    return 1
  }
  dir=$(printf '%s' "$json" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
  cp -r "$dir" "$work/$(basename "$1")-$2"
  chmod -R u+w "$work/$(basename "$1")-$2"
  echo "$work/$(basename "$1")-$2"
}

# drop_relative_replaces DIR: removes `replace x => ../path` lines, which point into the monorepo
# checkout and do not exist in a module download; module-to-module replaces stay.
drop_relative_replaces() {
  (cd "$1" && go mod edit -json | node -e '
    const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
    for (const r of m.Replace ?? []) if (r.New.Path.startsWith(".")) console.log(r.Old.Path);
  ' | while read -r old; do go mod edit -dropreplace="$old"; done)
}

go_build() { # DIR PACKAGE OUTPUT LDFLAGS
  (cd "$1" && go build -p 1 -trimpath -ldflags "-s -w $4" -o "$3" "$2")
}

# Each binary is built once into a folder of its own under $RUNNER_FLEET_CACHE/build, keyed by
# what it is built from; the toolchain folder gets copies. So a change to one stand-in rebuilds
# that stand-in only, never the CLI.
build_root="$RUNNER_FLEET_CACHE/build"
goversion=$(go env GOVERSION)
install_binary() { # BUILT-FILE NAME: copy a built binary into the toolchain's bin
  cp "$1" "$TOOLCHAIN_DIR/bin/$2.partial" && mv "$TOOLCHAIN_DIR/bin/$2.partial" "$TOOLCHAIN_DIR/bin/$2"
}

# ---- pulumi CLI ---------------------------------------------------------------------------------
cli="$build_root/pulumi-$PULUMI_VERSION-$goversion/pulumi"
if [ -x "$cli" ]; then
  step "pulumi $PULUMI_VERSION: cached"
else
  step "pulumi $PULUMI_VERSION: downloading github.com/pulumi/pulumi/pkg/v3@v$PULUMI_VERSION"
  src=$(go_module_dir github.com/pulumi/pulumi/pkg/v3 "v$PULUMI_VERSION")
  drop_relative_replaces "$src"
  (cd "$src" && go mod edit -require="github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION")
  step "pulumi $PULUMI_VERSION: building"
  mkdir -p "$(dirname "$cli")"
  go_build "$src" ./cmd/pulumi "$cli.partial" \
    "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
  mv "$cli.partial" "$cli"
  step "pulumi $PULUMI_VERSION: built"
fi
install_binary "$cli" pulumi

# ---- provider plugins and the language host -----------------------------------------------------
# A module the proxy does not serve is recorded as blocked, with the proxy's exact answer, instead
# of failing the whole toolchain; where the project has a stand-in, that is built instead.
build_plugin() { # NAME MODULE VERSION PACKAGE LDFLAGS
  local name=$1 mod=$2 ver=$3 pkg=$4 out="$build_root/$1-$3-$goversion/$1" err src
  rm -f "$TOOLCHAIN_DIR/status/$name."*
  if [ ! -x "$out" ]; then
    if ! err=$(go mod download -json "$mod@$ver" 2>&1); then
      printf '%s@%s: %s\n' "$mod" "$ver" "$(printf '%s' "$err" | sed -n 's/.*"Error": "\(.*\)".*/\1/p' | head -1)" \
        >"$TOOLCHAIN_DIR/status/$name.blocked"
      step "$name: BLOCKED, $(cat "$TOOLCHAIN_DIR/status/$name.blocked")"
      return 0
    fi
    src=$(go_module_dir "$mod" "$ver")
    drop_relative_replaces "$src"
    step "$name: building"
    mkdir -p "$(dirname "$out")"
    go_build "$src" "$pkg" "$out.partial" "$5"
    mv "$out.partial" "$out"
    step "$name: built"
  else
    step "$name: cached"
  fi
  install_binary "$out" "$name"
}

# build_standin NAME FOLDER LDFLAGS: the project's own stand-in for a plugin whose official module
# is not served (toolchain/FOLDER, see its README), recorded as a substitute.
build_standin() {
  local name=$1 folder=$2 hash out
  [ -f "$TOOLCHAIN_DIR/status/$name.blocked" ] || return 0
  hash=$(cat "$here/toolchain/$folder/"{go.mod,*.go} | sha256sum | cut -c1-12)
  out="$build_root/$name-standin-$hash-$goversion/$name"
  if [ -x "$out" ]; then
    step "$name: stand-in cached"
  else
    step "$name: building the stand-in from toolchain/$folder"
    cp -r "$here/toolchain/$folder" "$work/$folder"
    mkdir -p "$(dirname "$out")"
    go_build "$work/$folder" . "$out.partial" "$3"
    mv "$out.partial" "$out"
    step "$name: stand-in built"
  fi
  install_binary "$out" "$name"
  echo "stand-in built from toolchain/$folder" >"$TOOLCHAIN_DIR/status/$name.substitute"
}

build_plugin pulumi-language-nodejs "$LANGUAGE_NODEJS_MODULE" "$LANGUAGE_NODEJS_VERSION" . \
  "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
build_plugin pulumi-resource-openstack "$OPENSTACK_MODULE" "$OPENSTACK_MODULE_VERSION" \
  ./cmd/pulumi-resource-openstack \
  "-X github.com/pulumi/pulumi-openstack/provider/v3/pkg/version.Version=v$OPENSTACK_VERSION"
build_standin pulumi-resource-openstack openstack-provider "-X main.version=$OPENSTACK_VERSION"
build_plugin pulumi-resource-command "$COMMAND_MODULE" "$COMMAND_MODULE_VERSION" \
  ./cmd/pulumi-resource-command \
  "-X github.com/pulumi/pulumi-command/provider/pkg/version.Version=v$COMMAND_VERSION"
build_standin pulumi-resource-command command-provider ""

# ---- install plugins from the files, never from the network ------------------------------------
export PULUMI_HOME="$TOOLCHAIN_DIR/pulumi-home" PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
for p in openstack:$OPENSTACK_VERSION command:$COMMAND_VERSION; do
  name=${p%%:*} ver=${p##*:}
  bin="$TOOLCHAIN_DIR/bin/pulumi-resource-$name"
  [ -x "$bin" ] || continue
  "$TOOLCHAIN_DIR/bin/pulumi" plugin install resource "$name" "$ver" --file "$bin" >/dev/null
  step "plugin $name $ver installed from $bin"
done

cat >"$TOOLCHAIN_DIR/env.sh" <<ENV
# Generated by scripts/toolchain.sh: puts the locally built Pulumi first and forbids downloads.
export PATH="$TOOLCHAIN_DIR/bin:\$PATH"
export PULUMI_HOME="$TOOLCHAIN_DIR/pulumi-home"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
ENV
"$TOOLCHAIN_DIR/bin/pulumi" version
step "done: $TOOLCHAIN_DIR"
