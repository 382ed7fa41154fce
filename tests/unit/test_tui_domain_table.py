"""The overview's domain list: a refresh with the same domains changes cells in place; a new or
gone domain rebuilds the rows, and the cursor stays on a row that exists."""
import asyncio

from textual.app import App, ComposeResult

from hypervisor.xen.domains import Domain
from tui.widgets.domain_table import DomainTable

DOM0 = Domain("Domain-0", 0, 1024, 2, "running", 50.0)
WEB = Domain("sample-web", 1, 96, 1, "running", 3.0)


class TableApp(App):
    def compose(self) -> ComposeResult:
        yield DomainTable()


def rows(table: DomainTable) -> list[list[str]]:
    return [table.get_row(key) for key in table.rows]


def test_the_same_domains_are_changed_in_place_and_new_ones_are_added():
    async def scenario():
        app = TableApp()
        async with app.run_test(size=(80, 24)) as pilot:
            table = app.query_one(DomainTable)
            table.show([DOM0, WEB], {0: None, 1: None})
            await pilot.pause()
            assert rows(table)[1] == ["sample-web", "1", "running", "1", "96 MiB", "..."]
            table.move_cursor(row=1)

            table.show([DOM0, Domain("sample-web", 1, 128, 1, "paused", 3.0)], {0: 12.5, 1: 0.0})
            await pilot.pause()
            assert rows(table) == [["Domain-0", "0", "running", "2", "1024 MiB", " 12.5"],
                                   ["sample-web", "1", "paused", "1", "128 MiB", "  0.0"]]
            assert table.cursor_row == 1

            table.show([DOM0], {0: 10.0})          # the guest is gone: the cursor moves up to a real row
            await pilot.pause()
            assert [row[0] for row in rows(table)] == ["Domain-0"]
            assert table.cursor_row == 0
    asyncio.run(scenario())
