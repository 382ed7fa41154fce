"""`make bench`: what XenBox costs on top of the same Xen and kernel with nothing but busybox.

The "floor" is an ISO made from the image's own Xen, kernel and GRUB menu, with an
initramfs holding only the image's busybox and a shell. Both ISOs boot the same way
(BIOS, CD, GRUB, QEMU TCG), one after the other, and every figure is printed beside
the floor's. Nothing here passes or fails: the targets are printed for a person to read.
"""
