# image/ — the Debian package and the appliance image.
#   make deb         build/jgw_VERSION_ARCH.deb from `make install`
#   make image UPDATE_KEY=KEY.pem
#                    build/jgw.img (GPT, GRUB, A/B read-only roots checked by
#                    dm-verity, data partition) and build/jgw.update (the
#                    zstd-compressed update payload, signed with KEY.pem, the
#                    operator's Ed25519 update key; the image trusts only it)
#   make image-test  install-test the .deb on a plain Debian 12 (systemd-nspawn),
#                    then boot two images under qemu and send a frame through
#                    them, update, roll back, refuse bad payloads. Without
#                    UPDATE_KEY it makes a throwaway key for the test
#                    (build/test-update-key.pem), never used for a real image.
IMAGE_DEBS := debootstrap qemu-system-x86 qemu-utils grub-pc-bin mtools dosfstools \
	e2fsprogs fdisk dpkg-dev openssh-client cryptsetup-bin zstd openssl systemd-container \
	chrony
DEBS += $(IMAGE_DEBS)

UPDATE_KEY ?=
TEST_UPDATE_KEY := $(B)/test-update-key.pem
image-test: UPDATE_KEY := $(or $(UPDATE_KEY),$(TEST_UPDATE_KEY))

deb: binaries
	image/mkdeb.sh $(B) > $(B)/deb.path && cat $(B)/deb.path

image: deb
	@if [ -z "$(UPDATE_KEY)" ]; then \
		echo "make image: UPDATE_KEY=PATH must name the operator's Ed25519 update key (openssl genpkey -algorithm ed25519 -out PATH)"; exit 2; fi
	@if [ "$(UPDATE_KEY)" = "$(TEST_UPDATE_KEY)" ]; then \
		rm -f $(TEST_UPDATE_KEY) && openssl genpkey -algorithm ed25519 -out $(TEST_UPDATE_KEY) && \
		echo "image: throwaway test update key $(TEST_UPDATE_KEY) (test images only)"; fi
	@start=$$(date +%s); \
	JGW_UPDATE_KEY=$(UPDATE_KEY) image/build.sh $$(cat $(B)/deb.path) $(B)/jgw.img && \
	echo "image build took $$(( $$(date +%s) - start )) s"
	@bash tests/image/t-hardening.sh | tail -1

image-test: image
	image/test-deb.sh $$(cat $(B)/deb.path)
	JGW_UPDATE_KEY=$(UPDATE_KEY) image/test.sh $(B)/jgw.img

.PHONY: deb image image-test
