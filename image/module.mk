# image/ — the Debian package and the appliance image.
#   make deb         build/jgw_VERSION_ARCH.deb from `make install`
#   make image       build/jgw.img (GPT, GRUB, A/B read-only roots, data partition)
#                    and build/jgw.rootfs (the update payload for jgw-update)
#   make image-test  boot two images under qemu and send a frame through them
IMAGE_DEBS := debootstrap qemu-system-x86 qemu-utils grub-pc-bin mtools dosfstools \
	e2fsprogs fdisk dpkg-dev openssh-client
DEBS += $(IMAGE_DEBS)

deb: binaries
	image/mkdeb.sh $(B) > $(B)/deb.path && cat $(B)/deb.path

image: deb
	@start=$$(date +%s); \
	image/build.sh $$(cat $(B)/deb.path) $(B)/jgw.img && \
	echo "image build took $$(( $$(date +%s) - start )) s"
	@bash tests/image/t-hardening.sh | tail -1

image-test: image
	image/test.sh $(B)/jgw.img

.PHONY: deb image image-test
