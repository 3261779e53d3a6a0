"""Helper for test_sqlite_crash.py: write to a SQLiteStore until killed.

Usage: python sqlite_crash_writer.py DB_PATH TAG WORKERS

Each worker creates keys and updates every other one; right after a write is
acknowledged (the coroutine returned) it prints "KEY VERSION" and flushes, so the
parent knows exactly which writes the store promised to keep.
"""

import asyncio
import sys

from pyk8s.store.sqlite import SQLiteStore


def value(key: str, version: int) -> bytes:
    return f"{key}#{version}#".encode() + b"x" * 200


async def main(path: str, tag: str, workers: int) -> None:
    store = SQLiteStore(path)
    await store.start()
    out = sys.stdout

    async def work(w: int) -> None:
        i = 0
        while True:
            key = f"/crash/{tag}/{w}/{i}"
            rev = await store.create(key, value(key, 0))
            out.write(f"{key} 0\n")
            out.flush()
            if i % 2 == 0:
                await store.update(key, value(key, 1), rev)
                out.write(f"{key} 1\n")
                out.flush()
            i += 1

    await asyncio.gather(*(work(w) for w in range(workers)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
