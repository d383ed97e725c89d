# Versions of the Pulumi toolchain, sourced by scripts/toolchain.sh and the scripts that use it.
# The cache folder's name carries every version, so a change here builds a new folder.

# CLI: the Go proxy's nearest version not older than the installed @pulumi/pulumi (3.270.0; the
# proxy does not serve pkg/v3 v3.270.0). A CLI newer than the SDK is supported, older is not.
PULUMI_VERSION=3.274.1
# The language host has no tags: its versions are commit pseudo-versions of the CLI's commit.
LANGUAGE_NODEJS_MODULE=github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3
LANGUAGE_NODEJS_VERSION=latest
# @pulumi/openstack 3.15.2: the provider module has no provider/ tags; this is the pseudo-version
# of the v3.15.2 release commit a9de4228c2fb (2024-03-29T19:16:09Z).
OPENSTACK_VERSION=3.15.2
OPENSTACK_MODULE=github.com/pulumi/pulumi-openstack/provider/v3
OPENSTACK_MODULE_VERSION=v3.0.0-20240329191609-a9de4228c2fb
# @pulumi/command 1.2.1: pseudo-version of the v1.2.1 release commit 7f3eb6f3b77c.
COMMAND_VERSION=1.2.1
COMMAND_MODULE=github.com/pulumi/pulumi-command/provider
COMMAND_MODULE_VERSION=v0.0.0-20260303235922-7f3eb6f3b77c

RUNNER_FLEET_CACHE=${RUNNER_FLEET_CACHE:-/var/cache/runner-fleet}
# The stand-in providers' sources are part of the key: a change to them rebuilds them.
_rf_standin=$(cat "$(dirname "${BASH_SOURCE[0]}")/../toolchain/"*-provider/{go.mod,*.go} | sha256sum | cut -c1-8)
TOOLCHAIN_DIR=${TOOLCHAIN_DIR:-$RUNNER_FLEET_CACHE/toolchain-pulumi$PULUMI_VERSION-openstack$OPENSTACK_VERSION-$_rf_standin-command$COMMAND_VERSION-$(go env GOVERSION)}
