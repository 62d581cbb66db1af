# tests/image/ — what can be checked of the appliance without booting it
# (group image-units): the systemd units' sandbox. The booted image is
# `make image-test`.
CHECKS += check-image-units
DEBS += systemd

check-image-units:
	@tests/lib/run-scenarios.sh $(RES)/image-units.res image-units $(sort $(wildcard tests/image/t-*.sh))

.PHONY: check-image-units
