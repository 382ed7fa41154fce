"""A disk as an operator brings one on a USB stick: an MBR with an ext4 and a FAT partition, each
holding hello.txt. Each filesystem is made in a file of its own (mkfs works on files: no loop device,
no mounting, no root), then written into its place on the disk."""
import subprocess
from pathlib import Path

MIB = 1024 * 1024
PARTITION_MIB = 16
KINDS = ("ext4", "vfat")      # partitions 1 and 2, named as blkid and mount name them


def note(kind: str) -> str:
    """What hello.txt says on the `kind` partition."""
    return f"written on {kind} by the test host"


def _ext4(image: Path, folder: Path) -> None:
    content = folder / "ext4-content"
    content.mkdir()
    (content / "hello.txt").write_text(note("ext4") + "\n")
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "STICK-EXT4", "-d", str(content), str(image)], check=True)


def _fat(image: Path, folder: Path) -> None:
    hello = folder / "hello-fat.txt"
    hello.write_text(note("vfat") + "\n")
    subprocess.run(["mkfs.vfat", "-n", "STICK-FAT", str(image)], check=True, capture_output=True)
    subprocess.run(["mcopy", "-i", str(image), str(hello), "::hello.txt"], check=True)


def stick_image(folder: Path) -> Path:
    image = folder / "stick.img"
    with open(image, "wb") as disk:
        disk.truncate((1 + PARTITION_MIB * len(KINDS)) * MIB)
    subprocess.run(["sfdisk", "-q", str(image)], check=True,        # the first partition starts at 1 MiB
                   input=f"label: dos\nsize={PARTITION_MIB}MiB, type=83\nsize={PARTITION_MIB}MiB, type=c\n".encode())
    for number, make in enumerate((_ext4, _fat)):
        part = folder / f"partition{number + 1}.img"
        with open(part, "wb") as file:
            file.truncate(PARTITION_MIB * MIB)
        make(part, folder)
        with open(image, "r+b") as disk:
            disk.seek((1 + number * PARTITION_MIB) * MIB)
            disk.write(part.read_bytes())
    return image
