"""Answer files: the whole host set up at first boot with no keystrokes.

- `parse`     answer.toml read strictly into frozen dataclasses; every problem in one AnswerError
- `sources`   where to look for it: kernel command line, a volume labelled XENBOX, the boot medium
- `commands`  `xenbox answer check FILE`
"""
from hypervisor.answer.parse import (Answer, AnswerError, Appliance, Pool, Storage, check_answer, disk_problems,
                                     parse_answer, parse_answer_bytes)
from hypervisor.answer.sources import AnswerSource, Volume, answer_sources

__all__ = ["Answer", "AnswerError", "AnswerSource", "Appliance", "Pool", "Storage", "Volume", "answer_sources",
           "check_answer", "disk_problems", "parse_answer", "parse_answer_bytes"]
