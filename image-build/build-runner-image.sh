#!/bin/bash
# Bakes the GitHub runner into a copy of a base image and uploads it to Glance; prints the new
# image's id on stdout (the last line). Run by the RunnerImage component through @pulumi/command.
#
# No VM, no chroot, no loop device: the image's root filesystem is edited with e2fsprogs'
# debugfs, so it runs unprivileged on the machine that runs `pulumi up`. Packages the runner needs
# at job time (docker, jq, ...) are the base image's business, or cloud-init's.
#
# Environment (all required unless marked):
#   BASE_IMAGE        Glance name or id of the base image (ext4 filesystem or partitioned disk)
#   IMAGE_NAME        name of the new image
#   ARCHITECTURE      x86_64 or aarch64 (Glance property `architecture`)
#   RUNNER_VERSION    latest, or 2.x.y
#   GITHUB_API_URL    GitHub API base URL; GITHUB_PATH org or owner/repo (for the downloads list)
#   GITHUB_TOKEN      token for the downloads list (optional on github.com for pinned versions)
#   RUNNER_DIR        where the runner goes in the image (default /home/ubuntu/actions-runner)
#   OS_*              OpenStack credentials, as for the `openstack` CLI
set -euo pipefail
: "${BASE_IMAGE:?} ${IMAGE_NAME:?} ${ARCHITECTURE:?} ${RUNNER_VERSION:?} ${GITHUB_API_URL:?} ${GITHUB_PATH:?}"
RUNNER_DIR=${RUNNER_DIR:-/home/ubuntu/actions-runner}
log() { echo "build-runner-image: $*" >&2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

case "$ARCHITECTURE" in
  x86_64) gh_arch=x64 ;;
  aarch64) gh_arch=arm64 ;;
  *) log "ARCHITECTURE must be x86_64 or aarch64, got '$ARCHITECTURE'"; exit 2 ;;
esac
case "$GITHUB_PATH" in
  */*) owner="repos/$GITHUB_PATH" ;;
  *) owner="orgs/$GITHUB_PATH" ;;
esac

# ---- the runner tarball: from GitHub's downloads list, checksum verified -------------------------
auth=()
[ -n "${GITHUB_TOKEN:-}" ] && auth=(-H "Authorization: Bearer $GITHUB_TOKEN")
curl -fsS --retry 3 "${auth[@]}" -H "Accept: application/vnd.github+json" \
  "${GITHUB_API_URL%/}/$owner/actions/runners/downloads" >"$work/downloads.json"
entry=$(jq -c --arg a "$gh_arch" '.[] | select(.os == "linux" and .architecture == $a)' "$work/downloads.json")
[ -n "$entry" ] || { log "no linux/$gh_arch runner in the downloads list"; exit 1; }
url=$(jq -r .download_url <<<"$entry")
sha=$(jq -r .sha256_checksum <<<"$entry")
listed_version=$(jq -r .filename <<<"$entry" | sed -n 's/^actions-runner-linux-[a-z0-9]*-\([0-9.]*\)\.tar\.gz$/\1/p')
if [ "$RUNNER_VERSION" != latest ] && [ "$RUNNER_VERSION" != "$listed_version" ]; then
  # The list only holds the newest runner; older ones come from the release of that version.
  url="https://github.com/actions/runner/releases/download/v$RUNNER_VERSION/actions-runner-linux-$gh_arch-$RUNNER_VERSION.tar.gz"
  sha=""
fi
version=${listed_version:-$RUNNER_VERSION}
[ "$RUNNER_VERSION" = latest ] || version=$RUNNER_VERSION
log "runner $version for linux/$gh_arch"
curl -fsSL --retry 3 -o "$work/runner.tar.gz" "$url"
if [ -n "$sha" ]; then
  echo "$sha  $work/runner.tar.gz" | sha256sum -c --quiet - || { log "runner tarball checksum mismatch"; exit 1; }
fi
mkdir "$work/runner"
tar -xzf "$work/runner.tar.gz" -C "$work/runner"

# ---- the base image, as a raw disk ----------------------------------------------------------------
log "downloading base image $BASE_IMAGE"
openstack image save --file "$work/base" "$BASE_IMAGE"
qemu-img convert -O raw "$work/base" "$work/disk.raw"
rm -f "$work/base"

# The root filesystem: the whole disk, or the largest Linux partition of a partitioned one.
fs="$work/disk.raw"
offset=0
if sfdisk -J "$work/disk.raw" >"$work/parts.json" 2>/dev/null; then
  read -r start size < <(jq -r '.partitiontable.partitions | map(select(.type == "0FC63DAF-8483-4772-8E79-3D69D8477DE4" or .type == "83")) | max_by(.size) | "\(.start) \(.size)"' "$work/parts.json")
  offset=$((start * 512))
  dd if="$work/disk.raw" of="$work/root.fs" bs=512 skip="$start" count="$size" status=none
  fs="$work/root.fs"
fi

# ---- bake: copy the runner tree into RUNNER_DIR with debugfs ---------------------------------------
# debugfs writes files as root with mode 0644: set the mode of each file from the tarball, and
# hand the tree to the runner's user (ubuntu, uid 1000), which writes its config and logs there.
echo "$version" >"$work/runner/.runner-fleet-version"
cmds="$work/debugfs.cmds"
path=""
IFS=/ read -ra parts <<<"${RUNNER_DIR#/}"
for p in "${parts[@]}"; do
  path="$path/$p"
  echo "mkdir $path" >>"$cmds"
done
(cd "$work/runner" && find . -mindepth 1 -type d | sort) | while read -r d; do
  echo "mkdir $RUNNER_DIR/${d#./}" >>"$cmds"
done
(cd "$work/runner" && find . -type f | sort) | while read -r f; do
  echo "write $work/runner/${f#./} $RUNNER_DIR/${f#./}" >>"$cmds"
  echo "set_inode_field $RUNNER_DIR/${f#./} mode 0100$(stat -c %a "$work/runner/$f")" >>"$cmds"
done
(cd "$work/runner" && find . | sort) | while read -r f; do
  target="$RUNNER_DIR/${f#./}"
  echo "set_inode_field ${target%/.} uid 1000" >>"$cmds"
  echo "set_inode_field ${target%/.} gid 1000" >>"$cmds"
done
debugfs -w -f "$cmds" "$fs" >/dev/null 2>"$work/debugfs.err"
# debugfs exits 0 on failed commands: check the result instead.
debugfs -R "stat $RUNNER_DIR/run.sh" "$fs" 2>/dev/null | grep -q 'Type: regular' || {
  log "the runner did not land in the image:"
  grep -v 'already exists' "$work/debugfs.err" >&2 || true
  exit 1
}
if [ "$fs" != "$work/disk.raw" ]; then
  dd if="$fs" of="$work/disk.raw" bs=512 seek=$((offset / 512)) conv=notrunc status=none
fi
qemu-img convert -O qcow2 "$work/disk.raw" "$work/runner.qcow2"

# ---- upload ---------------------------------------------------------------------------------------
log "uploading $IMAGE_NAME"
id=$(openstack image create --disk-format qcow2 --container-format bare --file "$work/runner.qcow2" \
  --property architecture="$ARCHITECTURE" --property runner-fleet-runner-version="$version" \
  --property runner-fleet-base-image="$BASE_IMAGE" -f value -c id "$IMAGE_NAME")
log "image $id ready"
echo "$id"
