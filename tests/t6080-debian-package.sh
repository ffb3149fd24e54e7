#!/bin/bash
# The Debian package: `dpkg-buildpackage -b -us -uc` on a copy of the tree
# (the repository is left as it was) builds gate and gate-dev with the
# project's CMake install rules; lintian finds no error and no warning;
# the packages hold what debian/*.install promises; unpacked into a
# scratch root (dpkg -x: nothing is installed on the machine), the
# installed gate reports the project's version, loads its check families
# from there and lints every shipped policy, and gate-dev's header and
# gate-module.pc build the example module (from gate-dev's docs) that the
# installed gate then loads.
# Skipped only where dpkg-buildpackage is missing (GATE_TEST_NO_SKIP=1
# makes that a failure).
. "$(dirname "$0")/lib/test-lib.sh"

if ! command -v dpkg-buildpackage >/dev/null 2>&1; then
	test_skip 'the Debian package' 'no dpkg-buildpackage (scripts/install-deps.sh installs it)'
	test_done
fi
require_cmd dh lintian dpkg-deb dpkg-architecture make cc pkg-config tar

S=$GATE_SOURCE_DIR
cd "$TEST_TMP" || exit 1
VERSION=$(sed -n 's/^project(gate VERSION \([0-9.]*\) .*/\1/p' "$S/CMakeLists.txt")
ARCH=$(dpkg-architecture -qDEB_HOST_ARCH)
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
DEB=pkg/gate_${VERSION}_${ARCH}.deb
DEV=pkg/gate-dev_${VERSION}_${ARCH}.deb
R=$TEST_TMP/root
say "gate $VERSION, $ARCH ($MA)"

in_git() { git -C "$S" rev-parse --is-inside-work-tree >/dev/null 2>&1; }
in_git && git -C "$S" status --porcelain --ignored=matching >status.before

test_expect_success 'the tree is copied as it is (tracked and new files, nothing ignored)' '
	mkdir -p pkg/src &&
	if in_git; then
		git -C "$S" ls-files -z --cached --others --exclude-standard |
			tar -C "$S" --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -C pkg/src -xf -
	else
		tar -C "$S" --exclude="./build*" -cf - . | tar -C pkg/src -xf -
	fi &&
	test -x pkg/src/debian/rules && test -f pkg/src/CMakeLists.txt &&
	test "$VERSION" = "$(cd pkg/src && dpkg-parsechangelog -SVersion)"
'

start_ms=$(test_now_ms)
# nocheck: the unit tests are run by ctest elsewhere; parallel=2: the
# CI machine has two cores.  Flags from the caller (a sanitizer build's
# CFLAGS, a make's MAKEFLAGS) must not reach the package.
test_expect_success 'dpkg-buildpackage -b builds gate and gate-dev' '
	if ! (cd pkg/src && env -u MAKEFLAGS -u MFLAGS -u CFLAGS -u CPPFLAGS -u LDFLAGS \
		DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -b -us -uc) >build.log 2>&1; then
		tail -40 build.log; exit 1
	fi &&
	test -f "$DEB" && test -f "$DEV" && test -f "pkg/gate_${VERSION}_${ARCH}.changes" &&
	test "$(dpkg-deb -f "$DEB" Version)" = "$VERSION"
'
built_ms=$(($(test_now_ms) - start_ms))
if [ -f "$DEB" ] && [ -f "$DEV" ]; then
	say "built in $((built_ms / 1000)) s: $(stat -c "%n %s bytes" "$DEB" "$DEV" | sed "s|pkg/||" | paste -sd, | sed "s/,/, /")"
	say "installed size: gate $(dpkg-deb -f "$DEB" Installed-Size) KiB, gate-dev $(dpkg-deb -f "$DEV" Installed-Size) KiB"
fi

test_expect_success 'lintian: no error, no warning (the rest overridden with a reason)' '
	if ! TMPDIR=$TEST_TMP lintian --fail-on error,warning "pkg/gate_${VERSION}_${ARCH}.changes" \
		>lintian.out 2>lintian.err; then
		cat lintian.out lintian.err; exit 1
	fi &&
	! grep -E "^[EW]: " lintian.out
'

test_expect_success 'gate holds the program, check families, manual pages, completion, policies, module directory, example units' '
	dpkg-deb -c "$DEB" | awk "{print \$6}" | sed "s|^\./|/|" >gate.list &&
	for f in /usr/bin/gate /usr/share/man/man1/gate.1.gz /usr/share/man/man5/gate-runbook.5.gz \
		/usr/share/bash-completion/completions/gate /usr/lib/$MA/gate/modules/ \
		/usr/share/doc/gate/copyright; do
		grep -qx "$f" gate.list || { echo "missing $f"; exit 1; }
	done &&
	for fam in exec postgres backup http systemd rehearse; do
		grep -qx "/usr/lib/$MA/gate/families/$fam.so" gate.list ||
			{ echo "missing family $fam.so"; exit 1; }
	done &&
	for p in "$S"/policies/*.yaml; do
		grep -qx "/usr/share/gate/policies/${p##*/}" gate.list || { echo "missing policy ${p##*/}"; exit 1; }
	done &&
	for u in "$S"/examples/systemd/*; do
		grep -qx "/usr/share/doc/gate/examples/systemd/${u##*/}" gate.list ||
			{ echo "missing unit ${u##*/}"; exit 1; }
	done &&
	! grep -E "^/(usr/)?lib/systemd/|^/etc/" gate.list &&
	dpkg-deb -e "$DEB" ctl && ! grep -s -E "systemctl|deb-systemd" ctl/postinst &&
	! grep -E "/usr/include|\.pc$" gate.list
'

test_expect_success 'gate-dev holds <gate/module.h>, gate-module.pc, MODULE-API.md, the example module' '
	dpkg-deb -c "$DEV" | awk "{print \$6}" | sed "s|^\./|/|" >dev.list &&
	for f in /usr/include/gate/module.h /usr/lib/$MA/pkgconfig/gate-module.pc \
		/usr/share/doc/gate-dev/MODULE-API.md /usr/share/doc/gate-dev/examples/module/example.c \
		/usr/share/doc/gate-dev/examples/module/Makefile; do
		grep -qx "$f" dev.list || { echo "missing $f"; exit 1; }
	done &&
	dpkg-deb -f "$DEV" Depends | grep -q "gate (= $VERSION)"
'

test_expect_success 'the installed gate (scratch root) reports the project version' '
	dpkg -x "$DEB" "$R" && dpkg -x "$DEV" "$R" &&
	"$R/usr/bin/gate" version >version.out &&
	test_grep "^gate $VERSION\$" version.out
'

test_expect_success 'the installed gate lists the types of every family it ships (loaded from the scratch root)' '
	"$R/usr/bin/gate" checks >types &&
	for t in exec postgres.replica pgbackrest.backup http systemd.unit pgbackrest.restore; do
		test_grep "^$t " types || exit 1
	done
'

test_expect_success 'the installed gate lints every shipped policy, alone and all together' '
	ls "$R"/usr/share/gate/policies/*.yaml >policies &&
	test "$(wc -l <policies)" = "$(ls "$S"/policies/*.yaml | wc -l)" &&
	while read -r p; do
		"$R/usr/bin/gate" lint "$p" || exit 1
	done <policies &&
	{
		printf "version: 1\nname: all-policies\ninclude:\n"
		sed "s/^/  - /" policies
		printf "checks:\n  - {id: local, type: exec, with: {command: [\"true\"], protocol: exit}}\n"
	} >all.yaml &&
	"$R/usr/bin/gate" lint all.yaml
'

# PKG_CONFIG_SYSROOT_DIR + the scratch root first in the search path, as a
# build against a root other than / does; jansson comes from the machine.
test_expect_success 'gate-dev builds the example module; the installed gate loads and runs it' '
	cp -r "$R/usr/share/doc/gate-dev/examples/module" mod &&
	if ! PKG_CONFIG_SYSROOT_DIR=$R \
		PKG_CONFIG_LIBDIR="$R/usr/lib/$MA/pkgconfig:/usr/lib/$MA/pkgconfig:/usr/share/pkgconfig" \
		make -C mod CC="cc -MD" >make.log 2>&1; then
		cat make.log; exit 1
	fi &&
	grep -o "[^ ]*gate/module.h" mod/example.d >header &&
	test_grep "^$R/" header &&
	"$R/usr/bin/gate" checks --module-path mod >types &&
	test_grep "^example.file_absent " types &&
	write_rb mod.yaml <<-EOF &&
	version: 1
	name: module-from-the-package
	checks:
	  - id: no-flag
	    type: example.file_absent
	    with: {path: "$TEST_TMP/no-such-flag-*"}
	EOF
	"$R/usr/bin/gate" check --module-path mod mod.yaml >check.out &&
	test_grep "ALLOW" check.out &&
	touch "$TEST_TMP/no-such-flag-1" &&
	expect_status 75 "$R/usr/bin/gate" check --module-path mod mod.yaml
'

if in_git; then
	test_expect_success 'the repository is left as it was' '
		git -C "$S" status --porcelain --ignored=matching >status.after &&
		test_cmp status.before status.after
	'
fi

test_done
