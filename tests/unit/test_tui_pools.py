"""The pools screen, driven by Textual's pilot at 80x24: the real NamedPools and pool listing, its kept
list a real file in a temporary folder; mount(8) and the mount table are the boundary (`Kernel`, see
test_storage_named_pools.py). The e2e storage test mounts a real NFS share from the CLI."""
import asyncio

from textual.widgets import Static

from hypervisor.storage.named_pools import NamedPools
from hypervisor.storage.pool_status import pool_rows
from test_storage_named_pools import RAM_ROOT, REAL_DISK, Kernel
from test_tui_storage import GROUP, FakeStore
from tui.screens.pools import PoolsScreen, read_share
from tui.widgets.confirm import Confirm
from tui_pilot import ScreenApp, answer, settle, table_rows


def host(tmp_path):
    proc = tmp_path / "mounts"
    proc.write_text(RAM_ROOT + REAL_DISK.replace("/var/lib/xenbox", str(tmp_path)))
    kernel = Kernel(proc)
    pools = NamedPools(kernel, config=tmp_path / "config" / "pools.toml", mount_root=tmp_path / "pools",
                       proc_mounts=proc, sleep=lambda _: None, stored=lambda: True)
    return pools, kernel


def drive(test, tmp_path, users=lambda name: []):
    pools, kernel = host(tmp_path)

    async def go():
        screen = PoolsScreen(pools, rows=lambda p: pool_rows(p, FakeStore(GROUP)), users=users)
        app = ScreenApp(screen)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await test(pilot, app, screen, kernel)
    asyncio.run(go())


rows = table_rows


def test_an_nfs_share_is_added_with_its_version_and_port_and_listed_ready(tmp_path):
    async def test(pilot, app, screen, kernel):
        assert [r[:2] for r in rows(screen)] == [["local", "lvm"], ["files", "file"]]
        await pilot.press("n")
        await answer(pilot, "nas.local/export")                 # no colon: refused, the prompt stays
        assert "is not an NFS share: write it as server:/path" in str(app.screen.query_one("#problem").render())
        await answer(pilot, "10.0.2.2:/xenbox 4.1 port 20490")
        await answer(pilot, "nas")
        assert kernel.calls == [["mount.nfs", "10.0.2.2:/xenbox", str(tmp_path / "pools" / "nas"), "-o",
                                 "vers=4.1,port=20490"]]
        assert app.notified[-1] == ("Pool nas is ready, and kept: it is attached again at every boot.", "information")
        nas = rows(screen)[2]
        assert nas[:2] == ["nas", "nfs"] and nas[4].startswith("10.0.2.2:/xenbox (port 20490)")
    drive(test, tmp_path)


def test_a_pool_an_appliance_uses_is_not_removed_and_a_built_in_one_never(tmp_path):
    async def test(pilot, app, screen, kernel):
        await pilot.press("f")
        await answer(pilot, str(tmp_path))
        await answer(pilot, "files")                            # the data store's own name: refused
        assert "files is the data store's own pool" in str(app.screen.query_one("#problem").render())
        await answer(pilot, "more")
        assert [r[0] for r in rows(screen)] == ["local", "files", "more"]
        await pilot.press("r")                                   # the cursor is on local
        assert app.notified[-1][0].startswith("local is the data store's own pool")
        await pilot.press("down", "down", "r")
        assert isinstance(app.screen, Confirm)
        await pilot.press("y")
        await settle(pilot)
        assert app.notified[-1] == ("Pool more was not removed: pool more holds disks of appliance web: remove "
                                    "those appliances, or move their disks to another pool, first", "error")
        assert [r[0] for r in rows(screen)] == ["local", "files", "more"]
    drive(test, tmp_path, users=lambda name: ["web"])


def test_a_share_that_is_not_mounted_says_so_in_its_row(tmp_path):
    pools, _ = host(tmp_path)
    from hypervisor.storage.named_pools import NamedPool
    pools.keep(NamedPool("nas", "nfs", "10.9.9.9:/xenbox"))

    async def test(pilot, app, screen, kernel):
        nas = rows(screen)[2]
        assert nas[2:4] == ["-", "-"]
        assert nas[4].startswith("NOT READY: pool nas (10.9.9.9:/xenbox) is not mounted")
        await pilot.press("down", "down")
        assert "check the NFS server and the network" in str(screen.query_one("#detail", Static).render())
    drive(test, tmp_path)


def test_read_share():
    assert read_share("nas:/x") == ("nas:/x", None, None)
    assert read_share("[2001:db8::5]:/x 3 port 2050") == ("[2001:db8::5]:/x", "3", 2050)
