# tests/image/ — what can be checked of the appliance and its package without
# booting it (group image-units): the systemd units' sandbox
# (t-hardening.sh), the man pages against mandoc's lint, groff's warnings and
# the programs' usage texts (t-manpages.sh), jgwctl's bash completion
# (t-completion.sh), the clock sources and NTS (t-ntp-sources.sh), the
# machine ID kept in GRUB's environment (t-machine-id.sh), and the
# .deb under lintian with its Debian parts
# (t-deb.sh). The booted image, and the .deb installed on a plain Debian 12,
# are `make image-test`.
CHECKS += check-image-units
DEBS += systemd mandoc man-db groff-base lintian bash-completion dpkg-dev binutils chrony openssl \
        grub-common

check-image-units: binaries
	@B=$(abspath $(B)) tests/lib/run-scenarios.sh $(RES)/image-units.res image-units $(sort $(wildcard tests/image/t-*.sh))

.PHONY: check-image-units
