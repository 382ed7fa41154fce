# XenBox entry points. Every target installs what it needs first (ci/setup-host.sh).
PY := .venv/bin/python
SOURCES := $(shell find firmware board initramfs hypervisor tui -type f -not -name '*.pyc' -not -path '*/__pycache__/*')

.PHONY: all deps run run-vga test unit e2e e2e-slow bench screenshots torture clean

all: images/xenbox.iso

deps:
	@sh ci/setup-host.sh

images/xenbox.iso: $(SOURCES) | deps
	$(PY) -m firmware.build --board pc

# Boot the ISO in QEMU, serial console here. Options: make run RUN_ARGS="--vga --uefi --cpu Haswell-noTSX"
run: images/xenbox.iso
	$(PY) -m firmware.qemu $(RUN_ARGS)

run-vga: images/xenbox.iso
	$(PY) -m firmware.qemu --vga $(RUN_ARGS)

test: unit e2e

# The import contracts first (.importlinter): a module importing from a layer above its own fails the build.
unit: deps
	.venv/bin/lint-imports --no-cache
	$(PY) -m pytest -q tests/unit

e2e: images/xenbox.iso
	$(PY) -m pytest -q -n 2 --dist loadfile -m "not slow" tests/e2e

# The long scenarios (a real installer as a guest, ...): not in `make test`, run before calling them done
e2e-slow: images/xenbox.iso
	$(PY) -m pytest -q -n 2 --dist loadfile -m slow tests/e2e

# Boot a busybox-only floor (same Xen, kernel, GRUB menu), then XenBox; print XenBox's figures beside it.
bench: images/xenbox.iso
	$(PY) -m bench

# Draw the README's pictures of the console again (docs/screens/*.svg) from the real screens.
screenshots: deps
	XENBOX_UPDATE_SCREENSHOTS=1 $(PY) -m pytest -q tests/unit/test_screenshots.py

# Power cuts (QEMU killed) at random moments of XenBox's operations, then the same disks booted and checked.
# Not part of `make test`: 10 cuts take about 40 min. SEED=n replays a run, ONLY=k one cut of it.
SEED ?=
CUTS ?= 10
ONLY ?=
JOBS ?= 2
torture: images/xenbox.iso
	$(PY) -m tests.torture --cuts $(CUTS) --jobs $(JOBS) $(if $(SEED),--seed $(SEED)) $(if $(ONLY),--only $(ONLY))

clean:
	rm -rf images/build images/xenbox*.iso images/bench* images/test-logs
