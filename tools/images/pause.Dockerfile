# The pause image: the sandbox ("pause") container of every pod on the test node, which containerd pins.
# Its one file is the static program tools/k8s/build.sh builds from tools/k8s/pause; tools/images/build.sh
# builds this image with that program's directory as the context (no registry serves a pause image here).
FROM scratch
COPY pause /pause
# As upstream's registry.k8s.io/pause: nobody's uid and gid.
USER 65535:65535
ENTRYPOINT ["/pause"]
