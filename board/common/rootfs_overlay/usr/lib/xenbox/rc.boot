#!/bin/sh
# dom0 start-up, run once by init: kernel filesystems, Xen's backend drivers and
# daemons in Debian's order (see /etc/init.d/xen in xen-utils-common).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# Said on the serial line, and kept: the serial console UI redraws itself when the log grows.
log() { echo "xenbox: $*" > /dev/console; echo "xenbox: $*" >> /run/xenbox/boot.log; }

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
hostname -F /etc/hostname
ip link set lo up

# No udev in dom0: load the drivers for the PCI, USB and virtio devices present (NICs,
# disk controllers) once. Not every modalias: legacy ports (parport) only add noise.
log "loading drivers for this machine's hardware"
cat /sys/bus/pci/devices/*/modalias /sys/bus/usb/devices/*/modalias /sys/bus/virtio/devices/*/modalias \
    2>/dev/null | sort -u | xargs modprobe -qab 2>/dev/null

log "loading Xen backend drivers"
modprobe -qa xenfs xen-evtchn xen-gntdev xen-gntalloc xen-blkback xen-netback xen-acpi-processor \
    bridge tun loop dm_mod 2>/dev/null
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
# Guests' consoles are logged, so the console can show what a guest printed.
mkdir -p /var/log/xen/console
/usr/lib/xen-4.17/bin/xenconsoled --pid-file=/run/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console
log "Xen services up"

# Guests attach to xenbr0, bridged onto the first wired NIC; the host takes its address by DHCP there.
nic=""
for dev in /sys/class/net/*; do
    [ -e "$dev/device" ] && [ ! -e "$dev/wireless" ] && { nic=${dev##*/}; break; }
done
ip link add name xenbr0 type bridge stp_state 0 forward_delay 0
ip link set xenbr0 up
if [ -n "$nic" ]; then
    ip link set "$nic" master xenbr0
    ip link set "$nic" up
    log "guest bridge xenbr0 is on $nic; asking for an address by DHCP"
    udhcpc -i xenbr0 -s /usr/lib/xenbox/udhcpc.script -t 5 -T 2 -b >/dev/null 2>&1 &
else
    log "no wired network interface found: xenbr0 carries guest traffic only"
fi

# In the background, so the console comes up meanwhile: mount the data store, set the host up
# (kept settings or an answer file), start the appliances. Each outcome is said on the console.
safe=""
grep -qw xenbox.safe=1 /proc/cmdline && safe="--safe"
xenbox host boot $safe > /dev/console 2>&1 &
echo $! > /run/xenbox/boot.pid      # rc.shutdown stops it: no guest starts during power-off
