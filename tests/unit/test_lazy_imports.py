"""What stays unimported: pytest loads the plugin (``pytest11`` entry point) in every run of an
environment holding the package, so the plugin module must not import the emulator; and a new
store is created without Alembic, whose import costs more than the rest of a fixture's start.
Each check runs in a fresh interpreter, since this test process has imported everything."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def _modules_after(code: str) -> dict:
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_the_pytest_plugin_imports_nothing_of_the_emulator() -> None:
    heavy = ["sqlalchemy", "sqlmodel", "aiohttp", "jinja2", "alembic", "pydantic", "emulator.app"]
    found = _modules_after(
        "import json, sys\n"
        "import emulator.testing.pytest_plugin\n"
        f"print(json.dumps({{'loaded': [m for m in {heavy!r} if m in sys.modules]}}))\n"
    )
    assert found["loaded"] == []


def test_a_new_store_is_created_without_alembic_at_its_newest_revision(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    found = _modules_after(
        "import asyncio, json, sqlite3, sys\n"
        "from emulator.store.engine import MIGRATIONS, Store\n"
        "async def main():\n"
        f"    store = await Store.open({str(path)!r})\n"
        "    await store.close()\n"
        "asyncio.run(main())\n"
        "alembic = 'alembic' in sys.modules\n"
        "from alembic.config import Config\n"
        "from alembic.script import ScriptDirectory\n"
        "config = Config()\n"
        "config.set_main_option('script_location', str(MIGRATIONS))\n"
        f"stamped = sqlite3.connect({str(path)!r}).execute('SELECT version_num FROM alembic_version').fetchall()\n"
        "print(json.dumps({'alembic': alembic, 'stamped': stamped,\n"
        "                  'head': ScriptDirectory.from_config(config).get_current_head()}))\n"
    )
    assert found["alembic"] is False
    assert found["stamped"] == [[found["head"]]]
