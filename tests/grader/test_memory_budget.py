"""The memory limit is one budget for the whole sandbox: processes and tmpfs files summed."""

from __future__ import annotations

import grader
from grader.contract import Verdict

from .conftest import HOSTILE_IMPORTS, LINEAR

FORKING = LINEAR.replace(
    "        return self\n",
    """        import os, time
        for _ in range(40):
            if os.fork() == 0:
                block = np.ones(60 * 1024 * 1024 // 8)  # 60 MB, touched
                time.sleep(30)
                os._exit(0)
        time.sleep(30)
        return self
""",
    1,
)


def test_forty_children_of_60_mb_exceed_a_256_mib_budget_together(make_job) -> None:
    result = grader.grade(make_job(FORKING, allowed=HOSTILE_IMPORTS, time_s=60.0))
    assert result.verdict is Verdict.MEMORY_LIMIT, result.message
    assert "over the 256 MiB memory limit" in result.message
    assert "processes and files used" in result.message
    assert result.peak_memory_mb is not None and result.peak_memory_mb > 256


def test_files_in_tmp_count_against_the_memory_budget(make_job) -> None:
    source = LINEAR.replace(
        "        return self\n",
        """        for i in range(10):  # files of 25 MB each: under the file size limit
            with open(f"/tmp/fill{i}", "wb") as f:
                for _ in range(25):
                    f.write(b"x" * 1024 * 1024)
        self.block = np.ones(160 * 1024 * 1024 // 8)
        import time
        time.sleep(30)
        return self
""",
        1,
    )
    # 250 MB of files and a 160 MB array: each fits the 400 MiB limit, not both together.
    result = grader.grade(make_job(source, time_s=60.0, memory_mb=400, scratch_mb=1024))
    assert result.verdict is Verdict.MEMORY_LIMIT, result.message
    assert "over the 400 MiB memory limit" in result.message


def test_a_solution_within_the_budget_reports_its_total_as_peak_memory(make_job) -> None:
    source = LINEAR.replace(
        "        return self\n",
        "        self.block = np.ones(100 * 1024 * 1024 // 8)\n"
        "        import time\n        time.sleep(0.3)\n        return self\n",
        1,
    )
    result = grader.grade(make_job(source, memory_mb=512))
    assert result.verdict is Verdict.SCORED, result.message
    assert result.peak_memory_mb is not None and 100 < result.peak_memory_mb < 512
