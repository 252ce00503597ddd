"""The sync runtime at process boundaries: Ctrl-C, interpreter exit, fork, first use (fresh interpreters)."""

from __future__ import annotations

from ._scripts import FORK_OK, run_script


def test_import_starts_no_thread_and_concurrent_first_calls_start_one() -> None:
    finished = run_script(
        """
        import threading
        from deepset_cloud import _portal

        async def where():
            return threading.get_ident()

        assert not any(t.name == _portal.THREAD_NAME for t in threading.enumerate()), "started at import"
        barrier = threading.Barrier(16)
        seen = []

        def first_call():
            barrier.wait()
            seen.append(_portal.run(where))

        threads = [threading.Thread(target=first_call) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        loop_threads = [t for t in threading.enumerate() if t.name == _portal.THREAD_NAME]
        print(len(seen), len(set(seen)), len(loop_threads))
        """
    )
    assert (finished.returncode, finished.stderr) == (0, "")
    assert finished.stdout == ["16 1 1"]


def test_ctrl_c_cancels_the_coroutine_runs_its_cleanup_and_raises_keyboard_interrupt() -> None:
    finished = run_script(
        """
        import anyio
        from deepset_cloud import _portal

        async def slow_upload():
            try:
                print("started", flush=True)
                await anyio.sleep(60)
            finally:
                with anyio.CancelScope(shield=True):
                    await anyio.sleep(0.05)  # e.g. closing an upload session
                print("cleanup done", flush=True)

        try:
            _portal.run(slow_upload)
        except KeyboardInterrupt:
            print("KeyboardInterrupt", flush=True)
        print(_portal.run(anyio.sleep, 0) is None)  # the loop still serves calls
        """,
        interrupt_after="started",
    )
    assert (finished.returncode, finished.stderr) == (0, "")
    assert finished.stdout == ["started", "cleanup done", "KeyboardInterrupt", "True"]


def test_ctrl_c_during_iteration_closes_the_generator() -> None:
    finished = run_script(
        """
        import anyio
        from deepset_cloud import _portal

        async def pages():
            try:
                yield 1
                print("waiting for page 2", flush=True)
                await anyio.sleep(60)
                yield 2
            finally:
                print("generator closed", flush=True)

        try:
            for page in _portal.iterate(pages):
                print("page", page, flush=True)
        except KeyboardInterrupt:
            print("KeyboardInterrupt", flush=True)
        """,
        interrupt_after="waiting for page 2",
    )
    assert (finished.returncode, finished.stderr) == (0, "")
    # The producer runs ahead of the consumer, so "page 1" may be printed after the interrupt was sent.
    assert finished.stdout[-2:] == ["generator closed", "KeyboardInterrupt"]
    assert "waiting for page 2" in finished.stdout


def test_exit_with_an_abandoned_generator_and_a_running_call_is_prompt_and_clean() -> None:
    finished = run_script(
        """
        import threading
        import aiohttp
        import anyio
        from deepset_cloud import _portal

        async def pages():
            session = aiohttp.ClientSession()
            try:
                while True:
                    yield 1
            finally:
                await session.close()
                print("generator closed", flush=True)

        async def forever():
            try:
                await anyio.sleep(3600)
            finally:
                print("call cancelled", flush=True)

        class Resource:
            async def open(self):
                self.session = aiohttp.ClientSession()

            async def aclose(self):
                await self.session.close()
                print("twin closed", flush=True)

        PAGES = _portal.iterate(pages)
        print(next(PAGES), flush=True)
        TWIN = _portal.AsyncTwin(Resource)
        _portal.run(TWIN.get().open)
        def blocked_caller():
            try:
                _portal.run(forever)
            except _portal.SyncFacadeError:  # cancelled by the exit hook
                pass

        threading.Thread(target=blocked_caller, daemon=True).start()
        """,
    )
    assert (finished.returncode, finished.stderr) == (0, "")
    assert sorted(finished.stdout) == ["1", "call cancelled", "generator closed", "twin closed"]


def test_a_forked_child_gets_its_own_loop_and_the_parent_keeps_its_own() -> None:
    finished = run_script(
        """
        import asyncio
        import multiprocessing
        import os
        from deepset_cloud import _portal

        async def where():
            return os.getpid(), id(asyncio.get_running_loop())

        class Resource:
            def __init__(self):
                self.pid = os.getpid()

            async def aclose(self):
                pass

        def child(queue):
            queue.put((os.getpid(), _portal.run(where), TWIN.get().pid))

        parent = _portal.run(where)
        TWIN = _portal.AsyncTwin(Resource)
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        process = context.Process(target=child, args=(queue,))
        process.start()
        child_pid, child_loop, twin_pid = queue.get(timeout=30)
        process.join(30)
        print(process.exitcode)
        print(child_loop[0] == child_pid, child_loop[1] != parent[1], twin_pid == child_pid)
        print(_portal.run(where) == parent, TWIN.get().pid == os.getpid())
        pid = os.fork()
        if pid == 0:  # a plain fork whose child exits normally (atexit runs in it)
            print("plain child", _portal.run(where)[0] == os.getpid(), flush=True)
            raise SystemExit(0)
        print("plain child exit", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
        """,
        warnings=FORK_OK,
    )
    assert (finished.returncode, finished.stderr) == (0, "")
    assert finished.stdout == ["0", "True True True", "True True", "plain child True", "plain child exit 0"]
