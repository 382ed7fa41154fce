#!/bin/sh
# dom0 start-up, run once by init: kernel filesystems, Xen's backend drivers and
# daemons in Debian's order (see /etc/init.d/xen in xen-utils-common).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { echo "xenbox: $*" > /dev/console; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devpts -o gid=5,mode=620 devpts /dev/pts 2>/dev/null || { mkdir -p /dev/pts; mount -t devpts devpts /dev/pts; }
mkdir -p /dev/shm && mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir -p /var/run /var/lib/xen /var/log/xen /run/xen /run/xenstored /run/lock
hostname -F /etc/hostname
ip link set lo up

log "loading Xen backend drivers"
for module in xenfs xen-evtchn xen-gntdev xen-gntalloc xen-blkback xen-netback xen-acpi-processor bridge tun loop; do
    modprobe -q "$module" 2>/dev/null
done
mount -t xenfs xenfs /proc/xen

log "starting xenstored"
if [ -x /usr/lib/xen-4.17/bin/oxenstored ]; then
    /usr/lib/xen-4.17/bin/oxenstored --pid-file /run/xenstored.pid
else
    /usr/lib/xen-4.17/bin/xenstored --pid-file /run/xenstored.pid
fi
tries=0
until xenstore-read -s / >/dev/null 2>&1; do
    tries=$((tries + 1))
    [ "$tries" -gt 100 ] && { log "xenstored did not answer in 10 s"; break; }
    sleep 0.1
done
/usr/lib/xen-4.17/bin/xen-init-dom0 >/dev/null
/usr/lib/xen-4.17/bin/xenconsoled --pid-file=/run/xenconsoled.pid
log "Xen services up"
