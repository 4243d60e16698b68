#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A minimal Debian root for a qemu guest whose init is a real init system,
# to boot board/common's service files as a distribution runs them:
#   board/qemu/debian-root.sh systemd|openrc [amd64|arm64 [PKG...]]
# prints the directory the root is in (owned by root; callers copy it, e.g.
# `cp -a DIR/. WORK/`, and never change it): systemd-sysv on minbase, or
# sysvinit's init with OpenRC as its rc (openrc from debootstrap, then
# sysvinit-core by apt-get in the root: debootstrap resolves "sysv-rc |
# file-rc | openrc" to sysv-rc, which conflicts with openrc, and its
# --exclude does not reach dependencies; apt sees openrc there). Built with
# `debootstrap --variant=minbase` from the Debian mirror apt is configured with (the
# first deb source of the suite in /etc/apt/sources.list(.d); else
# deb.debian.org), cached under $EMBER_CACHE (default ~/.cache/ember) and
# keyed by the suite, the architecture, the mirror, the package list and
# this recipe's version. PKG...: more of Debian's packages in the root (with
# their dependencies, by debootstrap's --include: criu for
# guest-checkpoint.bats), another root with its own key. Needs root (debootstrap chroots). The suite is
# EMBER_DEBIAN_SUITE (default bookworm, Debian 12).
#   board/qemu/debian-root.sh cached systemd|openrc [amd64|arm64 [PKG...]]
# prints the directory if the root is cached, else fails; builds nothing.
#   board/qemu/debian-root.sh mirror
# prints the mirror.
#
# The root has no kernel and no modules (board/qemu/guest.sh's rootinitramfs
# loads what it needs, then switches to it) and no udev: nothing in it waits
# for a device unit. Documentation, locales and apt's lists are left out.
set -euo pipefail

usage="usage: debian-root.sh [cached] systemd|openrc [amd64|arm64 [PKG...]], or mirror"
cached=
[ "${1:-}" != cached ] || { cached=1; shift; }
init=${1:?$usage}
arch=${2:-amd64}
shift $(($# < 2 ? $# : 2))
extra=("$@")
suite=${EMBER_DEBIAN_SUITE:-bookworm}
cache=${EMBER_CACHE:-${XDG_CACHE_HOME:-${HOME:?}/.cache}/ember}
export LC_ALL=C
# Bump when what is done to the root after debootstrap changes.
RECIPE=1

die() { echo "debian-root.sh: $*" >&2; exit 1; }


# mirror: the URI of apt's first "deb" source for $suite (deb822 .sources
# files, then one-line .list files), else Debian's own.
mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		# Stanzas are separated by blank lines; fields are "Name: value".
		awk -v suite="$suite" '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && uris != "" && enabled != "no") {
					split(uris, u, " "); print u[1]; found = 1; exit
				}
				types = suites = uris = enabled = ""
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			{ k = tolower($1); $1 = ""; sub(/^ +/, "") }
			k == "types:" { types = $0 } k == "suites:" { suites = $0 }
			k == "uris:" { uris = $0 } k == "enabled:" { enabled = tolower($0) }
			END { if (!found) flush() }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		# deb [options] URI SUITE COMPONENTS...
		sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk -v suite="$suite" '$1 == "deb" && $3 == suite { print $2 }'
	done
	echo http://deb.debian.org/debian
}
url=$(mirror)
url=${url%%$'\n'*}
url=${url%/}

case $init in
systemd) pkgs=systemd-sysv then= ;;
openrc) pkgs=openrc then=sysvinit-core ;;
mirror) echo "$url"; exit 0 ;;
*) die "$usage" ;;
esac
case $arch in amd64 | arm64) ;; *) die "amd64 or arm64, not \"$arch\"" ;; esac
for p in "${extra[@]}"; do
	[[ $p =~ ^[a-z0-9][a-z0-9+.-]+$ ]] || die "not a package name: \"$p\""
	pkgs+=",$p"
done
[ "$(id -u)" = 0 ] || die "debootstrap needs root"
[ "$arch" = "$(dpkg --print-architecture)" ] || die "a foreign architecture's root needs a second stage under qemu-user (not done here)"
command -v debootstrap >/dev/null || die "debootstrap is not installed (board/deps.sh integration)"

key=$(printf '%s\n' "$RECIPE" "$suite" "$arch" "$url" "$pkgs${then:+ then $then}" | sha256sum | cut -c1-16)
dir=$cache/debian-root/$init-$suite-$arch-$key
if [ -e "$dir/.complete" ]; then
	echo "$dir/root"
	exit 0
fi
[ -z "$cached" ] || exit 1

mkdir -p "$cache/debian-root/debs"
exec 9>"$cache/debian-root/.lock"
flock 9 # one build at a time; a second caller then finds it done
if [ ! -e "$dir/.complete" ]; then
	rm -rf "$dir"
	mkdir -p "$dir"
	echo "debian-root.sh: debootstrap $suite ($arch, $pkgs) from $url into $dir" >&2
	log=$dir/debootstrap.log
	keyring=()
	[ ! -r /usr/share/keyrings/debian-archive-keyring.gpg ] ||
		keyring=(--keyring=/usr/share/keyrings/debian-archive-keyring.gpg)
	# --cache-dir keeps the .debs: another package list fetches only what it adds.
	if ! debootstrap --variant=minbase --arch="$arch" --include="$pkgs" "${keyring[@]}" \
		--cache-dir="$cache/debian-root/debs" "$suite" "$dir/root" "$url" >"$log" 2>&1; then
		tail -n 20 "$log" >&2
		die "debootstrap failed (log: $log)"
	fi
	r=$dir/root
	if [ -n "$then" ]; then
		echo "debian-root.sh: apt-get install $then in the root" >&2
		# Nothing is started in the chroot (invoke-rc.d asks policy-rc.d).
		printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
		chmod 0755 "$r/usr/sbin/policy-rc.d"
		if ! DEBIAN_FRONTEND=noninteractive chroot "$r" apt-get install -y -q --no-install-recommends \
			$then >>"$log" 2>&1; then
			tail -n 20 "$log" >&2
			die "apt-get install $then failed (log: $log)"
		fi
		rm -f "$r/usr/sbin/policy-rc.d"
	fi
	rm -rf "$r"/usr/share/doc/* "$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/usr/share/locale/* \
		"$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb
	echo ember-guest >"$r/etc/hostname"
	# Nothing in fstab: the initramfs mounts the root read-write, and without
	# udev a device unit for it would never appear.
	echo "# the root is mounted by the initramfs (board/qemu/guest.sh rootinitramfs)" >"$r/etc/fstab"
	: >"$r/etc/machine-id"
	if [ "$init" = openrc ]; then
		# cgroup v2 alone on /sys/fs/cgroup: OpenRC's cgroups service
		# mounts a hybrid by default (a tmpfs there, v1 hierarchies and its
		# own named one, v2 on /sys/fs/cgroup/unified).
		sed -i 's/^#*rc_cgroup_mode=.*/rc_cgroup_mode="unified"/' "$r/etc/rc.conf"
		grep -qx 'rc_cgroup_mode="unified"' "$r/etc/rc.conf" || die "no rc_cgroup_mode in $r/etc/rc.conf"
	fi
	touch "$dir/.complete"
fi
echo "$dir/root"
