# image/ — the appliance image (make image, make image-test).
