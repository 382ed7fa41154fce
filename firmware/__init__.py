"""The XenBox image build: Debian packages -> root filesystem -> squashfs -> initramfs -> ISO."""
