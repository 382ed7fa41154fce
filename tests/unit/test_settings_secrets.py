"""Files that may hold secrets (answer files, console.toml, iscsi.toml): their problems name key paths,
never the values, on the console, in the boot log and on the overview.

The four mistakes that used to echo a secret: a misspelt key beside a secret (`pasword_hash`,
`chap_pasword`) and a table of the wrong shape holding one (`[[console]]`, `[storage.pools]`). Each is
read by the real reader from a real file; the boot's own lines are checked too.
"""
import pytest

from hypervisor import boot
from hypervisor.answer.parse import AnswerError, check_answer
from hypervisor.host import boot_problems
from hypervisor.host.console_password import read_access
from hypervisor.settings.fields import TableReader
from hypervisor.storage.config_files import KeptFileProblems
from hypervisor.storage.iscsi_targets import read_targets

SECRET = "$y$j9T$Pn3pFh0e0F4bo5JLk6nPj/$0R0EwFGgPp5JSV.iYQwJ5wBGoB6w7hpLiB5Cl6Wuqv8"
PASSWORD = "correct-horse-battery"
TARGET = 'portal = "10.0.2.2:3260"\ntarget = "iqn.2004-01.com.example:san"\n'


def answer_problems(tmp_path, text: str) -> str:
    path = tmp_path / "answer.toml"
    path.write_text(text)
    with pytest.raises(AnswerError) as caught:
        check_answer(path)
    return str(caught.value)


@pytest.mark.parametrize("text, named", [
    (f'[console]\npasword_hash = "{SECRET}"\n',
     'console.pasword_hash: unknown key; did you mean "password_hash"?'),
    (f'[[storage.pools]]\nname = "san"\ntype = "iscsi"\n{TARGET}chap_user = "xen"\nchap_pasword = "{PASSWORD}"\n',
     'storage.pools[0].chap_pasword: unknown key; did you mean "chap_password"?'),
    (f'[[console]]\npassword_hash = "{SECRET}"\n',
     "console: must be a table, written [console] (found a list)"),
    (f'[storage.pools]\nname = "san"\ntype = "iscsi"\n{TARGET}chap_user = "xen"\nchap_password = "{PASSWORD}"\n',
     "storage.pools: must be a list of tables, each written [[storage.pools]] (found a table)"),
    (f'console = "{PASSWORD}"\n', "console: must be a table, written [console] (found text)"),
    (f'[network]\ndns = [{{ password = "{PASSWORD}" }}]\n', 'network.dns[0]: must be text in quotes'),
])
def test_an_answer_file_names_the_key_never_the_secret(tmp_path, text, named):
    said = answer_problems(tmp_path, text)
    assert named in said
    assert SECRET not in said and PASSWORD not in said and "$y$" not in said


def test_an_answer_file_still_quotes_what_is_no_secret(tmp_path):
    """A known key's own text is quoted back: it is what to correct."""
    assert "host.hostname = 'edge_01!'" in answer_problems(tmp_path, '[host]\nhostname = "edge_01!"\n')


@pytest.mark.parametrize("text, named", [
    (f'[[targets]]\nname = "san"\n{TARGET}chap_user = "xen"\nchap_pasword = "{PASSWORD}"\n',
     'targets[0].chap_pasword: unknown key; did you mean "chap_password"?'),
    (f'[targets]\nname = "san"\n{TARGET}chap_user = "xen"\nchap_password = "{PASSWORD}"\n',
     "targets: must be a list of tables, each written [[targets]] (found a table)"),
    (f'[[targets]]\nname = "san"\n{TARGET}chap_user = "xen"\nchap_password = ["{PASSWORD}"]\n',
     "targets[0].chap_password: must be text in quotes (found a list)"),
])
def test_iscsi_toml_names_the_key_never_the_chap_secret(tmp_path, text, named):
    path = tmp_path / "iscsi.toml"
    path.write_text(text)
    with pytest.raises(KeptFileProblems) as caught:
        read_targets(path)
    assert named in str(caught.value) and PASSWORD not in str(caught.value)


@pytest.mark.parametrize("text, named", [
    (f'pasword_hash = "{SECRET}"\n', 'pasword_hash: unknown key; did you mean "password_hash"?'),
    (f'[[console]]\npassword_hash = "{SECRET}"\n', "console: unknown key"),
    (f'password_hash = "{PASSWORD}"\n', "password_hash: is no password hash (a plain password is never stored)"),
    (f'password = "{PASSWORD}"\n', "password: is never stored as it is typed"),
])
def test_console_toml_names_the_key_never_the_hash(tmp_path, text, named):
    path = tmp_path / "console.toml"
    path.write_text(text)
    access = read_access(path)
    said = "\n".join(str(problem) for problem in access.problems)
    assert access.password_hash is None and named in said
    assert SECRET not in said and PASSWORD not in said


def test_the_boot_says_and_lists_the_key_path_only(tmp_path, monkeypatch):
    """Through the boot's own report: the serial line and the boot log get `say`'s lines, the overview
    the boot-problems file."""
    path = tmp_path / "console.toml"
    path.write_text(f'pasword_hash = "{SECRET}"\n')
    monkeypatch.setattr("hypervisor.host.console_password.CONSOLE_CONFIG", path)
    said = []
    boot.check_console(said.append)
    assert said[0] == f"{path}: NOT used, 1 problem: the console is NOT locked"
    assert said[1].startswith('  pasword_hash: unknown key; did you mean "password_hash"?')
    listed = boot_problems.PROBLEMS_FILE.read_text()
    assert "pasword_hash" in listed
    assert SECRET not in "\n".join(said) + listed


def test_a_reader_without_secrets_quotes_values_as_before():
    problems = []
    reader = TableReader({"naem": "web", "memory": "lots"}, "", problems)
    reader.integer("memory")
    reader.finish()
    assert [str(p) for p in problems] == ["memory = 'lots': must be a whole number (found text)",
                                          "naem = 'web': unknown key; valid keys here: memory"]
