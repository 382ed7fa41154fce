"""A small virtual disk labelled XENBOX holding an answer file, as an operator would attach a USB stick."""
import subprocess
from pathlib import Path


def answer_volume(folder: Path, answer: str, beside: dict[str, bytes] | None = None) -> Path:
    """An ext4 image labelled XENBOX with /answer.toml, made without mounting (mke2fs -d); `beside`: more
    files by their path next to it (a bundle's, say)."""
    content = folder / "volume"
    content.mkdir()
    (content / "answer.toml").write_text(answer)
    for name, data in (beside or {}).items():
        (content / name).parent.mkdir(parents=True, exist_ok=True)
        (content / name).write_bytes(data)
    image = folder / "xenbox-answer.img"
    with open(image, "wb") as file:
        file.truncate(16 * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "XENBOX", "-d", str(content), str(image)], check=True)
    return image


def blank_disk(folder: Path, name: str, mib: int) -> Path:
    image = folder / name
    with open(image, "wb") as file:
        file.truncate(mib * 1024 * 1024)
    return image
