#!/bin/busybox sh
# dom0 start-up, run first by init and waited for: only what the consoles need to start
# (kernel filesystems). rc.services, started beside the consoles, does the slow rest, so
# the consoles import and draw while Xen's daemons come up.
# busybox's shell, not dash: it runs its own applets (mkdir, ln, hostname) without exec'ing
# a program for each, and every exec costs under emulation in a PV dom0.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devpts -o gid=5,mode=620 devpts /dev/pts 2>/dev/null || { mkdir -p /dev/pts; mount -t devpts devpts /dev/pts; }
mkdir -p /dev/shm && mount -t tmpfs tmpfs /dev/shm
# What udev would add to devtmpfs. Xen's hotplug scripts need /dev/stdin: their lock
# (locking.sh) stats it, and without it `block add` loops until libxl kills it.
ln -sfn /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir -p /var/run /var/lib/xen /var/log/xen /run/xen /run/xenstored /run/lock /run/lvm /run/xenbox
# Guests' console and qemu-dm logs (RAM): root's alone.
chmod 0700 /var/log/xen
hostname -F /etc/hostname
ip link set lo up
# Until rc.services has Xen's daemons up, the consoles wait before asking Xen anything.
: > /run/xenbox/xen-starting
# Until `xenbox host boot` has read the data store, where the console password lives, the consoles are
# locked: a password may exist (hypervisor/host/data_store_word.py).
echo 'state = "waiting"' > /run/xenbox/data-store

